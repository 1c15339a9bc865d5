"""The flake8 adapter: the same engine on the lines flake8 already read.

It never raises. A file that libcst cannot parse is left to flake8 (E999); anything else that
goes wrong becomes a single HS001 finding so that the user's other plugins still run.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from hs_lint import __version__

Result = tuple[int, int, str, type]


class HiddenStatePlugin:
    name = "hs-lint"
    version = __version__
    enabled_codes: ClassVar[frozenset[str] | None] = None  # None until flake8 hands us its options

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str = "") -> None:
        # ``tree`` is how flake8 knows this is a whole-file plugin; the engine parses with libcst.
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, option_manager: object) -> None:
        from hs_lint.rules import all_rules

        advisory = [code for code, rule in all_rules().items() if not rule.default_enabled]
        option_manager.extend_default_ignore(advisory)  # type: ignore[attr-defined]

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        """Ask flake8's own decision engine which HS rules are selected, so the others never run."""
        from flake8.style_guide import Decision, DecisionEngine

        from hs_lint.rules import all_rules

        decider = DecisionEngine(options)
        cls.enabled_codes = frozenset(
            code for code in all_rules() if decider.decision_for(code) is Decision.Selected
        )

    def run(self) -> Iterator[Result]:
        try:
            findings = self._findings()
        except Exception as exc:  # noqa: BLE001 - a crash here would break the user's whole flake8 run
            summary = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            yield 1, 0, f"HS001 hs-lint internal error: {summary}", type(self)
            return
        for finding in findings:
            yield finding.line, finding.col - 1, f"{finding.code} {finding.message}", type(self)

    def _findings(self) -> list:
        from hs_lint.engine import SourceError

        try:
            view = _projects().view(Path(self.filename)) if self.filename not in ("", "-", "stdin") else None
            return _linter(self.enabled_codes).check_source("".join(self.lines), self.filename, view)
        except SourceError:
            return []  # flake8 reports the syntax error itself (E999)
        except RecursionError:
            return []  # as deep as flake8's own parser goes, and no deeper: nothing to report


_LINTERS: dict[frozenset[str] | None, object] = {}
_PROJECTS: list[object] = []


def _projects():
    """One set of project indexes per flake8 process: every file of a project shares its summaries, which are
    also kept on disk (``<root>/.hs_lint_cache``) for the next run and the next editor keystroke."""
    if not _PROJECTS:
        from hs_lint.project.index import Projects
        from hs_lint.scan import CACHE_DIR_NAME

        _PROJECTS.append(Projects(store_name=CACHE_DIR_NAME))
    return _PROJECTS[0]


def _linter(codes: frozenset[str] | None):
    """One Linter per selection per process: rule objects are built once, not per file."""
    from hs_lint.engine import Linter

    if codes not in _LINTERS:
        _LINTERS[codes] = Linter(codes)
    return _LINTERS[codes]
