"""The rule contract: one class per rule, registered by being defined.

A rule carries everything a user needs to meet it (code, name, message template, rationale,
torch's own error, and bad/good examples that the test-suite executes) and one method,
``check``, that reads the file's facts and yields violations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

if TYPE_CHECKING:
    from hs_lint.facts import FileFacts
    from hs_lint.fix import Fix

REGISTRY: dict[str, type[Rule]] = {}
SNIPPET_CHARS = 48  # source quoted in a message is one line of at most this many characters
FIX_CHARS = 110  # ... and the code a message suggests (a field named ``fix``)
MESSAGE_CHARS = 200  # past this, quote less: one finding is one short line
MAX_MESSAGE_CHARS = 240  # ... and past this, cut the suggested code too
# (quoted code, suggested code, keep the optional ``note``), tried in order
_LIMITS = ((SNIPPET_CHARS, FIX_CHARS, True), (32, FIX_CHARS, True), (32, FIX_CHARS, False), (20, 60, False))


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Source as a message quotes it: on one line, cut with ``…`` past ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Violation:
    """A rule's verdict on one node, before it is given a path and a position."""

    code: str
    name: str
    node: cst.CSTNode
    message: str
    # What a runtime check needs to rebuild the case (HS2xx: module config, shapes); may be empty.
    data: dict[str, object] = field(default_factory=dict, compare=False)


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]  # one line, for `hs-lint rules` and the README table
    message: ClassVar[str]  # str.format template filled by `violation(...)`
    rationale: ClassVar[str]  # why it matters: one paragraph
    torch_error: ClassVar[str] = ""  # what torch says (or does) when the mistake runs
    default_enabled: ClassVar[bool] = True
    bad: ClassVar[tuple[str, ...]] = ()  # each must produce exactly this rule's code
    good: ClassVar[tuple[str, ...]] = ()  # each must produce no finding at all
    fix_summary: ClassVar[str] = ""  # what the autofix writes; set exactly when ``fix`` is overridden
    # A finding on a helper's own text (``return torch.zeros(2, 64)``) belongs to the call that expands it: what it
    # says depends on where the value is used. Otherwise the helper's file reports it where it is written.
    judged_at_call: ClassVar[bool] = False
    fix_safe: ClassVar[bool] = True  # False: its fixes may change behaviour, applied with --unsafe-fixes only

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            return
        if cls.code in REGISTRY:
            raise RuntimeError(f"rule code {cls.code} is defined twice: {REGISTRY[cls.code]} and {cls}")
        REGISTRY[cls.code] = cls

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        raise NotImplementedError

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        """The mechanical repair of one of this rule's violations, or None when there is none."""
        return None

    def violation(self, node: cst.CSTNode, data: dict[str, object] | None = None, **fields: object) -> Violation:
        """Fill the message; a field quoted as code (`` `{name}` `` in the template) becomes a one-line snippet."""
        quoted = set(re.findall(r"`\{(\w+)\}`", self.message))
        for code_chars, fix_chars, with_note in _LIMITS:  # quote less until the message is short enough
            filled = {k: snippet(v, fix_chars if k == "fix" else code_chars) if k in quoted and isinstance(v, str)
                      else v for k, v in fields.items()}
            if not with_note and "note" in filled:
                filled["note"] = ""
            message = self.message.format(**filled)
            if len(message) <= (MESSAGE_CHARS if with_note else MAX_MESSAGE_CHARS):
                break
        return Violation(self.code, self.name, node, message, data or {})
