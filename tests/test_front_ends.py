"""One answer in every front end: ``hs-lint check`` on a directory, on each file named, on each file's text as
standard input (``--stdin-filename``), and flake8 on the directory, over every fixture (bad, good and the
projects), with the defaults and with a ``[tool.hs-lint]`` that selects, ignores and excludes."""

from __future__ import annotations

import io
import json
import shutil
import sys
import zlib
from pathlib import Path

import pytest

from conftest import FIXTURES, flake8, hs_lint, run
from hs_lint import cli

DEFAULTS = '[project]\nname = "fixtures"\n'
CONFIGURED = """\
[tool.hs-lint]
extend-select = ["HS502", "HS214"]
ignore = ["HS102"]
per-file-ignores = { "fixtures/bad/shape_*.py" = ["HS2"] }
exclude = ["fixtures/bad/clip_order.py"]
"""
EXCLUDED = "fixtures/bad/clip_order.py"
Found = set[tuple[str, int, int, str]]


def project(root, pyproject: str, share: int = 1):
    """The fixtures under ``fixtures/`` of a project whose pyproject.toml is ``pyproject``: all of them, or the
    projects and one single-file fixture in ``share`` (fixed by name)."""
    def ignored(folder, names):
        if share == 1 or "projects" in Path(folder).parts:
            return []
        return [n for n in names if n.endswith(".py") and zlib.crc32(n.encode()) % share != 0]

    shutil.copytree(FIXTURES, root / "fixtures", ignore=ignored)
    (root / "pyproject.toml").write_text(pyproject)
    return root


# The default run checks a quarter of the single-file fixtures (and every project) with the defaults; -m slow
# checks every fixture, with the defaults and with the configuration.
SAMPLE = pytest.param((DEFAULTS, 4), id="defaults-sample")
ALL_DEFAULTS = pytest.param((DEFAULTS, 1), id="defaults", marks=pytest.mark.slow)
ALL_CONFIGURED = pytest.param((CONFIGURED, 1), id="pyproject", marks=pytest.mark.slow)


@pytest.fixture
def tree(request, tmp_path):
    return project(tmp_path, *request.param)


def files(tree) -> list[str]:
    """Every fixture but those ``exclude`` leaves out (a file named on the command line is always checked)."""
    excluded = {EXCLUDED} if (tree / "pyproject.toml").read_text() == CONFIGURED else set()
    return sorted(name for p in (tree / "fixtures").rglob("*.py") if (name := str(p.relative_to(tree))) not in excluded)


def from_json(stdout: str) -> Found:
    return {(f["path"], f["line"], f["col"], f["code"]) for f in json.loads(stdout)}


def cli_on_the_directory(tree) -> Found:
    result = hs_lint("check", "--no-cache", "--format", "json", "fixtures", cwd=tree)
    assert result.returncode in (0, 1), result.stderr
    return from_json(result.stdout)


def flake8_on_the_directory(tree) -> Found:
    result = run(sys.executable, "-m", "flake8", "--format=%(path)s|%(row)d|%(col)d|%(code)s", "fixtures", cwd=tree)
    assert result.returncode in (0, 1), result.stderr
    rows = (line.split("|") for line in result.stdout.splitlines())
    return {(path.removeprefix("./"), int(row), int(col), code) for path, row, col, code in rows if code.startswith("HS")}


def stdin_in_process(tree, monkeypatch, capsys) -> Found:
    """Each file's text on standard input, through the CLI's own entry point (one process for all of them)."""
    monkeypatch.chdir(tree)
    found: Found = set()
    for name in files(tree):
        text = (tree / name).read_bytes()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
        assert cli.main(["check", "--format", "json", "--stdin-filename", name, "-"]) in (0, 1)
        found |= from_json(capsys.readouterr().out)
    return found


@pytest.mark.parametrize("tree", [SAMPLE, ALL_DEFAULTS, ALL_CONFIGURED], indirect=True)
def test_the_cli_each_file_stdin_and_flake8_agree(tree, monkeypatch, capsys):
    expected = cli_on_the_directory(tree)
    assert {code for *_, code in expected} >= {"HS101", "HS201", "HS401"}  # in the sample too
    if (tree / "pyproject.toml").read_text() == CONFIGURED:
        codes = {code for *_, code in expected}
        assert {"HS502", "HS214"} <= codes and "HS102" not in codes
        assert not any(p == EXCLUDED or (p.startswith("fixtures/bad/shape_") and c.startswith("HS2"))
                       for p, _, _, c in expected)
    else:
        assert not {code for *_, code in expected} & {"HS502", "HS214"}
    named = hs_lint("check", "--no-cache", "--format", "json", *files(tree), cwd=tree)
    assert from_json(named.stdout) == expected, "each file named"
    assert stdin_in_process(tree, monkeypatch, capsys) == expected, "standard input"
    assert flake8_on_the_directory(tree) == expected, "flake8"


# Two processes per file: the sample with the defaults, every file with the configuration (which reads more).
@pytest.mark.slow
@pytest.mark.parametrize("tree", [SAMPLE, ALL_CONFIGURED], indirect=True)
def test_stdin_and_flake8_on_each_file_in_its_own_process_agree(tree):
    """What an editor runs: one process per buffer, through hs-lint and through flake8."""
    expected = cli_on_the_directory(tree)
    for name in files(tree):
        text = (tree / name).read_text(encoding="utf-8")
        ours = hs_lint("check", "--format", "json", "--stdin-filename", name, "-", cwd=tree, stdin=text)
        assert from_json(ours.stdout) == {f for f in expected if f[0] == name}, name
        theirs = run(sys.executable, "-m", "flake8", "--format=%(path)s|%(row)d|%(col)d|%(code)s",
                     "--stdin-display-name", name, "-", cwd=tree, stdin=text)
        rows = {tuple(line.split("|")) for line in theirs.stdout.splitlines()}
        assert {(p, int(r), int(c), k) for p, r, c, k in rows if k.startswith("HS")} == \
            {f for f in expected if f[0] == name}, name


def test_flake8_own_options_name_hs_codes_and_win(tmp_path):
    """``--select``/``--extend-ignore`` as the CLI's flags; ``--ignore E501`` leaves [tool.hs-lint] alone."""
    tree = project(tmp_path, CONFIGURED)
    for flake8_args, cli_args in [(["--select", "HS1,HS21,HS5,HS6"], ["--select", "HS1,HS21,HS5,HS6"]),
                                  (["--extend-ignore", "HS3"], ["--ignore", "HS102,HS3"]),
                                  (["--ignore", "E501"], [])]:
        result = run(sys.executable, "-m", "flake8", *flake8_args, "--format=%(path)s|%(row)d|%(col)d|%(code)s",
                     "fixtures/bad", cwd=tree)
        rows = (line.split("|") for line in result.stdout.splitlines())
        theirs = {(p.removeprefix("./"), int(r), int(c), k) for p, r, c, k in rows if k.startswith("HS")}
        ours = hs_lint("check", "--no-cache", "--format", "json", *cli_args, "fixtures/bad", cwd=tree)
        assert theirs == from_json(ours.stdout), flake8_args


def test_flake8_reads_extend_select_and_a_broken_pyproject_is_hs001(tmp_path):
    shutil.copy(FIXTURES / "bad" / "clip_missing.py", tmp_path / "t.py")
    assert "HS502" not in flake8("t.py", cwd=tmp_path).stdout
    (tmp_path / "pyproject.toml").write_text('[tool.hs-lint]\nextend-select = ["HS502"]\n')
    assert "t.py:16:9: HS502 " in flake8("t.py", cwd=tmp_path).stdout
    (tmp_path / "pyproject.toml").write_text('[tool.hs-lint]\nselct = ["HS502"]\n')
    result = run(sys.executable, "-m", "flake8", "t.py", cwd=tmp_path)
    assert "t.py:1:1: HS001 hs-lint cannot run: " in result.stdout
    assert "unknown key 'selct'; did you mean 'select'?" in result.stdout
