"""Which files a run checks: the paths named, and the ``*.py`` files of the directories named.

Walking skips what is never the user's code (``.git``, virtualenvs, caches, build output), the
``exclude`` patterns and what git ignores. A file found by walking is read only if it is, or links
to, a regular file inside the project: a ``*.py`` link to ``/dev/zero`` or to another tree is
reported once as not checked (``hs_lint.files`` refuses FIFOs, devices and sockets when reading).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hs_lint import gitignore
from hs_lint.files import kind
from hs_lint.project.layout import find_root

if TYPE_CHECKING:
    from hs_lint.cli import Report
    from hs_lint.config import Config

# Directories never worth walking into; virtualenvs are recognised by their pyvenv.cfg.
SKIPPED_DIRS = frozenset(
    {".git", ".hg", ".svn", ".tox", ".nox", ".eggs", "__pycache__", "build", "dist", "node_modules",
     ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hs_lint_cache", ".venv", "venv"}
)


def discover(paths: Sequence[str], config: Config, report: Report) -> Iterator[Path]:
    """Python files under ``paths``; a file named explicitly is checked even if excluded."""
    for name in paths:
        path = Path(name)
        if path.is_file():
            yield path
        elif path.is_dir():
            found = 0
            project = find_root(path, fallback=path)
            for found, file in enumerate(_walk(path, config), start=1):
                outside = _outside(file, project)
                if outside is None:
                    yield file
                else:
                    report.errors.append(f"{file}: not checked: a symbolic link to {outside}, outside the project")
            if not found:
                report.warnings.append(f"{name}: no Python files to check{_why_none(path, config)}")
        else:
            report.errors.append(f"{name}: cannot check: {_why_not(path)}")


def _outside(file: Path, project: Path) -> Path | None:
    """Where a walked symbolic link points, when that is outside ``project`` (None: not a link, or inside)."""
    if not file.is_symlink():
        return None
    target = Path(os.path.realpath(file))  # (a loop or a dangling link is reported when it is read)
    return None if project in target.parents else target


def _why_not(path: Path) -> str:
    """Why a named path that is neither a regular file nor a directory cannot be checked."""
    try:
        what = kind(path.stat().st_mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop"
        return "broken symbolic link" if path.is_symlink() else "no such file or directory"
    return f"{what}, not a regular file"


def _why_none(root: Path, config: Config) -> str:
    """Why a directory gave no file, when it is not simply empty of ``*.py``."""
    skipped = config.respect_gitignore and gitignore.for_walk(root) is not None
    if any(root.rglob("*.py")):
        return " (all excluded" + (" or ignored by git; --no-respect-gitignore checks those" if skipped else "") + ")"
    return ""


def _walk(root: Path, config: Config) -> Iterator[Path]:
    ignores = gitignore.for_walk(root) if config.respect_gitignore else None
    for directory, subdirs, files in os.walk(root):
        base = Path(directory)
        subdirs[:] = sorted(
            d for d in subdirs
            if d not in SKIPPED_DIRS and not d.endswith(".egg-info") and not (base / d / "pyvenv.cfg").exists()
            and not config.is_excluded(base / d) and not (ignores and ignores.ignored(base / d, is_dir=True))
        )
        for file in sorted(files):
            path = base / file
            if file.endswith(".py") and not config.is_excluded(path) and not (
                ignores and ignores.ignored(path, is_dir=False)
            ):
                yield path
