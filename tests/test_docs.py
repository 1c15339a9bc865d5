"""The docs cannot drift: rule pages and the README table are what the rule classes generate,
every example on a page behaves as the page says, and CI runs the README's test command."""

from __future__ import annotations

import re
import sys

import pytest
import yaml

from conftest import ROOT, lint
from hs_lint import docs
from hs_lint.rules import all_rules

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

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
    checker_pages = {docs.checker_page_name(code).removeprefix("rules/") for code in docs.CHECKER_CODES}
    assert {p.name for p in (ROOT / "rules").glob("HS*.md")} == {p.name for p in PAGES.values()} | checker_pages


def test_readme_rule_table_is_current():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.replace_table(readme) == readme, "stale README table: run `python -m hs_lint.docs`"
    for code in all_rules():
        assert f"[{code}]" in readme


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("<!-- test-command:start -->")[1].split("<!-- test-command:end -->")[0]
    command = [line for line in block.strip().splitlines() if not line.startswith("```")]
    assert command == ["pip install torch==2.13.0 -e '.[runtime,test]' && python -m pytest -q -n auto"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "test-command:start" in ci and 'bash -c "set -euo pipefail; $command"' in ci


def _readme_blocks(language: str) -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(rf"```{language}\n(.*?)```", readme, re.S)


def test_readme_command_lines_are_accepted_by_the_parser():
    from hs_lint.cli import build_parser

    commands = [line.split("#")[0].split()[1:] for block in _readme_blocks("sh") for line in block.splitlines()
                if line.startswith("hs-lint ") and "--version" not in line and "--help" not in line]
    assert len(commands) >= 10
    for argv in commands:
        build_parser().parse_args(argv)


def test_readme_pre_commit_ci_and_ruff_snippets_fit_the_tools():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    configs = [yaml.safe_load(block) for block in _readme_blocks("yaml")]
    hook_ids = [h["id"] for c in configs if "repos" in c for r in c["repos"] for h in r["hooks"]]
    assert hooks[0]["id"] in hook_ids and "flake8" in hook_ids
    hooks_used = [h for c in configs if "repos" in c for r in c["repos"] for h in r["hooks"]]
    flake8_hook = next(h for h in hooks_used if h["id"] == "flake8")
    assert any(dep.endswith(".whl") and "hs_lint-" in dep for dep in flake8_hook["additional_dependencies"])
    local = next(r for c in configs if "repos" in c for r in c["repos"] if r["repo"] == "local")
    assert local["hooks"][0]["entry"] == hooks[0]["entry"]  # the same command as the published hook
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # not on the package index, no release tag, no public repository: promise none of them
    assert "pip install hs-lint" not in readme and "rev: v0.1.0" not in readme
    assert "github.com/hs-lint" not in readme
    job = next(c for c in configs if "jobs" in c)["jobs"]["hs-lint"]
    run = next(s["run"] for s in job["steps"] if "--format sarif" in s.get("run", ""))
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert run.split("--output-file ")[1].split()[0] == upload["with"]["sarif_file"]
    assert job["permissions"]["security-events"] == "write"
    ruff = [tomllib.loads(block) for block in _readme_blocks("toml") if "ruff" in block]
    assert ruff and ruff[0]["tool"]["ruff"]["lint"]["external"] == ["HS"]
