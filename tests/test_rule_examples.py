"""Each rule's own examples: every bad one produces that rule's code, every good one nothing at all."""

from __future__ import annotations

import pytest

from conftest import lint
from hs_lint.rules import all_rules

BAD = [(code, i, src) for code, rule in all_rules().items() for i, src in enumerate(rule.bad)]
GOOD = [(code, i, src) for code, rule in all_rules().items() for i, src in enumerate(rule.good)]


@pytest.mark.parametrize(("code", "index", "source"), BAD, ids=[f"{c}-bad{i}" for c, i, _ in BAD])
def test_bad_example_produces_the_code(code, index, source):
    findings = lint(source, [code])
    assert findings, f"{code} bad example {index} produced nothing"
    assert {f.code for f in findings} == {code}


@pytest.mark.parametrize(("code", "index", "source"), GOOD, ids=[f"{c}-good{i}" for c, i, _ in GOOD])
def test_good_example_is_clean_under_every_rule(code, index, source):
    assert lint(source, list(all_rules())) == []


@pytest.mark.parametrize("code", list(all_rules()))
def test_rule_is_fully_described(code):
    rule = all_rules()[code]
    assert rule.code.startswith("HS") and len(rule.code) == 5
    assert rule.name and rule.summary and rule.rationale and rule.message
    assert len(rule.bad) >= 1 and len(rule.good) >= 1
