"""Bad input: each case gets one clear line, the right exit code, and every other file is still checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import flake8, hs_lint, lint
from hs_lint import cli, scan
from hs_lint.files import Unreadable
from hs_lint.flake8_plugin import HiddenStatePlugin

CARRY = (
    "import torch.nn as nn\n"
    "rnn = nn.GRU(4, 8)\n"
    "h = None\n"
    "for x in xs:\n"
    "    out, h = rnn(x, h)\n"
    "    out.sum().backward()\n"
)
DEEP_SUM = "y = " + " + ".join(["h"] * 1000) + "\n"  # 1000 levels deep in the syntax tree


def _project(tmp_path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "train.py").write_text(CARRY)  # the file that must still be checked
    return tmp_path


def _check(tmp_path: Path, *args: str):
    result = hs_lint("check", "--no-cache", *args, cwd=tmp_path)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _assert_rest_checked(result) -> None:
    assert "train.py:5:21: HS101" in result.stdout


@pytest.mark.parametrize(
    ("name", "data", "line"),
    [
        ("crlf.py", CARRY.replace("\n", "\r\n").encode(), "crlf.py:5:21: HS101"),
        ("cr.py", CARRY.replace("\n", "\r").encode(), "cr.py:5:21: HS101"),
        ("bom.py", b"\xef\xbb\xbf" + CARRY.encode(), "bom.py:5:21: HS101"),
        ("latin1.py", ("# -*- coding: latin-1 -*-\n# caf\xe9\n" + CARRY).encode("latin-1"), "latin1.py:7:21: HS101"),
        ("tabs.py", CARRY.replace("    ", "\t").encode(), "tabs.py:5:18: HS101"),
    ],
)
def test_line_endings_encodings_and_tabs_are_read_like_python_and_flake8(tmp_path, name, data, line):
    result = _check(_project(tmp_path, {name: data}), ".")
    assert result.returncode == 1
    assert line in result.stdout
    _assert_rest_checked(result)
    theirs = flake8("--select=HS", name, cwd=tmp_path)
    assert theirs.stdout.startswith(line), theirs.stdout + theirs.stderr


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"x = '\xff'\n" + CARRY.encode(),
         "bad.py:1:6: cannot decode: byte 0xff is not UTF-8 and no other encoding is declared"),
        (b"# coding: ascii\nx = '\xe9'\n", "bad.py:2:6: cannot decode: byte 0xe9 is not valid ascii"),
        (b"# coding: klingon\nx = 1\n", "bad.py:1:1: cannot decode: unknown encoding: klingon"),
        (b"lstm = nn.LSTM(4, 8)\x00\n", "bad.py:1:1: cannot parse:"),
        (b"lstm = nn.LSTM(:\n", "bad.py:1:16: cannot parse:"),
    ],
)
def test_undecodable_or_unparsable_file_is_one_hs002_line_and_exit_2(tmp_path, data, message):
    """Reported once: one HS002 finding at one position on stdout, nothing more about it on stderr."""
    result = _check(_project(tmp_path, {"bad.py": data}), ".")
    assert result.returncode == 2
    assert not [line for line in result.stderr.splitlines() if "bad.py" in line], result.stderr
    reported = [line for line in result.stdout.splitlines() if "bad.py" in line]
    where, why = message.split(": ", 1)
    assert len(reported) == 1 and f"{where}: HS002 {why}" in reported[0], result.stdout
    _assert_rest_checked(result)


def test_unparsable_file_under_statistics_is_reported_on_stderr_once(tmp_path):
    """Where the output does not list findings (--statistics, --diff), the HS002 line goes to stderr."""
    result = _check(_project(tmp_path, {"bad.py": b"lstm = nn.LSTM(:\n"}), "--statistics", ".")
    assert result.returncode == 2
    assert len([line for line in result.stderr.splitlines() if "bad.py:1:16: HS002 cannot parse" in line]) == 1
    assert "bad.py" not in result.stdout


def test_empty_and_comment_only_files_are_clean(tmp_path):
    for name, text in {"empty.py": "", "blank.py": "\n\n  \n", "comment.py": "# LSTM notes\n"}.items():
        (tmp_path / name).write_text(text)
    result = _check(tmp_path, ".")
    assert (result.returncode, result.stdout) == (0, "")
    assert "3 files checked" in result.stderr


def test_deeply_nested_expression_is_reported_not_crashed_in_cli_engine_and_plugin(tmp_path):
    result = _check(_project(tmp_path, {"deep.py": (CARRY + DEEP_SUM).encode()}), ".")
    assert result.returncode == 2
    assert "deep.py:1:1: HS002 not analysed: expressions are nested too deeply" in result.stdout
    _assert_rest_checked(result)
    with pytest.raises(Exception, match="nested too deeply") as raised:
        lint(CARRY + DEEP_SUM)
    assert type(raised.value).__name__ == "SourceError"
    lines = (CARRY + DEEP_SUM).splitlines(keepends=True)
    assert list(HiddenStatePlugin(None, lines, "deep.py").run()) == []


@pytest.mark.parametrize("opener, closer", [("(", ")"), ("[", "]"), ("f(", ")"), ("-", "")])
def test_thousand_level_nesting_of_each_kind_never_raises(opener, closer):
    source = CARRY + "y = " + opener * 1000 + "h" + closer * 1000 + "\n"
    try:
        lint(source)
    except Exception as exc:  # noqa: BLE001 - only the engine's own, clear error is allowed
        assert type(exc).__name__ == "SourceError", repr(exc)
    assert isinstance(list(HiddenStatePlugin(None, source.splitlines(keepends=True), "d.py").run()), list)


def test_two_megabyte_files(tmp_path):
    """Neither is read (``stat`` gives the size first): each is reported not analysed, recurrent code or not."""
    filler = "values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n" * 32_000
    (tmp_path / "plain.py").write_text(filler)
    (tmp_path / "model.py").write_text(CARRY + filler)
    assert os.path.getsize(tmp_path / "plain.py") > 2_000_000
    result = _check(_project(tmp_path, {}), ".")
    assert result.returncode == 2
    for name in ("model.py", "plain.py"):
        assert f"{name}:1:1: HS002 not analysed: 2.1 MB is more than the 1 MB hs-lint analyses per file" \
            in result.stdout
    _assert_rest_checked(result)


def test_broken_symlinks_and_loops_named_or_walked(tmp_path):
    os.symlink("nowhere.py", tmp_path / "dangling.py")
    os.symlink("loop_b.py", tmp_path / "loop_a.py")
    os.symlink("loop_a.py", tmp_path / "loop_b.py")
    os.symlink(".", tmp_path / "self_dir")  # a directory loop: never followed
    walked = _check(_project(tmp_path, {}), ".")
    assert walked.returncode == 2
    assert "dangling.py: cannot read: No such file or directory" in walked.stderr
    assert "loop_a.py: cannot read: Too many levels of symbolic links" in walked.stderr
    _assert_rest_checked(walked)
    named = _check(tmp_path, "dangling.py", "loop_a.py", "train.py")
    assert "dangling.py: cannot check: broken symbolic link" in named.stderr
    assert "loop_a.py: cannot check: symbolic link loop" in named.stderr
    _assert_rest_checked(named)


def test_unreadable_file(tmp_path, monkeypatch, capsys):
    """Tests may run as root, which reads anything: make one file unreadable the way the OS would."""
    _project(tmp_path, {"secret.py": CARRY.encode()})
    real = scan.read_source

    def read_source(path, *args):
        if Path(path).name == "secret.py":
            raise Unreadable("cannot read: Permission denied")
        return real(path, *args)

    monkeypatch.setattr(scan, "read_source", read_source)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "--no-cache", "-j", "1", "."]) == 2
    out, err = capsys.readouterr()
    assert "hs-lint: error: secret.py: cannot read: Permission denied" in err
    assert "train.py:5:21: HS101" in out


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path):
    _project(tmp_path, {"secret.py": CARRY.encode()})
    (tmp_path / "secret.py").chmod(0)
    result = _check(tmp_path, ".")
    assert "secret.py: cannot read: Permission denied" in result.stderr
    _assert_rest_checked(result)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[tool]\nhs-lint = 3\n", "[tool.hs-lint] must be a table"),
        ('[tool.hs-lint]\nper-file-ignores = ["x"]\n', "per-file-ignores must be a table"),
        ('[tool.hs-lint]\nexclude = [1]\n', "exclude must be a list of strings"),
    ],
)
def test_invalid_configuration_is_one_line_and_exit_2(tmp_path, toml, message):
    (tmp_path / "pyproject.toml").write_text(toml)
    result = _check(_project(tmp_path, {}), ".")
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


def test_jobs_must_be_a_positive_number(tmp_path):
    result = _check(tmp_path, "-j", "0", ".")
    assert result.returncode == 2
    assert "expected a number of processes (1 or more), got '0'" in result.stderr


def test_python_syntax_warnings_in_scanned_code_are_not_printed(tmp_path):
    (tmp_path / "warns.py").write_text("out, h = 1(x, h)\nassert (h, 'never empty')\nloss.backward()\n")
    result = _check(tmp_path, "warns.py")
    assert result.returncode == 0
    assert "Warning" not in result.stderr
