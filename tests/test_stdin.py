"""Standard input, as editors send a buffer: ``hs-lint check -`` with ``--stdin-filename``, and flake8's ``-``."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import CARRY, run

CONFIG = '[tool.hs-lint]\nper-file-ignores = { "legacy/*.py" = ["HS101"] }\n'


def check(*args: str, cwd, stdin: str = CARRY):
    return run(sys.executable, "-m", "hs_lint.cli", "check", *args, cwd=cwd, stdin=stdin)


def codes(result) -> list[tuple[str, int, str]]:
    return [(d["path"], d["line"], d["code"]) for d in json.loads(result.stdout)]


def test_stdin_is_checked_and_reported_under_the_stdin_filename(tmp_path):
    result = check("--format", "json", "--stdin-filename", "models/train.py", "-", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert codes(result) == [("models/train.py", 5, "HS101"), ("models/train.py", 7, "HS102")]
    assert "1 file checked" in result.stderr


def test_without_a_filename_stdin_is_called_dash(tmp_path):
    result = check("-", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.startswith("-:5:21: HS101")


def test_stdin_filename_alone_reads_stdin_as_ruff_does(tmp_path):
    result = check("--format", "json", "--stdin-filename", "a.py", cwd=tmp_path)
    assert [c for _, _, c in codes(result)] == ["HS101", "HS102"]


def test_the_stdin_filename_decides_configuration_and_per_file_ignores(tmp_path):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / "pyproject.toml").write_text(CONFIG)
    # Run from a directory outside the project: the configuration is found from the named path, which
    # need not exist on disk (an unsaved buffer).
    legacy = check("--format", "json", "--stdin-filename", str(project / "legacy" / "old.py"), "-", cwd=elsewhere)
    assert codes(legacy) == [(str(project / "legacy" / "old.py"), 7, "HS102")]
    other = check("--format", "json", "--stdin-filename", str(project / "new.py"), "-", cwd=elsewhere)
    assert [c for _, _, c in codes(other)] == ["HS101", "HS102"]
    # The same buffer named relative to a project directory as the working directory.
    relative = check("--format", "json", "--stdin-filename", "legacy/old.py", "-", cwd=project)
    assert codes(relative) == [("legacy/old.py", 7, "HS102")]


def test_a_broken_configuration_of_the_named_project_is_an_error(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.hs-lint]\nselect = "HS1"\n')
    result = check("--stdin-filename", "x.py", "-", cwd=tmp_path)
    assert result.returncode == 2
    assert "select must be a list of strings" in result.stderr


def test_a_syntax_error_on_stdin_is_hs002_under_its_name(tmp_path):
    result = check("--stdin-filename", "broken.py", "-", cwd=tmp_path, stdin="lstm = nn.LSTM(:\n")
    assert result.returncode == 2
    assert result.stdout.startswith("broken.py:1:") and "HS002" in result.stdout


def test_diff_on_stdin_shows_the_fixes(tmp_path):
    diff = check("--diff", "--stdin-filename", "t.py", "-", cwd=tmp_path)
    assert diff.returncode == 1
    assert "+++ b/t.py" in diff.stdout and "+    h = h.cpu()" in diff.stdout
    assert "would fix 2 findings" in diff.stderr


def test_fix_on_stdin_prints_the_fixed_file_and_reports_on_stderr_as_ruff_does(tmp_path):
    (tmp_path / "t.py").write_text("on disk: never touched\n")
    fix = check("--fix", "--stdin-filename", "./t.py", "-", cwd=tmp_path)
    assert fix.returncode == 0, fix.stderr
    assert "    h = h.cpu()\n" in fix.stdout and "h = h.detach()" in fix.stdout
    again = check("--stdin-filename", "t.py", "-", cwd=tmp_path, stdin=fix.stdout)
    assert again.returncode == 0 and again.stdout == ""
    assert "fixed 2 findings" in fix.stderr
    assert (tmp_path / "t.py").read_text() == "on disk: never touched\n"


def test_fix_on_stdin_keeps_what_it_cannot_fix_and_echoes_unfixable_input(tmp_path):
    latin = "# -*- coding: latin-1 -*-\n# caf\xe9\n".encode("latin-1")
    unsafe = CARRY.replace("rnn = nn.GRU(4, 8)\n", "").replace("h.cpu()", "pass")  # HS101, fixable only unsafely
    for data in (latin, b"lstm = nn.LSTM(:\n"):
        echoed = subprocess.run([sys.executable, "-m", "hs_lint.cli", "check", "--fix", "-"], cwd=tmp_path,
                                input=data, capture_output=True)
        assert echoed.stdout == data
    remaining = check("--fix", "--format", "json", "-", cwd=tmp_path, stdin=unsafe)
    assert remaining.stdout == unsafe
    assert '"code": "HS101"' in remaining.stderr and remaining.returncode == 1
    shown = check("--fix", "--show-source", "-", cwd=tmp_path, stdin=unsafe)
    assert "-:4:21: HS101" in shown.stderr and "\n    out, h = rnn(x, h)\n" + " " * 20 + "^\n" in shown.stderr


def test_dash_with_other_paths_and_a_filename_without_stdin_are_usage_errors(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    mixed = check("-", "a.py", cwd=tmp_path)
    assert mixed.returncode == 2 and "cannot be checked together with other paths" in mixed.stderr
    named = check("--stdin-filename", "b.py", "a.py", cwd=tmp_path)
    assert named.returncode == 2 and "--stdin-filename names standard input" in named.stderr


def test_flake8_reads_stdin_with_the_plugin_and_its_display_name(tmp_path):
    flake8 = (sys.executable, "-m", "flake8", "--isolated", "--select", "HS")
    named = run(*flake8, "--stdin-display-name", "models/train.py", "-", cwd=tmp_path, stdin=CARRY)
    assert named.returncode == 1, named.stderr
    assert [line.split(" ", 2)[:2] for line in named.stdout.splitlines()] == [
        ["models/train.py:5:21:", "HS101"], ["models/train.py:7:5:", "HS102"]]
    plain = run(*flake8, "-", cwd=tmp_path, stdin=CARRY)
    assert plain.stdout.startswith("stdin:5:21: HS101")
