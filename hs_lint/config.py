"""``[tool.hs-lint]`` in pyproject.toml, validated, and the rule selection it implies.

Selection follows flake8's decision rules exactly, so that ``hs-lint check`` and
``flake8 --select HS`` agree: an explicit choice beats an implicit one, and between two
explicit (or two implicit) choices the longer code prefix wins. Advisory rules are implicitly
ignored, so they run only when selected explicitly.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from hs_lint.catalogue import rule_codes

# Each key with an example of a right value, shown when a value is wrong.
EXAMPLES = {
    "select": '["HS1", "HS203"]',
    "ignore": '["HS102"]',
    "extend-select": '["HS502"]',
    "exclude": '["third_party", "*_pb2.py"]',
    "per-file-ignores": '{"tests/*" = ["HS101"]}',
    "respect-gitignore": "false",
}
KNOWN_KEYS = tuple(EXAMPLES)


class ConfigError(Exception):
    """The configuration is unusable; the message says where and how to fix it."""


@dataclass(frozen=True)
class Config:
    select: tuple[str, ...] | None = None  # None: the default selection
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    respect_gitignore: bool = True  # skip what git ignores when walking directories
    root: Path = field(default_factory=Path.cwd)  # where relative patterns are anchored
    source: Path | None = None  # the pyproject.toml it came from

    def enabled_codes(self, path: str | None = None) -> frozenset[str]:
        """The codes that run on ``path`` (or on every file, when ``path`` is None)."""
        if path is None or not self.per_file_ignores:
            return self._codes_everywhere
        ignore = self.ignore + tuple(code for pattern, codes in self.per_file_ignores if self._matches(path, pattern)
                                     for code in codes)
        return frozenset(code for code in rule_codes() if self._decide(code, ignore))

    @functools.cached_property
    def _codes_everywhere(self) -> frozenset[str]:
        return frozenset(code for code in rule_codes() if self._decide(code, self.ignore))

    def _decide(self, code: str, ignore: tuple[str, ...]) -> bool:
        explicit = [p for p in (*(self.select or ()), *self.extend_select) if code.startswith(p)]
        ignored = [p for p in ignore if code.startswith(p)]
        if explicit and ignored:
            return len(max(explicit, key=len)) > len(max(ignored, key=len))
        if explicit or ignored:
            return bool(explicit)
        return self.select is None and rule_codes()[code]

    def is_excluded(self, path: Path) -> bool:
        return any(self._matches(str(path), pattern) for pattern in self.exclude)

    def _matches(self, path: str, pattern: str) -> bool:
        """flake8's matching: the pattern against the file's name, its path, or its path from the root."""
        absolute = os.path.abspath(path)
        try:
            relative = os.path.relpath(absolute, self.root)
        except ValueError:  # another drive on Windows
            relative = absolute
        candidates = (os.path.basename(path), absolute, relative, relative.replace(os.sep, "/"))
        anchored = os.path.abspath(os.path.join(self.root, pattern))
        return any(fnmatch.fnmatch(c, pattern) for c in candidates) or fnmatch.fnmatch(absolute, anchored) or (
            absolute.startswith(anchored.rstrip(os.sep) + os.sep)
        )


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has a ``[tool.hs-lint]`` table."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file() and _has_table(candidate):
            return candidate
    return None


def _has_table(path: Path) -> bool:
    try:
        return "hs-lint" in _read(path).get("tool", {})
    except ConfigError:
        return True  # broken: load() reports it rather than silently skipping the user's file


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def load(path: Path | None) -> Config:
    """The configuration in ``path`` (a pyproject.toml), or the defaults when there is none."""
    if path is None:
        return Config()
    table = _read(path).get("tool", {}).get("hs-lint", {})
    where = f"{path}: [tool.hs-lint]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - set(KNOWN_KEYS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], KNOWN_KEYS, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; {hint}the keys are: {', '.join(KNOWN_KEYS)}")
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(_wrong(f"{where} per-file-ignores", "a table", "per-file-ignores", per_file))
    respect_gitignore = table.get("respect-gitignore", True)
    if not isinstance(respect_gitignore, bool):
        raise ConfigError(_wrong(f"{where} respect-gitignore", "true or false", "respect-gitignore",
                                 respect_gitignore))
    return Config(
        select=_codes(table, "select", where) if "select" in table else None,
        ignore=_codes(table, "ignore", where),
        extend_select=_codes(table, "extend-select", where),
        exclude=_strings(table, "exclude", where),
        per_file_ignores=tuple(
            (pattern, validate_codes(
                _as_strings(codes, f"{where} per-file-ignores.{pattern!r}", "per-file-ignores"),
                f"{where} per-file-ignores"))
            for pattern, codes in per_file.items()
        ),
        respect_gitignore=respect_gitignore,
        root=path.parent,
        source=path,
    )


def _strings(table: dict, key: str, where: str) -> tuple[str, ...]:
    return _as_strings(table.get(key, []), f"{where} {key}", key)


def _as_strings(value: object, where: str, key: str) -> tuple[str, ...]:
    """``value`` as a tuple of strings; ``key`` picks the example shown when it is not a list of them."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(_wrong(where, "a list of strings", key, value))
    return tuple(value)


def _wrong(where: str, kind: str, key: str, value: object) -> str:
    return f"{where} must be {kind}, like {key} = {EXAMPLES[key]}; got {value!r}"


def _codes(table: dict, key: str, where: str) -> tuple[str, ...]:
    return validate_codes(_strings(table, key, where), f"{where} {key}")


def validate_codes(codes: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Each entry must be a prefix of at least one rule code (``HS``, ``HS1``, ``HS101``)."""
    known = rule_codes()
    for code in codes:
        if not any(k.startswith(code.strip()) for k in known) or not code.strip():
            close = ", ".join(k for k in known if k[:3] == code[:3]) or ", ".join(known)
            raise ConfigError(f"{where}: {code!r} matches no rule; known codes: {close}")
    return tuple(c.strip() for c in codes)
