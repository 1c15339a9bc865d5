"""The flake8 adapter: the same engine on the lines flake8 already read, with the same selection.

It never raises. A file that libcst cannot parse is left to flake8 (E999); a file that takes
longer than its budget is one HS002; anything else that goes wrong (the analysis process dying
included) becomes a single HS001 finding so that the user's other plugins still run. Each file is
screened first on the tree flake8 already parsed; a file that passes is analysed in a worker
process (``hs_lint.workers``) that the kernel stops at the budget, even inside libcst's parser.
Which rules run is decided as ``hs-lint check`` decides it (``hs_lint.flake8_selection``): advisory
rules off, ``[tool.hs-lint]`` read, and flake8's own options first for every code they name.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import ClassVar

from hs_lint import __version__
from hs_lint.catalogue import rule_codes
from hs_lint.files import MAX_FILE_BYTES
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
            summary = str(exc) if getattr(exc, "one_line", False) else _one_line(exc)
            yield 1, 0, f"HS001 hs-lint internal error: {summary.splitlines()[0][:200]}", type(self)
            return
        for finding in findings:
            yield finding.line, finding.col - 1, f"{finding.code} {finding.message}", type(self)

    def _findings(self) -> list:
        codes = self.selection.codes_for(self.filename) if self.selection is not None else frozenset(rule_codes())
        if not codes:
            return []
        source = "".join(self.lines)
        if len(source) > MAX_FILE_BYTES:
            return []  # not analysed, as the CLI would report it; flake8 has checked it already
        view = _projects().view(Path(self.filename)) if self.filename not in ("", "-", "stdin") else None
        if not may_have_findings(source, codes, self.tree, view.holds_recurrent if view is not None else None):
            return []
        from hs_lint.budget import DEFAULT_SECONDS
        from hs_lint.engine import over_budget
        from hs_lint.workers import Died, Worker

        if not _WORKER:
            import atexit

            _WORKER.append(Worker())
            atexit.register(_WORKER[0].stop)
        try:
            return _WORKER[0].call(DEFAULT_SECONDS, _analysed, codes, source, self.filename)
        except Died as exc:  # libcst's parser died, or ran past the budget and the kernel stopped it
            if exc.timed_out:
                return [over_budget(self.filename, DEFAULT_SECONDS).finding]
            raise


def _analysed(codes: frozenset[str], source: str, filename: str) -> list:
    """In the worker process: the findings for one file that passed the screen."""
    from hs_lint.engine import SourceError, TimedOut

    view = _projects().view(Path(filename)) if filename not in ("", "-", "stdin") else None
    try:
        return _linter(codes).check_source(source, filename, view)
    except TimedOut as exc:
        return [exc.finding]
    except SourceError:
        return []  # flake8 reports the syntax error itself (E999), and the file too deep for libcst is left alone
    except RecursionError:
        return []  # as deep as flake8's own parser goes, and no deeper: nothing to report


_WORKER: list = []  # the analysis process, started for the first file that passes the screen
_LINTERS: dict[frozenset[str], object] = {}


def _one_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:200]


_PROJECTS: list[object] = []


def _projects():
    """One set of project indexes per flake8 process: every file of a project shares its summaries, which are
    also kept on disk (``store.cache_directory``) for the next run and the next editor keystroke."""
    if not _PROJECTS:
        from hs_lint.project.index import Projects

        _PROJECTS.append(Projects(fallback=Path.cwd(), stored=True))  # editors run in the workspace
    return _PROJECTS[0]


def _linter(codes: frozenset[str]):
    """One Linter per selection per process: rule objects are built once, not per file (screened already)."""
    from hs_lint.budget import DEFAULT_SECONDS, Budget
    from hs_lint.engine import Linter

    if codes not in _LINTERS:
        _LINTERS[codes] = Linter(codes, prefilter=False, budget=Budget(DEFAULT_SECONDS))
    return _LINTERS[codes]
