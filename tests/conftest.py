"""Shared helpers: run the engine, the CLI and real flake8 the way users do."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
import sys
from pathlib import Path

import pytest

from hs_lint.engine import Linter
from hs_lint.project.index import Projects
from hs_lint.rules import all_rules

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXPECT = re.compile(r"#\s*expect:\s*(HS\d{3}(?:\s*,\s*HS\d{3})*)")
DEFAULT_CODES = frozenset(code for code, rule in all_rules().items() if rule.default_enabled)


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.py"))


def expected_marks(path: Path) -> set[tuple[int, str]]:
    """``# expect: HS101, HS102`` on a line -> {(line, "HS101"), (line, "HS102")}."""
    marks = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = EXPECT.search(line)
        if match:
            marks.update((number, code.strip()) for code in match.group(1).split(","))
    return marks


def codes_for(path: Path) -> frozenset[str]:
    """The default rules plus any advisory rule the fixture marks (advisory rules are opt-in)."""
    return DEFAULT_CODES | {code for _, code in expected_marks(path)}


def lint(source: str, codes=None, path: Path | None = None) -> list:
    """The engine on ``source``; a file of a fixture project is read with its project's facts, as the CLI does."""
    if path is not None and FIXTURES / "projects" in path.parents:
        return Linter(codes).check_source(source, str(path), Projects().view(path))
    return Linter(codes).check_source(source, "example.py")


def codes_in(tmp_path: Path, files: dict[str, str], checked: str) -> list[tuple[int, str]]:
    """Write a project of ``files`` (with a root marker) and check one of them as the CLI would: (line, code)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pyproject.toml").write_text("")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    path = tmp_path / checked
    found = Linter(sorted(all_rules())).check_source(path.read_text(), str(path), Projects().view(path))
    return sorted((f.line, f.code) for f in found)


def run(*args: str, cwd: Path = ROOT, stdin: str | None = None, timeout: float | None = 600) -> subprocess.CompletedProcess:
    """``timeout`` only keeps a hung build from blocking the suite; the long sweeps pass None."""
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, input=stdin, timeout=timeout)


def hs_lint(*args: str, cwd: Path = ROOT, timeout: float | None = 600,
            stdin: str | None = None) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "hs_lint.cli", *args, cwd=cwd, timeout=timeout, stdin=stdin)


def flake8(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return run(sys.executable, "-m", "flake8", "--isolated", *args, cwd=cwd)


# A small script with one HS101 (line 5) and one HS102 (line 7), for the CLI and output tests.
CARRY = textwrap.dedent(
    """\
    import torch.nn as nn
    rnn = nn.GRU(4, 8)
    h = None
    for x in xs:
        out, h = rnn(x, h)
        out.sum().backward()
        h.cpu()
    """
)


def recurrent_source(size: int) -> str:
    """A generated recurrent file of about ``size`` characters: the fixtures, renamed and repeated."""
    sources = [path.read_text(encoding="utf-8") for path in fixture_files()]
    parts: list[str] = []
    length = 0
    while length < size:
        i = len(parts)
        text = re.sub(r"\b(hidden|model|rnn|lstm|train|evaluate|Model|Net)\b", rf"\g<1>_{i}", sources[i % len(sources)])
        parts.append(text)
        length += len(text) + 1
    return "\n".join(parts)


@pytest.fixture(autouse=True, scope="session")
def _user_cache(tmp_path_factory):
    """Files outside any project cache in the user's cache folder: the tests' own, not the real one."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))


@pytest.fixture
def project(tmp_path):
    """A directory with that script (train.py) and a clean one (clean.py)."""
    (tmp_path / "train.py").write_text(CARRY)
    (tmp_path / "clean.py").write_text("import torch\nprint(torch.zeros(3))\n")
    return tmp_path


@pytest.fixture(scope="session")
def flake8_on_fixtures() -> dict[str, set[tuple[int, int, str]]]:
    """One real flake8 run over every fixture with every HS rule: {path: {(line, col, code)}}."""
    result = flake8("--select=HS", "--format=%(path)s|%(row)d|%(col)d|%(code)s", "fixtures")
    assert result.returncode in (0, 1), result.stderr
    found: dict[str, set[tuple[int, int, str]]] = {}
    for line in result.stdout.splitlines():
        path, row, col, code = line.split("|")
        found.setdefault(str(Path(path)), set()).add((int(row), int(col), code))
    return found


def drain_terminal(controller: int, process: subprocess.Popen) -> str:
    """Everything a process wrote to the pseudo-terminal whose controller is ``controller``, once it exits."""
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.communicate(timeout=300)
    os.close(controller)
    return b"".join(chunks).decode()
