"""Every fixture, both ways: each ``# expect:`` mark is found and nothing unmarked is reported."""

from __future__ import annotations

import json

import pytest

from conftest import DEFAULT_CODES, FIXTURES, ROOT, codes_for, expected_marks, fixture_files, hs_lint, lint

FIXTURE_IDS = [str(p.relative_to(FIXTURES)) for p in fixture_files()]


@pytest.mark.parametrize("path", fixture_files(), ids=FIXTURE_IDS)
def test_engine_reports_exactly_the_marks(path):
    findings = lint(path.read_text(encoding="utf-8"), codes_for(path), path)
    assert {(f.line, f.code) for f in findings} == expected_marks(path)


@pytest.mark.parametrize("path", fixture_files(), ids=FIXTURE_IDS)
def test_flake8_reports_exactly_the_marks(path, flake8_on_fixtures):
    relative = str(path.relative_to(ROOT))
    reported = {(line, code) for line, _, code in flake8_on_fixtures.get(relative, set()) if code in codes_for(path)}
    assert reported == expected_marks(path)


def test_good_fixtures_are_clean_and_bad_ones_are_marked():
    good = [p for p in fixture_files() if p.parent.name == "good"]
    bad = [p for p in fixture_files() if p.parent.name == "bad"]
    assert good and bad
    assert not any(expected_marks(p) for p in good)
    assert all(expected_marks(p) for p in bad)


def test_cli_and_flake8_agree_on_line_and_column(flake8_on_fixtures):
    result = hs_lint("check", "--format", "json", "fixtures")
    assert result.returncode == 1, result.stderr
    cli = {(f["path"], f["line"], f["col"], f["code"]) for f in json.loads(result.stdout)}
    via_flake8 = {
        (path, line, col, code)
        for path, found in flake8_on_fixtures.items()
        for line, col, code in found
        if code in DEFAULT_CODES
    }
    assert cli and cli == via_flake8


def test_cli_on_good_fixtures_exits_zero():
    result = hs_lint("check", "fixtures/good")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
