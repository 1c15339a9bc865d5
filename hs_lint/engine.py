"""source -> screen -> parse -> facts -> rules -> findings. One parse and one facts pass per file.

libcst, the facts and the rule modules are imported on first use: a run in which no file passes
the screen (``hs_lint.prefilter``) never loads them.
"""

from __future__ import annotations

import ast
import contextlib
import io
import tokenize
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from typing import TYPE_CHECKING

from hs_lint.budget import Budget, OverBudget
from hs_lint.files import TooLarge
from hs_lint.gcpause import collector_paused
from hs_lint.limits import too_deep
from hs_lint.prefilter import may_have_findings

if TYPE_CHECKING:
    import libcst as cst
    from libcst.metadata import CodeRange

    from hs_lint.fix import Fix
    from hs_lint.inline import Expansion
    from hs_lint.project.index import ModuleView
    from hs_lint.rule import Rule, Violation
    from hs_lint.runtime.confirm import Confirmation

# libcst needs about a second and 100 MB per 10,000 lines; past this the file is reported, not analysed
# (files on disk are not even read past the same size in bytes: hs_lint.files).
MAX_SOURCE_CHARS = 1_000_000


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


def applies(fix: str, unsafe: bool) -> bool:
    """Whether a finding's fix ("safe", "unsafe" or "") is applied under the current flags."""
    return fix == "safe" or (fix == "unsafe" and unsafe)


class SourceError(Exception):
    """The file could not be decoded or parsed; ``finding`` says where and why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


class TimedOut(SourceError):
    """The file took longer than the Linter's budget."""


def decode(data: bytes, path: str) -> str:
    """Bytes -> text the way Python itself reads a module (BOM, PEP 263 cookie, else UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _undecodable(path, data, exc.start, f"is not valid {exc.encoding}") from None
    except (SyntaxError, LookupError) as exc:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as bad:  # tokenize's complaint about a non-UTF-8 byte
            raise _undecodable(path, data, bad.start, "is not UTF-8 and no other encoding is declared "
                                                      "(`# -*- coding: latin-1 -*-`, PEP 263)") from None
        raise SourceError(Finding(path, 1, 1, 1, 1, "HS002", "cannot-parse", f"cannot decode: {exc}")) from None
    return text[1:] if text.startswith("\ufeff") else text


def _undecodable(path: str, data: bytes, offset: int, why: str) -> SourceError:
    line = data.count(b"\n", 0, offset) + 1
    col = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
    message = f"cannot decode: byte 0x{data[offset]:02x} {why}"
    return SourceError(Finding(path, line, col, line, col, "HS002", "cannot-parse", message))


@dataclass(frozen=True)
class Analysis:
    """One file's findings, and what ``--fix`` needs to repair them: the tree and each finding's fix."""

    module: cst.Module | None
    findings: list[Finding]
    fixes: dict[Finding, Fix] = field(default_factory=dict)


class Linter:
    """Runs a fixed selection of rules; build it once per process and reuse it for every file."""

    def __init__(self, codes: Iterable[str] | None = None, *, prefilter: bool = True,
                 budget: Budget | None = None) -> None:
        from hs_lint.rules import all_rules

        catalogue = all_rules()
        selected = catalogue if codes is None else {c: catalogue[c] for c in codes if c in catalogue}
        self.rules: Sequence[Rule] = [rule_class() for rule_class in selected.values()]
        self.prefilter = prefilter
        self.budget = budget  # None: no limit on the time one file may take

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(rule.code for rule in self.rules)

    def check_source(self, source: str, path: str, project: ModuleView | None = None,
                     tree: ast.AST | None = None) -> list[Finding]:
        """Findings for one file's text, read with what ``project`` knows of the other modules; raises
        SourceError when it cannot be analysed. ``tree`` (CPython's, when the caller has it) goes to the screen.
        """
        return self.analyse(source, path, project, tree).findings

    def analyse(self, source: str, path: str, project: ModuleView | None = None,
                tree: ast.AST | None = None) -> Analysis:
        """Parse, gather facts, run the rules, and ask each rule for its fix; raises SourceError."""
        elsewhere = project.holds_recurrent if project is not None else None
        borrowed = project.helper_text if project is not None else None
        # without its own screen the caller has screened: the file is parsed even with no rule, for HS002
        if self.prefilter and (not self.rules or not may_have_findings(source, self.codes, tree, elsewhere,
                                                                       borrowed=borrowed)):
            return Analysis(None, [])
        import hs_lint.facts  # noqa: F401 - loads libcst outside the budget, which is the file's own time

        try:
            with collector_paused(), self.budget if self.budget is not None else contextlib.nullcontext():
                return self._analyse(source, path, project)
        except OverBudget:
            raise over_budget(path, self.budget.seconds) from None
        except Exception as exc:
            if self.budget is None or not _interrupted(exc):
                raise
            # libcst's own clean-up, interrupted by the timer, raised in turn (a KeyError from its positions)
            raise over_budget(path, self.budget.seconds) from None

    def _analyse(self, source: str, path: str, project: ModuleView | None) -> Analysis:
        import libcst as cst

        from hs_lint.facts import FileFacts
        from hs_lint.inline import expand

        if len(source) > MAX_SOURCE_CHARS:
            raise unanalysed(path, str(TooLarge(len(source), MAX_SOURCE_CHARS)))
        deep = too_deep(source)  # before libcst, whose parser dies on too deep a tree
        if deep is not None:
            raise unanalysed(path, deep)
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as exc:
            line, col, why = _syntax_error(source, exc)
            raise SourceError(Finding(path, line, col, line, col, "HS002", "cannot-parse", f"cannot parse: {why}")) \
                from None
        except RecursionError:
            raise _too_deep(path) from None
        self._checkpoint()
        try:
            expansion = expand(module, project)
            facts = FileFacts(expansion.module, project, expansion.imports)
            found = []
            for rule in self.rules:
                self._checkpoint()
                # a finding on a helper's own text is the helper's file's to report, once, where it is written,
                # or the call's that expands it
                for v in rule.check(facts):
                    call = expansion.helpers_own.get(id(v.node))
                    if call is None or rule.judged_at_call:
                        found.append((rule, v if call is None else replace(v, node=call)))
            if not found:
                return Analysis(module, [])
            fixes: dict[Finding, Fix | None] = {}
            seen: set[tuple[int, int, str]] = set()  # one finding per position and code
            positions = _positions(module)
            expanded_lines = {line for call in expansion.replaced
                              for line in range(positions[call].start.line, positions[call].end.line + 1)}
            for rule, violation in found:
                finding = _finding(positions[expansion.original(violation.node)], violation, path)
                if (finding.line, finding.col, finding.code) in seen:
                    continue
                seen.add((finding.line, finding.col, finding.code))
                fix = rule.fix(facts, violation)
                if fix is not None and not _fix_as_written(fix, finding, expansion, expanded_lines):
                    fix = None  # it would rewrite a helper's expression into the line that calls it
                if fix is not None:
                    finding = replace(finding, fix="safe" if fix.safe and rule.fix_safe else "unsafe")
                fixes.setdefault(finding, fix)
        except RecursionError:
            raise _too_deep(path) from None
        return Analysis(module, sorted(fixes), {f: fix for f, fix in fixes.items() if fix is not None})

    def _checkpoint(self) -> None:
        if self.budget is not None:
            self.budget.check()


def unanalysed(path: str, why: str) -> SourceError:
    """``HS002 not analysed: <why>`` at the top of the file."""
    return SourceError(Finding(path, 1, 1, 1, 1, "HS002", "cannot-parse", f"not analysed: {why}"))


def over_budget(path: str, seconds: float) -> TimedOut:
    return TimedOut(unanalysed(path, f"took longer than {seconds:g} s").finding)


def _too_deep(path: str) -> SourceError:
    return unanalysed(path, "expressions are nested too deeply for the analysis (Python's recursion limit)")


def _syntax_error(source: str, exc: cst.ParserSyntaxError) -> tuple[int, int, str]:
    """Where the error is (1-based) and what it is, in one line. libcst's native parser points at the
    start of the line and names a second position in its text, so ask CPython's compiler (only for
    files that failed to parse) for both; fall back to libcst's own."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<checked>", "exec", dont_inherit=True, flags=ast.PyCF_ONLY_AST)
    except SyntaxError as error:
        if error.lineno:
            return error.lineno, max(error.offset or 1, 1), error.msg
    except (ValueError, RecursionError, MemoryError) as error:
        if isinstance(error, ValueError):  # e.g. a null byte, which CPython refuses before parsing
            return exc.editor_line, exc.editor_column, str(error).splitlines()[0]
    why = exc.message.removeprefix("parser error: ").splitlines()[0]
    return exc.editor_line, exc.editor_column, why


def _interrupted(exc: BaseException) -> bool:
    """``exc`` was raised while the budget's ``OverBudget`` was being handled."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OverBudget):
            return True
        seen.add(id(exc))
        exc = exc.__context__
    return False


def _fix_as_written(fix: Fix, finding: Finding, expansion: Expansion, expanded_lines: set[int]) -> bool:
    """The fix edits only nodes of the code as written, on lines where no helper call was expanded."""
    return not expanded_lines.intersection(range(finding.line, finding.end_line + 1)) and all(
        expansion.is_original(n) for edit in fix.edits for n in (edit.node, edit.anchor) if n is not None)


def _positions(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Where each node is; the position pass runs only for files that have findings."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def _finding(where: CodeRange, violation: Violation, path: str) -> Finding:
    return Finding(path, where.start.line, where.start.column + 1, where.end.line, where.end.column + 1,
                   violation.code, violation.name, violation.message, data=violation.data)
