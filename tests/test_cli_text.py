"""The text report for a person: --show-source, colour, -q/-qq, --statistics as JSON, paths with nothing to check."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

import pytest

from conftest import CARRY, ROOT, drain_terminal, hs_lint

ESC = "\x1b["


def test_show_source_prints_the_line_and_a_caret_under_the_column(project):
    result = hs_lint("check", "--show-source", "train.py", cwd=project)
    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert lines[0].startswith("train.py:5:21: HS101")
    assert lines[1:3] == ["    out, h = rnn(x, h)", " " * 20 + "^"]
    assert lines[3].startswith("train.py:7:5: HS102")
    assert lines[4:6] == ["    h.cpu()", "    ^^^^^^^"]  # the whole call, end column exclusive
    assert ESC not in result.stdout  # piped: no colour


def test_show_source_keeps_tabs_and_counts_wide_characters(tmp_path):
    (tmp_path / "t.py").write_text(CARRY.replace("    ", "\t").replace("\th.cpu()", "\t\u540d = 1; h.cpu()"))
    lines = hs_lint("check", "--show-source", "--select", "HS102", "t.py", cwd=tmp_path).stdout.splitlines()
    assert lines[1:3] == ["\t\u540d = 1; h.cpu()", "\t" + " " * 8 + "^" * 7]  # 名 takes two columns


def test_show_source_of_stdin_comes_from_the_buffer(tmp_path):
    (tmp_path / "t.py").write_text("# a different file on disk\n")
    result = subprocess.run([sys.executable, "-m", "hs_lint.cli", "check", "--show-source", "--stdin-filename",
                             "t.py", "-"], cwd=tmp_path, input=CARRY, capture_output=True, text=True)
    assert result.stdout.splitlines()[1] == "    out, h = rnn(x, h)"


def test_color_always_and_never(project):
    colored = hs_lint("check", "--color", "always", "--show-source", "train.py", cwd=project).stdout
    assert f"{ESC}1;31mHS101{ESC}0m" in colored and f"{ESC}36m[*]{ESC}0m" in colored
    assert f"{ESC}1;31m^{ESC}0m" in colored
    plain = hs_lint("check", "--color", "never", "train.py", cwd=project).stdout
    assert ESC not in plain
    assert plain == hs_lint("check", "train.py", cwd=project).stdout


def _stdout_on_a_tty(cwd, *args: str, env: dict[str, str]) -> str:
    controller, terminal = pty.openpty()
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-m", "hs_lint.cli", "check", *args], cwd=cwd, stdout=terminal,
                               stderr=subprocess.PIPE, env=env)
    os.close(terminal)
    return drain_terminal(controller, process)


@pytest.mark.parametrize(
    ("args", "env", "colored"),
    [
        ((), {"NO_COLOR": "", "TERM": "xterm"}, True),
        ((), {"NO_COLOR": "1", "TERM": "xterm"}, False),
        (("--color", "always"), {"NO_COLOR": "1", "TERM": "xterm"}, True),  # an explicit flag beats NO_COLOR
        (("--color", "never"), {"NO_COLOR": "", "TERM": "xterm"}, False),
        (("--output-file", "out.txt"), {"NO_COLOR": "", "TERM": "xterm"}, False),
    ],
)
def test_auto_colour_only_on_a_terminal_without_no_color(project, args, env, colored):
    shown = _stdout_on_a_tty(project, *args, "train.py", env=env)
    written = (project / "out.txt").read_text() if "--output-file" in args else shown
    assert "HS101" in written
    assert (ESC in written) is colored


def test_quiet_drops_the_summary_and_qq_everything_but_errors(project):
    quiet = hs_lint("check", "-q", ".", cwd=project)
    assert quiet.returncode == 1 and "HS101" in quiet.stdout and quiet.stderr == ""
    silent = hs_lint("check", "-qq", ".", cwd=project)
    assert (silent.returncode, silent.stdout, silent.stderr) == (1, "", "")
    written = hs_lint("check", "-qq", "--output-file", "out.txt", ".", cwd=project)
    assert written.stdout == "" and "HS101" in (project / "out.txt").read_text()
    broken = hs_lint("check", "-qq", "nope.py", cwd=project)
    assert broken.returncode == 2 and "nope.py: cannot check" in broken.stderr  # exit 2 always says why


def test_statistics_honours_format_json(project):
    (project / "more.py").write_text(CARRY)
    result = hs_lint("check", "--statistics", "--format", "json", ".", cwd=project)
    assert result.returncode == 1
    assert json.loads(result.stdout) == [
        {"code": "HS101", "name": "hidden-state-carried-without-detach", "count": 2, "fixable": 2},
        {"code": "HS102", "name": "discarded-result", "count": 2, "fixable": 2},
    ]
    text = hs_lint("check", "--statistics", ".", cwd=project).stdout
    assert text.splitlines()[0].split() == ["2", "HS101", "[*]", "hidden-state-carried-without-detach"]
    sarif = hs_lint("check", "--statistics", "--format", "sarif", ".", cwd=project)
    assert sarif.returncode == 2 and "--statistics prints text or json, not sarif" in sarif.stderr


@pytest.mark.parametrize("content", [{}, {"notes.txt": "x\n", "sub/README.md": "y\n"}])
def test_a_directory_without_python_files_says_so(tmp_path, content):
    for name, text in content.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    result = hs_lint("check", ".", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")
    assert "hs-lint: warning: .: no Python files to check\n" in result.stderr
    assert hs_lint("check", "-qq", ".", cwd=tmp_path).stderr == ""


def test_a_directory_whose_files_are_all_excluded_says_so(project):
    result = hs_lint("check", "--exclude", "*.py", ".", cwd=project)
    assert result.returncode == 0
    assert ".: no Python files to check (all excluded)" in result.stderr


def test_one_empty_directory_among_others_is_named(project):
    (project / "empty").mkdir()
    result = hs_lint("check", "empty", ".", cwd=project)
    assert result.returncode == 1 and "HS101" in result.stdout
    assert "warning: empty: no Python files to check" in result.stderr
    assert "warning: .:" not in result.stderr
