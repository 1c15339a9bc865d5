"""A rewrite: a name, the issue's family number, and the variants it makes of a program."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import libcst as cst

from .cst_tools import Analysed
from .program import Program, Variant

FAMILIES = {
    1: "rename", 2: "reassign", 3: "split/join", 4: "helpers", 5: "move",
    6: "configuration", 7: "alias", 8: "wrap", 9: "annotations",
}
CROSS_MODULE = frozenset({4, 5, 6, 7})  # families whose variants may put code in another module


@dataclass(frozen=True)
class Transform:
    name: str
    family: int
    make: Callable[[Program], Iterator[Variant]]
    cross_module: bool = False  # this transform's variants span modules

    def variants(self, program: Program) -> Iterator[Variant]:
        for variant in self.make(program):
            if variant.program.files != program.files:
                _check_syntax(variant)
                yield variant


class BrokenRewrite(AssertionError):
    """A rewrite wrote code Python cannot compile: a bug in the harness, never in hs-lint."""


def _check_syntax(variant: Variant) -> None:
    for name in variant.program.python():
        try:
            compile(variant.program.files[name], name, "exec", dont_inherit=True)
        except SyntaxError as error:
            raise BrokenRewrite(f"{variant.transform} ({variant.detail}) broke {name}: {error}\n"
                                f"{variant.program.files[name]}") from None


Site = Callable[[], "dict[str, str | None] | None"]


def per_file(name: str, find: Callable[[Analysed, Program, str], Iterator[tuple[str, Site]]], slack: int = 0):
    """A ``make`` that analyses each file and yields one variant per site ``find`` names.

    ``find`` yields ``(detail, apply)``; ``apply()`` returns the changed files, or None when the site turns out
    not to be rewritable without changing meaning.
    """

    def make(program: Program) -> Iterator[Variant]:
        for filename in program.python():
            try:
                analysed = Analysed(program.files[filename])
            except cst.ParserSyntaxError:
                continue
            for detail, apply in find(analysed, program, filename):
                changes = apply()
                if changes:
                    yield Variant(name, f"{filename}: {detail}", program.replace(changes), slack)

    return make
