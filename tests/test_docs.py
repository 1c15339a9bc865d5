"""The docs cannot drift: rule pages and the README table are what the rule classes generate,
every example on a page behaves as the page says, and CI runs the README's test command."""

from __future__ import annotations

import pytest

from conftest import ROOT, lint
from hs_lint import docs
from hs_lint.rules import all_rules

PAGES = {code: ROOT / docs.page_name(rule) for code, rule in all_rules().items()}


@pytest.mark.parametrize("code", list(PAGES))
def test_rule_page_is_generated_from_the_rule(code):
    assert PAGES[code].read_text(encoding="utf-8") == docs.rule_page(all_rules()[code]), (
        "stale page: run `python -m hs_lint.docs`"
    )


@pytest.mark.parametrize("code", list(PAGES))
def test_every_example_on_the_page_behaves_as_labelled(code):
    page = PAGES[code].read_text(encoding="utf-8")
    bad, good = docs.code_blocks(page, "Bad"), docs.code_blocks(page, "Good")
    assert bad and good
    for example in bad:
        assert {f.code for f in lint(example, [code])} == {code}
    for example in good:
        assert lint(example, list(all_rules())) == []


def test_no_page_without_a_rule():
    assert {p.name for p in (ROOT / "rules").glob("HS*.md")} == {p.name for p in PAGES.values()}


def test_readme_rule_table_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.replace_table(readme) == readme, "stale README table: run `python -m hs_lint.docs`"
    for code in all_rules():
        assert f"[{code}]" in readme


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- test-command:start -->")[1].split("<!-- test-command:end -->")[0]
    command = [line for line in block.strip().splitlines() if not line.startswith("```")]
    assert command == ["pip install torch==2.13.0 -e '.[runtime,test]' && python -m pytest -q"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command:start" in ci and 'bash -c "set -euo pipefail; $command"' in ci
