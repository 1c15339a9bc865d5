"""Run hs-lint on a program and its variants; a variant passes when its findings are exactly its marks.

A mark answers a finding of its code on its statement's lines; when a rewrite moved an expression of that
statement into a helper function, a finding on the helper's lines answers it too (the mistake moved with it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from hs_lint.engine import Linter
from hs_lint.project.index import Projects
from hs_lint.rules import all_rules

from .program import Program, Variant

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
DEFAULT_CODES = frozenset(code for code, rule in all_rules().items() if rule.default_enabled)


@dataclass(frozen=True)
class Subject:
    """What the harness rewrites: a fixture (single file or project) or a rule's example."""

    name: str
    program: Program
    kind: str  # "bad", "good", "example-bad", "example-good"
    codes: frozenset[str]


def subjects() -> list[Subject]:
    found = []
    for path in sorted(FIXTURES.glob("*/*.py")):
        program = Program.single(path.read_text(encoding="utf-8"), path.name)
        found.append(_subject(f"{path.parent.name}/{path.name}", program, path.parent.name))
    for folder in sorted((FIXTURES / "projects").iterdir()):
        program = Program.from_dir(folder)
        kind = "good" if folder.name.endswith("_ok") else "bad"
        found.append(_subject(f"projects/{folder.name}", program, kind))
    for code, rule in all_rules().items():
        for i, source in enumerate(rule.bad):
            found.append(Subject(f"rule/{code}-bad{i}", Program.single(source, "example.py"), "example-bad", frozenset({code})))
        for i, source in enumerate(rule.good):
            found.append(Subject(f"rule/{code}-good{i}", Program.single(source, "example.py"), "example-good",
                                 frozenset(all_rules())))
    return found


def _subject(name: str, program: Program, kind: str) -> Subject:
    marked = {code for _, _, code in program.marks()}
    return Subject(name, program, kind, DEFAULT_CODES | marked)


Finding = tuple[str, int, str]  # (file, line, code)


def lint(program: Program, codes: Iterable[str]) -> set[Finding]:
    """hs-lint's findings on every file of the program, each read with its project as the CLI reads it."""
    linter = Linter(sorted(codes))
    if len(program.files) == 1:  # one file needs no folder: read alone, as the fixtures' own test reads it
        ((name, text),) = program.files.items()
        return {(name, f.line, f.code) for f in linter.check_source(text, name)}
    with tempfile.TemporaryDirectory(prefix="hsv-") as folder:
        root = Path(folder)
        (root / "pyproject.toml").write_text("")
        program.write(root)
        projects = Projects()
        found = set()
        for name in program.python():
            path = root / name
            for f in linter.check_source(program.files[name], str(path), projects.view(path)):
                found.add((name, f.line, f.code))
    return found


@dataclass(frozen=True)
class Outcome:
    subject: str
    transform: str
    detail: str
    lost: tuple[Finding, ...]  # marks no finding answered
    extra: tuple[Finding, ...]  # findings no mark asked for
    codes: tuple[str, ...]  # the codes the subject's marks (or example) are about

    @property
    def passed(self) -> bool:
        return not self.lost and not self.extra

    @property
    def key(self) -> str:
        return f"{self.subject}::{self.transform}"


def judge(subject: Subject, variant: Variant, found: set[Finding] | None = None) -> Outcome:
    found = lint(variant.program, subject.codes) if found is None else found
    if subject.kind.startswith("example"):
        return _judge_example(subject, variant, found)
    marks = variant.program.marks()
    spans = _spans(variant.program, marks, variant.slack)
    moved = _moved_into(variant)
    spans = {mark: [(mark[0], *span), *_helper_spans(variant.program, mark, span, moved)] for mark, span in spans.items()}
    lost = tuple(sorted(mark for mark in marks if not any(_answers(f, mark, spans[mark]) for f in found)))
    extra = tuple(sorted(f for f in found if not any(_answers(f, mark, spans[mark]) for mark in marks)))
    codes = tuple(sorted({code for _, _, code in subject.program.marks()}))
    return Outcome(subject.name, variant.transform, variant.detail, lost, extra, codes)


def _judge_example(subject: Subject, variant: Variant, found: set[Finding]) -> Outcome:
    """A rule's example has no marks: its bad form keeps as many findings of its code, its good form none."""
    if subject.kind == "example-good":
        return Outcome(subject.name, variant.transform, variant.detail, (), tuple(sorted(found)), ())
    (code,) = subject.codes
    before = _baseline(subject)
    lost = tuple(sorted(before))[: max(0, len(before) - len(found))]
    extra = tuple(sorted(f for f in found if f[2] != code))
    return Outcome(subject.name, variant.transform, variant.detail, lost, extra, (code,))


_BASELINES: dict[str, frozenset[Finding]] = {}


def _baseline(subject: Subject) -> frozenset[Finding]:
    if subject.name not in _BASELINES:
        _BASELINES[subject.name] = frozenset(lint(subject.program, subject.codes))
    return _BASELINES[subject.name]


def _spans(program: Program, marks: set[Finding], slack: int) -> dict[Finding, tuple[int, int]]:
    """Each mark answers findings on the lines of its statement (a mark sits on the statement's last line)."""
    spans = {}
    for mark in marks:
        name, line, _ = mark
        first = _statement_start(program.files[name], line)
        spans[mark] = (first - slack, line)
    return spans


def _statement_start(source: str, line: int) -> int:
    """The first line of the statement that ends on ``line``: back over open brackets and continuations."""
    lines = source.splitlines()
    depth = 0
    for number in range(line, 0, -1):
        text = lines[number - 1].split("#", 1)[0]
        depth += text.count(")") + text.count("]") + text.count("}")
        depth -= text.count("(") + text.count("[") + text.count("{")
        previous = lines[number - 2].rstrip() if number > 1 else ""
        if depth <= 0 and not previous.endswith("\\"):
            return number
    return 1


def _moved_into(variant: Variant) -> str | None:
    """The helper an extracting rewrite moved an expression into (its detail ends ``into NAME()``)."""
    if not variant.transform.startswith("extract-helper"):
        return None
    _, _, helper = variant.detail.rpartition(" into ")
    return helper.removesuffix("()") or None


def _helper_spans(program: Program, mark: Finding, span: tuple[int, int], helper: str | None):
    """The lines of ``helper``'s definition, in whichever file holds it, when the marked statement calls it."""
    lines = program.files[mark[0]].splitlines()[span[0] - 1: span[1]]
    if helper is None or not any(f"{helper}(" in line for line in lines):
        return []
    found = []
    for name in program.python():
        wrapper = MetadataWrapper(cst.parse_module(program.files[name]))
        positions = wrapper.resolve(PositionProvider)
        for statement in wrapper.module.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == helper:
                found.append((name, positions[statement].start.line, positions[statement].end.line))
    return found


def _answers(finding: Finding, mark: Finding, spans: list[tuple[str, int, int]]) -> bool:
    return finding[2] == mark[2] and any(finding[0] == name and first <= finding[1] <= last for name, first, last in spans)


def run(subject: Subject, variants: Iterable[Variant]) -> Iterator[Outcome]:
    for variant in variants:
        yield judge(subject, variant)
