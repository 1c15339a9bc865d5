"""Every finding is one line: a message of at most 240 characters, no embedded multi-line source, and
at most one finding per position and code. Checked over every fixture and every rule example."""

from __future__ import annotations

import pytest

from conftest import FIXTURES, fixture_files
from hs_lint.engine import Linter
from hs_lint.flake8_plugin import HiddenStatePlugin
from hs_lint.output import as_text
from hs_lint.rules import all_rules

MAX_MESSAGE = 240
SOURCES = [(str(p.relative_to(FIXTURES)), p.read_text(encoding="utf-8")) for p in fixture_files()] + [
    (f"{code}-{kind}{i}", source)
    for code, rule in all_rules().items()
    for kind, examples in (("bad", rule.bad), ("good", rule.good))
    for i, source in enumerate(examples)
]
EVERY_RULE = Linter(list(all_rules()))


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=[name for name, _ in SOURCES])
def test_text_findings_are_single_short_lines(name, source):
    findings = EVERY_RULE.check_source(source, name)
    text = as_text(findings)
    assert len(text.splitlines()) == len(findings)
    for finding in findings:
        assert "\n" not in finding.message and "\r" not in finding.message, finding.message
        assert len(finding.message) <= MAX_MESSAGE, (len(finding.message), finding.message)
    positions = [(f.line, f.col, f.code) for f in findings]
    assert len(positions) == len(set(positions)), positions


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=[name for name, _ in SOURCES])
def test_flake8_findings_are_single_short_lines(name, source, monkeypatch):
    monkeypatch.setattr(HiddenStatePlugin, "selection", None)  # no flake8 options: every rule runs
    results = list(HiddenStatePlugin(None, source.splitlines(keepends=True), name).run())
    for _, _, text, _ in results:
        code, _, message = text.partition(" ")
        assert "\n" not in text and len(message) <= MAX_MESSAGE, text
    positions = [(line, col, text.split(" ", 1)[0]) for line, col, text, _ in results]
    assert len(positions) == len(set(positions)), positions


def test_the_check_can_fail():
    """A message with embedded source spanning lines is what the checks above reject."""
    long_source = "h = (\n    torch.zeros(1, 2, 3),\n    torch.zeros(1, 2, 3),\n)\n"
    from hs_lint.rule import snippet

    assert "\n" in long_source and "\n" not in snippet(long_source)
    assert len(snippet("x" * 500)) <= 60 and snippet("x" * 500).endswith("…")
