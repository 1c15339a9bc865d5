"""Where a project starts and which file an import names, as Python would find it (nothing is imported).

A repository is run as ``python train.py`` from its own folder, or installed as a package: an import
is looked up in the folder of the importing file (a script's siblings), at the project root, and in
``src/``. What is not found there (torch, numpy, a missing file) is not part of the project.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py", ".git")
_INSTALLED = frozenset({"site-packages", "dist-packages"})


def find_root(path: Path, fallback: Path | None = None) -> Path:
    """The nearest folder above ``path`` with a project marker; else ``fallback`` (the folder the user named, or
    the one a tool runs in) when ``path`` lies inside it; else the file's own folder."""
    start = path.resolve()
    folder = start if start.is_dir() else start.parent
    marked = marked_root(folder)
    if marked is not None:
        return marked
    fallback = fallback.resolve() if fallback is not None else None
    if fallback is not None and (fallback == folder or fallback in folder.parents):
        return fallback
    return folder


def marked_root(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` (a resolved one) with a project marker; None when there is none,
    or when it lies in an installed tree (``site-packages``), which is nobody's project."""
    for candidate in (folder, *folder.parents):
        if any(os.path.exists(os.path.join(candidate, marker)) for marker in ROOT_MARKERS):
            return None if _INSTALLED.intersection(candidate.parts) else candidate
    return None


def module_name(root: Path, path: Path) -> str:
    """``root/pkg/model.py`` -> "pkg.model", ``root/pkg/__init__.py`` -> "pkg"; a file outside ``root`` is
    named by its stem (a script's sibling). Both paths are resolved ones."""
    try:
        parts = list(path.relative_to(root).with_suffix("").parts)
    except ValueError:
        parts = [path.stem]
    if parts and parts[0] == "src" and len(parts) > 1:
        parts = parts[1:]
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def absolute_import(importer: str, is_package: bool, level: int, module: str | None) -> str | None:
    """``from ..data import x`` inside ``pkg.sub.train`` -> "pkg.data"; None when it climbs above the top."""
    if level == 0:
        return module
    parts = importer.split(".") if importer else []
    if not is_package:
        parts = parts[:-1]
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base) or None


def search_folders(root: Path, importer: Path) -> tuple[Path, ...]:
    """Where ``import name`` is looked for: the importer's folder, the folders between it and the root (a
    script may be run from any of them, and the root may be only the folder the user named), the root, and
    ``root/src``."""
    return _search_folders(str(root), str(importer.parent))


@lru_cache(maxsize=4096)
def _search_folders(root: str, folder: str) -> tuple[Path, ...]:
    here, top = Path(folder).resolve(), Path(root)
    folders = [here, *(p for p in here.parents if top in p.parents), top]
    if (top / "src").is_dir():
        folders.append(top / "src")
    return tuple(dict.fromkeys(folders))


def module_file(folders: tuple[Path, ...], name: str) -> Path | None:
    """The file a dotted module name stands for in the first folder that has it."""
    for folder in folders:
        found = _file_in(str(folder), name)
        if found is not None:
            return found
    return None


@lru_cache(maxsize=4096)
def _file_in(folder: str, name: str) -> Path | None:
    base = os.path.join(folder, *name.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return Path(candidate)
    return None
