"""Hostile input never takes the run down (issue 24): parser-killing depth, a parse past its budget, special
files, corrupt cache entries, oversized files, where the cache lives, --fix on read-only and hard-linked files,
control characters in file names. Every input is generated; nothing here depends on the machine's speed.
"""

from __future__ import annotations

import ctypes
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from conftest import CARRY, hs_lint, run
from hs_lint import scan
from hs_lint.config import Config
from hs_lint.flake8_plugin import HiddenStatePlugin
from hs_lint.limits import MAX_LEVELS, deepest
from hs_lint.workers import Died, Worker

PARSER_KILLERS = {  # each of these killed libcst's parser (SIGSEGV) before the pre-check
    "brackets": "y = " + "(" * 1500 + "h" + ")" * 1500 + "\n",
    "not": "y = " + "not " * 20_000 + "h\n",
    "plus": "y = " + " + ".join(["h"] * 8000) + "\n",
}


def _check(cwd: Path, *args: str):
    result = hs_lint("check", "--no-cache", *args, cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.mark.parametrize("kind", sorted(PARSER_KILLERS))
def test_parser_killing_depth_is_not_analysed_with_its_reason_and_the_rest_is_checked(tmp_path, kind):
    (tmp_path / "deep.py").write_text(CARRY + PARSER_KILLERS[kind])
    (tmp_path / "train.py").write_text(CARRY)
    for jobs in ("1", "2"):
        result = _check(tmp_path, "-j", jobs, ".")
        assert result.returncode == 2, result.stderr
        assert "deep.py:1:1: HS002 not analysed: expressions are nested too deeply" in result.stdout
        assert f"more than the {MAX_LEVELS} hs-lint analyses" in result.stdout
        assert "train.py:5:21: HS101" in result.stdout
    lines = (CARRY + PARSER_KILLERS[kind]).splitlines(keepends=True)
    assert list(HiddenStatePlugin(None, lines, str(tmp_path / "deep.py")).run()) == []  # no HS001, no crash


def test_the_depth_measure_counts_brackets_and_chains_but_not_flat_ones():
    assert deepest("y = " + "(" * 700 + "h" + ")" * 700 + "\n") == (700, 1)
    assert deepest("x = 1\ny = " + "-" * 600 + "h\n") == (600, 2)
    assert deepest("y = h" + "()" * 600 + "\n")[0] == 601  # 600 calls, and the innermost bracket
    assert deepest("y = " + " and ".join(["h"] * 5000) + "\n")[0] == 0  # libcst keeps it flat
    assert deepest("y = [" + ", ".join(["-h"] * 5000) + "]\n")[0] == 2  # a comma ends each chain
    assert deepest("y = " + "(" * 2000 + "\n")[0] == 2000  # measured up to tokenize's error


def test_a_worker_that_dies_costs_its_call_only_and_is_replaced():
    worker = Worker()
    with pytest.raises(Died) as died:
        worker.call(None, ctypes.string_at, 0)  # SIGSEGV, as libcst's parser on too deep a tree
    assert "SIGSEGV" in str(died.value) and not died.value.timed_out
    assert worker.call(None, len, "abc") == 3  # a new process
    worker.stop()


def test_the_kernel_stops_a_call_that_cannot_be_interrupted_at_its_budget():
    """One C call that no Python signal handler can interrupt stands in for the native parse."""
    worker = Worker()
    with pytest.raises(Died) as died:
        worker.call(0.01, sum, range(10**15))
    assert died.value.timed_out
    worker.stop()


class CrashingChecker(scan.Checker):
    """Dies on ``f2.py`` the way libcst's parser does (the workers import this module: PYTHONPATH)."""

    def check_bytes(self, name, data):
        if name.endswith("f2.py"):
            ctypes.string_at(0)
        return super().check_bytes(name, data)


def test_a_dead_worker_is_hs001_for_its_file_only(tmp_path, monkeypatch):
    """Serial and parallel: the other files' results are kept (the run used to end in BrokenProcessPool / 139)."""
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    files = [tmp_path / f"f{i}.py" for i in range(6)]
    for path in files:
        path.write_text(CARRY)
    for jobs in (1, 2):
        outcomes = scan.analyse([(str(p), p.read_bytes()) for p in files], CrashingChecker(Config()), jobs)
        codes = [[f.code for f in outcome.findings] for outcome in outcomes]
        assert codes[2] == ["HS001"] and "died (SIGSEGV)" in outcomes[2].findings[0].message
        assert all("HS101" in found for i, found in enumerate(codes) if i != 2)


@pytest.fixture
def special(tmp_path):
    (tmp_path / "train.py").write_text(CARRY)
    os.mkfifo(tmp_path / "pipe.py")
    os.symlink("/dev/zero", tmp_path / "zero.py")
    return tmp_path


def test_fifos_and_devices_in_a_walked_folder_are_reported_once_never_read(special):
    """A FIFO used to hang the run forever; a link to /dev/zero to grow without limit."""
    result = _check(special, ".")
    assert result.returncode == 2
    assert "train.py:5:21: HS101" in result.stdout
    errors = result.stderr.splitlines()
    assert "hs-lint: error: pipe.py: not checked: a FIFO, not a regular file" in errors
    assert "hs-lint: error: zero.py: not checked: a symbolic link to /dev/zero, outside the project" in errors
    assert sum("pipe.py" in line for line in errors) == sum("zero.py" in line for line in errors) == 1


def test_fifos_and_devices_named_are_refused_with_the_right_reason(special):
    result = _check(special, "pipe.py", "zero.py", "train.py")
    assert "pipe.py: cannot check: a FIFO, not a regular file" in result.stderr
    assert "zero.py: cannot check: a character device, not a regular file" in result.stderr
    assert "train.py:5:21: HS101" in result.stdout


_REPACKAGE = """\
from torch.autograd import Variable


def repackage(h):
    if type(h) == Variable:
        return Variable(h.data)
    return tuple(repackage(v) for v in h)
"""


def test_questions_about_the_whole_project_never_read_fifos_or_devices(special):
    """HS106 asks which modules import this one (every module's text is searched): a FIFO there used to block
    the run forever, and a link to /dev/zero would be read without end."""
    (special / "pyproject.toml").write_text("")
    (special / "utils.py").write_text(_REPACKAGE)
    result = _check(special, "utils.py", "train.py")
    assert "utils.py:5:8: HS106" in result.stdout and "train.py:5:21: HS101" in result.stdout


def test_a_link_to_a_file_inside_the_project_is_checked(tmp_path):
    (tmp_path / "real.py").write_text(CARRY)
    os.symlink("real.py", tmp_path / "alias.py")
    assert "alias.py:5:21: HS101" in _check(tmp_path, ".").stdout


def test_an_oversized_file_is_refused_by_its_size_before_it_is_read(tmp_path, monkeypatch):
    big = tmp_path / "big.py"
    with open(big, "wb") as stream:
        stream.truncate(5_000_000)  # 5 MB, sparse: what a read would cost is never paid
    monkeypatch.setattr(os, "read", lambda *a: pytest.fail("read a file over the limit"))
    outcome = scan.read(big)
    assert [f.message for f in outcome.findings] == [
        "not analysed: 5.0 MB is more than the 1 MB hs-lint analyses per file; exclude it or split it"]


@pytest.mark.parametrize("entry", [None, 0, [], "x", {"findings": [["a", "a", "a", "a", "a", "a", "a", "a", {}]],
                                                      "errors": [], "used": {}},
                                   {"findings": [[True, 1, 1, 1, "HS101", "n", "m", "", {}]], "errors": [], "used": {}},
                                   {"findings": [], "errors": [": a\nb"], "used": {}},
                                   {"findings": [], "errors": [], "used": []}, {"findings": []}])
def test_a_cache_entry_of_the_wrong_shape_is_dropped_and_recomputed(tmp_path, entry):
    """``null`` used to crash every later run; wrong types printed ``path:a:a: a a``."""
    (tmp_path / "setup.cfg").write_text("")
    (tmp_path / "train.py").write_text(CARRY)
    first = hs_lint("check", ".", cwd=tmp_path)
    [stored] = (tmp_path / ".hs_lint_cache").glob("*/*.json")
    stored.write_text(json.dumps(entry))
    again = hs_lint("check", ".", cwd=tmp_path)
    assert (again.returncode, again.stdout, again.stderr) == (first.returncode, first.stdout, first.stderr)
    assert json.loads(stored.read_text()) != entry  # written anew


def test_the_cache_lives_in_the_marked_project_else_in_the_user_cache_folder(tmp_path, monkeypatch):
    """The flake8 plugin used to write .hs_lint_cache/ into site-packages (a folder without a marker)."""
    from hs_lint.project.store import cache_directory

    user = tmp_path / "user"
    monkeypatch.setenv("XDG_CACHE_HOME", str(user))
    bare = tmp_path / "lib" / "site-packages" / "pkg"
    bare.mkdir(parents=True)
    assert cache_directory(bare) == user / "hs-lint"
    (bare / "setup.py").write_text("")  # an installed package's marker is no project either
    assert cache_directory(bare) == user / "hs-lint"
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    assert cache_directory(project / "src") == project / ".hs_lint_cache"


def test_flake8_writes_no_cache_into_a_folder_without_a_marker(tmp_path):
    folder = tmp_path / "site-packages"
    folder.mkdir()
    (folder / "train.py").write_text(CARRY)
    (folder / "model.py").write_text("import torch.nn as nn\nrnn = nn.LSTM(4, 8)\n")
    result = run(sys.executable, "-m", "flake8", "--isolated", "--select=HS", "train.py", cwd=folder)
    assert "HS101" in result.stdout, result.stdout + result.stderr
    assert not (folder / ".hs_lint_cache").exists()


def test_fix_refuses_a_read_only_file_and_reports_its_findings(tmp_path):
    (tmp_path / "train.py").write_text(CARRY)
    (tmp_path / "train.py").chmod(0o444)
    result = hs_lint("check", "--fix", "train.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "train.py: read-only; not fixed" in result.stderr
    assert "train.py:5:21: HS101" in result.stdout
    assert (tmp_path / "train.py").read_text() == CARRY
    assert stat.S_IMODE((tmp_path / "train.py").stat().st_mode) == 0o444


def test_fix_keeps_a_hard_link(tmp_path):
    (tmp_path / "train.py").write_text(CARRY)
    os.link(tmp_path / "train.py", tmp_path / "other.py")
    result = hs_lint("check", "--fix", "train.py", cwd=tmp_path)
    assert "fixed" in result.stderr
    assert (tmp_path / "train.py").stat().st_ino == (tmp_path / "other.py").stat().st_ino
    assert "h.detach()" in (tmp_path / "other.py").read_text()


def test_control_characters_in_file_names_are_escaped_in_text_output(tmp_path):
    (tmp_path / "a\nb.py").write_text(CARRY)
    (tmp_path / "c\x1bd.py").write_text("lstm = nn.LSTM(:\n")
    result = _check(tmp_path, ".")
    assert "a\\nb.py:5:21: HS101" in result.stdout.splitlines()[0]
    assert "c\\x1bd.py:1:16: HS002" in result.stdout
    assert "\x1b" not in result.stdout + result.stderr
    assert all(line.startswith(("a\\nb.py:", "c\\x1bd.py:")) for line in result.stdout.splitlines())
