"""Family 9: annotate every parameter and return (``typing.Any``), or strip every annotation a function has."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from .base import Transform, per_file
from .cst_tools import Analysed, add_imports, edit


class _Strip(cst.CSTTransformer):
    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        return updated.with_changes(annotation=None)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        return updated.with_changes(returns=None)


class _Annotate(cst.CSTTransformer):
    def __init__(self) -> None:
        super().__init__()
        self._lambdas = 0  # a lambda's parameters cannot be annotated

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._lambdas += 1
        return True

    def leave_Lambda(self, original: cst.Lambda, updated: cst.Lambda) -> cst.Lambda:
        self._lambdas -= 1
        return updated

    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        if updated.annotation is not None or updated.name.value in ("self", "cls") or self._lambdas:
            return updated
        return updated.with_changes(annotation=cst.Annotation(cst.Name("Any")))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        return updated if updated.returns is not None else updated.with_changes(returns=cst.Annotation(cst.Name("Any")))


def _strip(analysed: Analysed, program, filename: str):
    if m.findall(analysed.module, m.Annotation()):
        def apply():
            module = analysed.module.visit(_Strip())
            locals_ = [a for a in m.findall(module, m.AnnAssign()) if a.value is not None]
            return {filename: edit(module, {a: lambda u: cst.Assign([cst.AssignTarget(u.target)], u.value) for a in locals_
                                            if _in_function(module, a)}).code}
        yield "annotations stripped", apply


def _in_function(module: cst.Module, node: cst.CSTNode) -> bool:
    return any(node in m.findall(f.body, m.AnnAssign()) for f in m.findall(module, m.FunctionDef()))


def _annotate(analysed: Analysed, program, filename: str):
    if m.findall(analysed.module, m.FunctionDef()) and "Any" not in program.identifiers():
        yield "parameters annotated Any", lambda: {
            filename: add_imports(analysed.module.visit(_Annotate()), ["from typing import Any"]).code}


TRANSFORMS = [
    Transform("strip-annotations", 9, per_file("strip-annotations", _strip)),
    Transform("annotate-any", 9, per_file("annotate-any", _annotate)),
]
