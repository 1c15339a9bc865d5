"""Summaries on disk, by content: one small JSON file per module version, shared by every process."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

from hs_lint.project.layout import marked_root
from hs_lint.project.summary import SUMMARY_FORMAT, ModuleSummary

CACHE_DIR_NAME = ".hs_lint_cache"  # the CLI's cache (findings and summaries), and the flake8 plugin's


def cache_directory(start: Path) -> Path:
    """Where the cache of files at ``start`` lives: ``.hs_lint_cache`` in the project root that a marker names
    (``pyproject.toml``, ``setup.cfg``, ``setup.py``, ``.git``), else hs-lint's folder in the user's cache
    directory; never in site-packages, nor in a folder that no marker makes a project."""
    root = marked_root(start.resolve())
    if root is not None:
        return root / CACHE_DIR_NAME
    import platformdirs  # (the user's cache folder of each platform)

    return Path(platformdirs.user_cache_dir("hs-lint", appauthor=False))


def mark_cache_directory(directory: Path) -> None:
    """Tell backup tools and git that ``directory`` is a cache (CACHEDIR.TAG, a ``*`` .gitignore)."""
    tag = directory / "CACHEDIR.TAG"
    if not tag.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n# hs-lint cache, safe to delete\n")
        (directory / ".gitignore").write_text("*\n")


def write_json_atomic(path: Path, data: object) -> None:
    """Through a temporary file and ``os.replace``: parallel readers see the old entry or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Sizes and times of hs-lint's own modules, so an edited (editable) install never reads stale entries."""
    package = Path(__file__).resolve().parent.parent
    stats = sorted((str(p.relative_to(package)), p.stat().st_size, p.stat().st_mtime_ns) for p in package.rglob("*.py"))
    return hashlib.sha256(repr(stats).encode()).hexdigest()


def digest(name: str, data: bytes) -> str:
    """A module's identity for the store: hs-lint's code, the module's name (relative imports depend on it) and
    its bytes."""
    return hashlib.sha256(f"{SUMMARY_FORMAT}\0{code_fingerprint()}\0{name}\0".encode() + data).hexdigest()


class SummaryStore:
    """Any problem with the directory (read-only, full, corrupt entry) is a miss, never an error."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _entry(self, key: str) -> Path:
        return self.directory / "summaries" / key[:2] / f"{key}.json"

    def get(self, key: str) -> tuple[ModuleSummary, dict[str, str]] | None:
        """The summary stored under ``key`` and the files (path -> hash) it was made from besides its own."""
        try:
            entry = json.loads(self._entry(key).read_text(encoding="utf-8"))
            return ModuleSummary.from_json(entry["summary"]), {str(p): str(h) for p, h in dict(entry["deps"]).items()}
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None

    def put(self, key: str, summary: ModuleSummary, deps: dict[str, str]) -> None:
        try:
            mark_cache_directory(self.directory)
            write_json_atomic(self._entry(key), {"summary": summary.as_json(), "deps": deps})
        except OSError:
            pass
