"""The pre-commit hook, through the real ``pre-commit try-repo`` against this checkout.

try-repo clones the checkout (uncommitted changes included, as a temporary commit) and installs it
into pre-commit's own virtualenv with pip: that must work with nothing but the package index
(setuptools, libcst, flake8) and without torch. One pre-commit home for the module, so the
environment is built once when the checkout is clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, ROOT

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="try-repo needs git and a git checkout"
)


def test_hook_definition_runs_hs_lint_check_on_python_files():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == ["hs-lint"]
    assert hooks[0]["entry"] == "hs-lint check"
    assert hooks[0]["types"] == ["python"] and hooks[0]["language"] == "python"


@pytest.fixture(scope="module")
def environ(tmp_path_factory) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PRE_COMMIT", "GIT_DIR", "GIT_INDEX_FILE")}
    env["PRE_COMMIT_HOME"] = str(tmp_path_factory.mktemp("pre-commit-home"))
    return env


def _repo(tmp_path: Path, files: dict[str, str]) -> Path:
    repo = tmp_path / "user-project"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    for name, text in files.items():
        (repo / name).write_text(text, encoding="utf-8")
    subprocess.run(["git", "add", *files], cwd=repo, check=True)
    return repo


def _try_repo(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``pre-commit try-repo <this checkout> hs-lint`` on the staged files, as a commit would run it."""
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "hs-lint", "--color", "never"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=900,
    )


@pytest.mark.slow  # installs the hook's environment with pip
def test_bad_commit_fails_with_the_findings(tmp_path, environ):
    bad = (FIXTURES / "bad" / "forecaster_while_loop.py").read_text(encoding="utf-8")
    result = _try_repo(_repo(tmp_path, {"train.py": bad}), environ)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "hs-lint" in result.stdout and "Failed" in result.stdout
    assert "train.py:27:28: HS101" in result.stdout and "train.py:32:9: HS102" in result.stdout


@pytest.mark.slow  # installs the hook's environment with pip
def test_good_commit_passes(tmp_path, environ):
    good = (FIXTURES / "good" / "word_language_model.py").read_text(encoding="utf-8")
    result = _try_repo(_repo(tmp_path, {"train.py": good}), environ)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout


@pytest.mark.slow  # installs the hook's environment with pip
def test_commit_without_python_files_passes(tmp_path, environ):
    result = _try_repo(_repo(tmp_path, {"notes.txt": "h.detach()\n"}), environ)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no files to check" in result.stdout and "Skipped" in result.stdout


@pytest.mark.slow  # installs the hook's environment with pip
def test_a_staged_file_is_checked_with_the_facts_of_its_project(tmp_path, environ):
    """Only train.py is staged; the model it imports is already committed, and decides the finding."""
    project = FIXTURES / "projects" / "stream_detach"
    repo = _repo(tmp_path, {"net.py": (project / "net.py").read_text(encoding="utf-8")})
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "model"], cwd=repo, check=True)
    (repo / "train.py").write_text((project / "train.py").read_text(encoding="utf-8"), encoding="utf-8")
    subprocess.run(["git", "add", "train.py"], cwd=repo, check=True)
    result = _try_repo(repo, environ)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "train.py:11:47: HS101" in result.stdout, result.stdout
    assert "net.py" not in result.stdout.replace("from net", "")
