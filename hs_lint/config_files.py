"""Configuration files that ship with the code, read as data: ``json.load(open("config.json"))``.

Training scripts often read their sizes from a file at start-up. The file is looked up as a script run from
its own folder or from the project root would open it, must lie inside the project, be a regular file of at
most 1 MB, and parse cleanly; anything else is unknown (rules stay silent). It is read, never executed
(``yaml.safe_load``, never ``yaml.load``). Each file read is recorded in the module view's ``used``, so a
cached result is redone when the file changes, as for an imported module.
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path
from typing import TYPE_CHECKING

from hs_lint.files import MAX_FILE_BYTES, TooLarge, Unreadable, read_source

if TYPE_CHECKING:
    from hs_lint.project.index import ModuleView

# The call that parses a file (or an open file) -> the format it reads.
LOADERS = {
    "json.load": "json", "json.loads": "json",
    "yaml.safe_load": "yaml", "yaml.load": "yaml", "yaml.full_load": "yaml",
    "tomllib.load": "toml", "tomllib.loads": "toml", "tomli.load": "toml", "tomli.loads": "toml",
    "omegaconf.OmegaConf.load": "yaml",
}
_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".cfg": "ini", ".ini": "ini"}


def load(view: ModuleView | None, name: str, form: str | None = None) -> object | None:
    """The data in the file ``name`` (as the code spells it) in format ``form`` (else by its suffix)."""
    if view is None:
        return None
    path = _locate(view, name)
    form = form or (_SUFFIXES.get(path.suffix.lower()) if path is not None else None)
    if path is None or form is None:
        return None
    try:
        data = read_source(path, MAX_FILE_BYTES)
    except (Unreadable, TooLarge):
        return None
    from hs_lint.project.index import content_hash  # noqa: PLC0415 - the index imports the analysis

    view.used[str(path)] = content_hash(data)
    try:
        return _parse(data.decode("utf-8"), form)
    except Exception:  # noqa: BLE001 - any parser's complaint about any file means the same: unknown
        return None


def _locate(view: ModuleView, name: str) -> Path | None:
    root = view.index.root
    for folder in (view.path.parent, root):
        candidate = (folder / name).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            return candidate
    return None


def _parse(text: str, form: str) -> object:
    if form == "json":
        return json.loads(text)
    if form == "yaml":
        import yaml  # noqa: PLC0415 - a dependency of libcst; loaded only for a YAML file

        return yaml.safe_load(text)
    if form == "toml":
        try:
            import tomllib  # noqa: PLC0415
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # noqa: PLC0415
        return tomllib.loads(text)
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return {section: dict(parser[section]) for section in parser.sections()}


def ini_value(text: str, method: str) -> object:
    """A configparser value as ``getint``/``getfloat``/``getboolean``/``get`` returns it."""
    if method == "getint":
        return int(text)
    if method == "getfloat":
        return float(text)
    if method == "getboolean":
        lowered = text.strip().lower()
        if lowered in configparser.ConfigParser.BOOLEAN_STATES:
            return configparser.ConfigParser.BOOLEAN_STATES[lowered]
        raise ValueError(text)
    return text
