"""The CLI as users run it: output format, exit codes, selection, configuration, noqa."""

from __future__ import annotations

import json

import pytest

from conftest import CARRY, flake8, hs_lint

def test_text_output_is_flake8_style_and_exit_code_is_1(project):
    result = hs_lint("check", ".", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("train.py:5:21: HS101 [*] hidden state `h`")
    assert lines[1].startswith("train.py:7:5: HS102 [*] `h.cpu()`")
    assert "hs-lint: 2 findings in 1 file (2 fixable), 2 files checked" in result.stderr


def test_json_output_has_the_contracted_keys(project):
    result = hs_lint("check", "--format", "json", "train.py", cwd=project)
    data = json.loads(result.stdout)
    assert [d["code"] for d in data] == ["HS101", "HS102"]
    assert set(data[0]) >= {"path", "line", "col", "end_line", "end_col", "code", "name", "message"}
    assert (data[0]["line"], data[0]["col"], data[0]["end_col"]) == (5, 21, 22)


def test_clean_file_exits_zero(project):
    result = hs_lint("check", "clean.py", cwd=project)
    assert (result.returncode, result.stdout) == (0, "")


@pytest.mark.parametrize(
    ("args", "codes"),
    [
        (["--select", "HS102"], ["HS102"]),
        (["--ignore", "HS1"], []),
        (["--ignore", "HS1", "--select", "HS101"], ["HS101"]),
        (["--select", "HS1", "--ignore", "HS102"], ["HS101"]),
        (["--ignore", "HS10", "--extend-select", "HS102"], ["HS102"]),
    ],
)
def test_selection_follows_flake8_precedence(project, args, codes):
    result = hs_lint("check", "--format", "json", *args, "train.py", cwd=project)
    assert [d["code"] for d in json.loads(result.stdout)] == codes


def test_unknown_code_is_a_usage_error(project):
    result = hs_lint("check", "--select", "HS999", cwd=project)
    assert result.returncode == 2
    assert "'HS999' matches no rule" in result.stderr


def test_missing_path_is_reported_and_the_rest_still_checked(project):
    result = hs_lint("check", "nope.py", "train.py", cwd=project)
    assert result.returncode == 2
    assert "nope.py: cannot check: no such file or directory" in result.stderr
    assert "train.py:5:21: HS101" in result.stdout


def test_syntax_error_is_hs002_with_position_and_others_still_checked(project):
    (project / "broken.py").write_text("lstm = nn.LSTM(:\n    pass\n")
    result = hs_lint("check", ".", cwd=project)
    assert result.returncode == 2
    assert "broken.py:1:" in result.stdout and "HS002 cannot parse" in result.stdout
    assert "train.py:5:21: HS101" in result.stdout


def test_config_selects_ignores_and_excludes(project):
    (project / "pyproject.toml").write_text(
        '[tool.hs-lint]\nignore = ["HS102"]\nexclude = ["skipped"]\n'
        'per-file-ignores = { "legacy_*.py" = ["HS101"] }\n'
    )
    (project / "skipped").mkdir()
    (project / "skipped" / "x.py").write_text(CARRY)
    (project / "legacy_train.py").write_text(CARRY)
    result = hs_lint("check", "--format", "json", ".", cwd=project)
    assert [(d["path"], d["code"]) for d in json.loads(result.stdout)] == [("train.py", "HS101")]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[tool.hs-lint]\nselct = ["HS1"]\n', "unknown key 'selct'; did you mean 'select'?"),
        ('[tool.hs-lint]\nrespect_gitignore = false\n', "did you mean 'respect-gitignore'?"),
        ('[tool.hs-lint]\nselect = "HS1"\n', "select must be a list of strings"),
        ('[tool.hs-lint]\nselect = "HS1"\n', 'like select = ["HS1", "HS203"]; got \'HS1\''),
        ('[tool.hs-lint]\nexclude = "x"\n', 'exclude must be a list of strings, like exclude = ["third_party", '),
        ('[tool.hs-lint]\nper-file-ignores = ["x"]\n', 'must be a table, like per-file-ignores = {"tests/*" = '),
        ('[tool.hs-lint]\nper-file-ignores = { "t/*" = "HS1" }\n', 'like per-file-ignores = {"tests/*" = '),
        ('[tool.hs-lint]\nrespect-gitignore = "no"\n', "must be true or false, like respect-gitignore = false"),
        ('[tool.hs-lint]\nselect = ["XX1"]\n', "'XX1' matches no rule"),
        ("[tool.hs-lint\n", "invalid TOML"),
    ],
)
def test_broken_config_exits_2_with_a_clear_message(project, toml, message):
    (project / "pyproject.toml").write_text(toml)
    result = hs_lint("check", ".", cwd=project)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_an_unknown_key_far_from_every_key_gets_the_list_only(project):
    (project / "pyproject.toml").write_text('[tool.hs-lint]\nzzz = 1\n')
    result = hs_lint("check", ".", cwd=project)
    assert "unknown key 'zzz'; the keys are: select, ignore" in result.stderr
    assert "did you mean" not in result.stderr


@pytest.mark.parametrize("key", ["exclude", "respect-gitignore"])
def test_a_value_error_never_shows_an_example_of_codes_for_a_key_that_takes_none(project, key):
    (project / "pyproject.toml").write_text(f'[tool.hs-lint]\n{key} = 3\n')
    result = hs_lint("check", ".", cwd=project)
    assert result.returncode == 2
    assert f"like {key} = " in result.stderr and "HS1" not in result.stderr


def test_noqa_is_honoured_like_flake8_including_multiline_strings(project):
    source = CARRY.replace("out, h = rnn(x, h)", "out, h = rnn(x, h)  # noqa: HS101").replace(
        "h.cpu()", 'h.cpu(); note = """\n    multi-line # noqa\n    """'
    )
    (project / "train.py").write_text(source + "out, h = rnn(x, h)  # NOQA\nh.cpu()  # noqa:HS1\nh.cpu()  # noqa: E501\n")
    cli = hs_lint("check", "--format", "json", "train.py", cwd=project)
    ours = sorted((d["line"], d["code"]) for d in json.loads(cli.stdout))
    theirs = flake8("--select=HS", "--format=%(row)d|%(code)s", "train.py", cwd=project)
    assert ours == sorted((int(r), c) for r, c in (line.split("|") for line in theirs.stdout.splitlines()))
    assert ours == [(12, "HS102")]


def test_rules_lists_every_rule_and_version_prints(project):
    rules = hs_lint("rules", cwd=project)
    assert rules.returncode == 0
    assert "HS101  hidden-state-carried-without-detach" in rules.stdout
    assert hs_lint("--version", cwd=project).stdout.startswith("hs-lint ")
