"""What git ignores, for the directory walk: ``.gitignore`` files at every level and ``.git/info/exclude``.

The patterns are matched by pathspec's ``GitIgnoreSpec`` (git's wildmatch rules, ``!`` negation,
``dir/`` patterns, anchoring), not by hand. As in git and ruff, these files count only inside a git
repository (a ``.git`` directory or file at or above the walked directory). Each ``.gitignore``
speaks for paths below its own directory; the deepest one with a matching pattern decides (its
last matching line wins), then ``.git/info/exclude``. The user's global ``core.excludesFile`` is not
read (that needs git itself).
"""

from __future__ import annotations

import os
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec


def repository_root(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git``; None outside a repository."""
    start = Path(os.path.abspath(start))
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return None


class GitIgnore:
    """Answers ``ignored(path, is_dir)`` for paths inside the repository at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._specs: dict[Path, GitIgnoreSpec | None] = {}
        self._exclude = _load(_git_dir(root) / "info" / "exclude")

    def ignored(self, path: Path, is_dir: bool) -> bool:
        path = Path(os.path.abspath(path))
        if path == self.root or self.root not in path.parents:
            return False
        suffix = "/" if is_dir else ""
        for directory in path.parents:
            spec = self._spec(directory)
            if spec is not None:
                verdict = spec.check_file(path.relative_to(directory).as_posix() + suffix).include
                if verdict is not None:
                    return verdict
            if directory == self.root:
                break
        if self._exclude is None:
            return False
        return bool(self._exclude.check_file(path.relative_to(self.root).as_posix() + suffix).include)

    def _spec(self, directory: Path) -> GitIgnoreSpec | None:
        if directory not in self._specs:
            self._specs[directory] = _load(directory / ".gitignore")
        return self._specs[directory]


def for_walk(root: Path) -> GitIgnore | None:
    """The matcher for a walk from ``root``, or None when git would ignore nothing there."""
    repository = repository_root(root)
    if repository is None:
        return None
    matcher = GitIgnore(repository)
    # A directory named on the command line is checked even if git ignores it, as a named file is.
    return None if matcher.ignored(root, is_dir=True) else matcher


def _git_dir(root: Path) -> Path:
    """``.git``, or where a worktree's ``.git`` file points (its ``info/`` is the main repository's)."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        pointer = dot_git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return dot_git
    if not pointer.startswith("gitdir:"):
        return dot_git
    git_dir = (root / pointer.removeprefix("gitdir:").strip()).resolve()
    try:
        return (git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except (OSError, UnicodeDecodeError):
        return git_dir


def _load(path: Path) -> GitIgnoreSpec | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    from pathspec import GitIgnoreSpec  # loaded only where a .gitignore is found

    try:
        return GitIgnoreSpec.from_lines(lines)
    except ValueError:  # an invalid pattern (pathspec's error is a ValueError): git skips it; so do we
        return GitIgnoreSpec.from_lines(line for line in lines if _valid(line))


def _valid(line: str) -> bool:
    from pathspec import GitIgnoreSpec

    try:
        GitIgnoreSpec.from_lines([line])
    except ValueError:
        return False
    return True
