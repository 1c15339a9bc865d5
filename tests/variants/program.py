"""A program under rewrite: a set of files by relative path, with the ``# expect:`` marks they carry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

EXPECT = re.compile(r"#\s*expect:\s*(HS\d{3}(?:\s*,\s*HS\d{3})*)")


@dataclass(frozen=True)
class Program:
    """Files by posix path relative to the program's root. ``target`` is the file a rewrite starts from."""

    files: dict[str, str]
    target: str = ""

    @classmethod
    def single(cls, source: str, name: str = "train.py") -> Program:
        return cls({name: source}, name)

    @classmethod
    def from_dir(cls, root: Path) -> Program:
        """Every file of a fixture project: its modules and the configuration files they read."""
        files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*"))
                 if p.is_file() and "__pycache__" not in p.parts}
        return cls(files)

    def python(self) -> list[str]:
        return [name for name in sorted(self.files) if name.endswith(".py")]

    def replace(self, changes: dict[str, str | None]) -> Program:
        """A copy with files replaced, added (a new path) or removed (None)."""
        files = dict(self.files)
        for name, text in changes.items():
            if text is None:
                files.pop(name, None)
            else:
                files[name] = text
        return Program(files, self.target)

    def write(self, root: Path) -> None:
        for name, text in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

    def marks(self) -> set[tuple[str, int, str]]:
        """``(file, line, code)`` for every code an ``# expect:`` comment names."""
        found = set()
        for name in self.python():
            for number, line in enumerate(self.files[name].splitlines(), start=1):
                match = EXPECT.search(line)
                if match:
                    found.update((name, number, code.strip()) for code in match.group(1).split(","))
        return found

    def identifiers(self) -> set[str]:
        """Every word in the program's text: a new name must be none of them."""
        return {word for text in self.files.values() for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)}

    def fresh(self, *candidates: str) -> str:
        """The first candidate the program does not use yet (numbered past the last one)."""
        used = self.identifiers()
        for name in candidates:
            if name not in used:
                return name
        stem, n = candidates[-1], 2
        while f"{stem}_{n}" in used:
            n += 1
        return f"{stem}_{n}"


@dataclass(frozen=True)
class Variant:
    """One rewrite of a program. ``slack``: lines a finding may sit above its mark (a statement split in two)."""

    transform: str
    detail: str
    program: Program
    slack: int = 0
    notes: tuple[str, ...] = field(default=())


def parse(source: str) -> cst.Module:
    return cst.parse_module(source)


def expect_codes(comment: str | None) -> list[str]:
    match = EXPECT.search(comment or "")
    return [code.strip() for code in match.group(1).split(",")] if match else []


def expect_comment(codes: list[str]) -> cst.Comment | None:
    unique = list(dict.fromkeys(codes))
    return cst.Comment("# expect: " + ", ".join(unique)) if unique else None
