"""source -> parse -> facts -> rules -> findings. One parse and one facts pass per file."""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from typing import TYPE_CHECKING

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from hs_lint.facts import FileFacts
from hs_lint.rule import Rule, Violation
from hs_lint.rules import all_rules

if TYPE_CHECKING:
    from hs_lint.fix import Fix
    from hs_lint.runtime.confirm import Confirmation


@dataclass(frozen=True, order=True)
class Finding:
    """A violation placed in a file. Lines and columns are 1-based, as the CLI prints them."""

    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    code: str
    name: str
    message: str
    fix: str = ""  # "safe" or "unsafe" when the rule can repair it (hs-lint check --fix), else ""
    # What --confirm needs to rebuild the case (module configuration, shapes); not part of the output.
    data: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False, repr=False)
    confirmation: Confirmation | None = field(default=None, compare=False, hash=False)

    def as_dict(self) -> dict[str, object]:
        fields = {f.name: getattr(self, f.name) for f in dataclass_fields(self) if f.name not in _UNLISTED}
        if self.confirmation is not None:
            fields["confirmation"] = self.confirmation.as_dict()
        return fields


_UNLISTED = frozenset({"data", "confirmation"})


class SourceError(Exception):
    """The file could not be decoded or parsed; ``finding`` says where and why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def decode(data: bytes, path: str) -> str:
    """Bytes -> text the way Python itself reads a module (BOM, PEP 263 cookie, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        raise SourceError(Finding(path, 1, 1, 1, 1, "HS002", "cannot-parse", f"cannot decode: {exc}")) from None
    return text[1:] if text.startswith("\ufeff") else text


@dataclass(frozen=True)
class Analysis:
    """One file's findings, and what ``--fix`` needs to repair them: the tree and each finding's fix."""

    module: cst.Module | None
    findings: list[Finding]
    fixes: dict[Finding, Fix] = field(default_factory=dict)


class Linter:
    """Runs a fixed selection of rules; build it once per process and reuse it for every file."""

    def __init__(self, codes: Iterable[str] | None = None) -> None:
        catalogue = all_rules()
        selected = catalogue if codes is None else {c: catalogue[c] for c in codes if c in catalogue}
        self.rules: Sequence[Rule] = [rule_class() for rule_class in selected.values()]

    def check_source(self, source: str, path: str) -> list[Finding]:
        """Findings for one file's text; raises SourceError when it does not parse."""
        return self.analyse(source, path).findings

    def analyse(self, source: str, path: str) -> Analysis:
        """Parse, gather facts, run the rules, and ask each rule for its fix; raises SourceError."""
        if not self.rules:
            return Analysis(None, [])
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as exc:
            line, col = _syntax_error_position(source, exc)
            message = f"cannot parse: {exc.message.removeprefix('parser error: ')}"
            raise SourceError(Finding(path, line, col, line, col, "HS002", "cannot-parse", message)) from None
        facts = FileFacts(module)
        found = [(rule, v) for rule in self.rules for v in rule.check(facts)]
        if not found:
            return Analysis(module, [])
        fixes: dict[Finding, Fix] = {}
        for (rule, violation), finding in zip(found, _place(module, [v for _, v in found], path)):
            fix = rule.fix(facts, violation)
            if fix is not None:
                finding = replace(finding, fix="safe" if fix.safe and rule.fix_safe else "unsafe")
            fixes.setdefault(finding, fix)
        return Analysis(module, sorted(fixes), {f: fix for f, fix in fixes.items() if fix is not None})


def _syntax_error_position(source: str, exc: cst.ParserSyntaxError) -> tuple[int, int]:
    """Where the error is, 1-based. libcst's native parser points at the start of the line, so
    ask CPython's compiler (only for files that failed to parse); fall back to libcst's own."""
    try:
        compile(source, "<checked>", "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
    except SyntaxError as error:
        if error.lineno:
            return error.lineno, max(error.offset or 1, 1)
    except (ValueError, RecursionError, MemoryError):
        pass
    return exc.editor_line, exc.editor_column


def _place(module: cst.Module, violations: list[Violation], path: str) -> list[Finding]:
    """Give violations positions, in order; the position pass runs only for files that have findings."""
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    findings = []
    for violation in violations:
        where = positions[violation.node]
        findings.append(
            Finding(path, where.start.line, where.start.column + 1, where.end.line, where.end.column + 1,
                    violation.code, violation.name, violation.message, data=violation.data)
        )
    return findings
