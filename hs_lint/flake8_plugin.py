"""The flake8 adapter: the same engine on the lines flake8 already read, with the same selection.

It never raises. A file that libcst cannot parse is left to flake8 (E999); a file that takes
longer than its budget is one HS002; anything else that goes wrong becomes a single HS001 finding
so that the user's other plugins still run. Each file is screened first on the tree flake8 already
parsed; libcst and the rules are imported only when some file passes. Which rules run is decided
as ``hs-lint check`` decides it (``hs_lint.flake8_selection``): advisory rules off, ``[tool.hs-lint]``
read, and flake8's own options first for every code they name.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from hs_lint import __version__
from hs_lint.catalogue import rule_codes
from hs_lint.flake8_selection import Selection
from hs_lint.prefilter import may_have_findings

Result = tuple[int, int, str, type]


class HiddenStatePlugin:
    name = "hs-lint"
    version = __version__
    selection: ClassVar[Selection | None] = None  # None until flake8 hands us its options

    def __init__(self, tree: ast.AST, lines: Sequence[str], filename: str = "") -> None:
        # ``tree`` is how flake8 knows this is a whole-file plugin; the screen reads it, the engine uses libcst.
        self.tree = tree if isinstance(tree, ast.AST) else None
        self.lines = lines
        self.filename = filename

    @classmethod
    def add_options(cls, option_manager: object) -> None:
        """Advisory rules are off by default, as flake8-bugbear's opinionated B9 codes are."""
        advisory = [code for code, default in rule_codes().items() if not default]
        option_manager.extend_default_ignore(advisory)  # type: ignore[attr-defined]

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        """Decide which HS rules run before any file is checked, so the others never run."""
        try:
            cls.selection = Selection.read(options)
        except Exception as exc:  # noqa: BLE001 - a crash here would stop the user's whole flake8 run
            cls.selection = Selection(problem=f"internal error: {_one_line(exc)} (please report this)")

    def run(self) -> Iterator[Result]:
        try:
            if self.selection is not None and self.selection.problem is not None:
                yield 1, 0, f"HS001 hs-lint cannot run: {self.selection.problem}", type(self)
                return
            findings = self._findings()
        except Exception as exc:  # noqa: BLE001 - a crash here would break the user's whole flake8 run
            yield 1, 0, f"HS001 hs-lint internal error: {_one_line(exc)}", type(self)
            return
        for finding in findings:
            yield finding.line, finding.col - 1, f"{finding.code} {finding.message}", type(self)

    def _findings(self) -> list:
        codes = self.selection.codes_for(self.filename) if self.selection is not None else frozenset(rule_codes())
        if not codes:
            return []
        source = "".join(self.lines)
        view = _projects().view(Path(self.filename)) if self.filename not in ("", "-", "stdin") else None
        if not may_have_findings(source, codes, self.tree, view.holds_recurrent if view is not None else None):
            return []
        from hs_lint.engine import SourceError, TimedOut

        try:
            return _linter(codes).check_source(source, self.filename, view)
        except TimedOut as exc:
            return [exc.finding]
        except SourceError:
            return []  # flake8 reports the syntax error itself (E999)
        except RecursionError:
            return []  # as deep as flake8's own parser goes, and no deeper: nothing to report


def _one_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


_LINTERS: dict[frozenset[str], object] = {}
_PROJECTS: list[object] = []


def _projects():
    """One set of project indexes per flake8 process: every file of a project shares its summaries, which are
    also kept on disk (``<root>/.hs_lint_cache``) for the next run and the next editor keystroke."""
    if not _PROJECTS:
        from hs_lint.project.index import Projects
        from hs_lint.project.store import CACHE_DIR_NAME

        _PROJECTS.append(Projects(fallback=Path.cwd(), store_name=CACHE_DIR_NAME))  # editors run in the workspace
    return _PROJECTS[0]


def _linter(codes: frozenset[str]):
    """One Linter per selection per process: rule objects are built once, not per file (screened already)."""
    from hs_lint.budget import DEFAULT_SECONDS, Budget
    from hs_lint.engine import Linter

    if codes not in _LINTERS:
        _LINTERS[codes] = Linter(codes, prefilter=False, budget=Budget(DEFAULT_SECONDS))
    return _LINTERS[codes]
