"""Family 1: rename a local variable or a ``self`` attribute, to a neutral name or one a rule might key on."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
import libcst.matchers as m
from libcst.metadata import FunctionScope, GlobalScope

from .base import Transform, per_file
from .cst_tools import Analysed, edit, renamed
from .program import Program

TARGETS = ("hidden", "state", "h", "out", "value")


def _binding_nodes(analysed: Analysed, scope, name: str) -> set[cst.CSTNode] | None:
    """Every Name node that binds or reads this scope's ``name``; None when one is not a plain name."""
    nodes: set[cst.CSTNode] = set()
    for assignment in scope.assignments[name]:
        if assignment.scope is not scope or not isinstance(assignment.node, cst.Name):
            return None
        nodes.add(assignment.node)
        for access in assignment.references:
            if not isinstance(access.node, cst.Name):
                return None
            nodes.add(access.node)
    for access in scope.accesses[name]:
        if not access.referents:  # read before any binding here: a global or a builtin, leave it
            return None
    return nodes


def _locals(analysed: Analysed, program: Program, filename: str) -> Iterator[tuple[str, object]]:
    """Local names of functions (and of the module, when no other file can import them)."""
    scopes = {s for s in analysed.scopes.values() if isinstance(s, (FunctionScope, GlobalScope))}
    others = "".join(text for name, text in program.files.items() if name != filename)
    declared = {n.value for d in m.findall(analysed.module, m.Global() | m.Nonlocal()) for n in (x.name for x in d.names)}
    for scope in sorted(scopes, key=lambda s: 0 if isinstance(s, GlobalScope) else analysed.line(s.node)):
        params = set()
        if isinstance(scope, FunctionScope) and isinstance(scope.node, cst.FunctionDef):
            params = {p.name.value for p in m.findall(scope.node.params, m.Param())}
        for name in sorted({a.name for a in scope.assignments}):
            if name in params or name in declared or name.startswith("__"):
                continue
            if isinstance(scope, GlobalScope) and name in others:
                continue
            yield name, scope


def _rename_locals(analysed: Analysed, program: Program, filename: str):
    used = program.identifiers()
    for name, scope in _locals(analysed, program, filename):
        for new in TARGETS:
            if new in used or new == name:
                continue

            def apply(name=name, scope=scope, new=new):
                nodes = _binding_nodes(analysed, scope, name)
                if not nodes or any(isinstance(d, (cst.FunctionDef, cst.ClassDef)) for d in nodes):
                    return None
                return {filename: edit(analysed.module, renamed(nodes, new)).code}

            where = "module" if isinstance(scope, GlobalScope) else scope.name
            yield f"{name} -> {new} in {where}", apply


def _rename_attributes(analysed: Analysed, program: Program, filename: str):
    """``self.X`` -> ``self.Y`` when ``.X`` appears only on ``self`` inside one class, and never as a string."""
    used = program.identifiers()
    everything = "\n".join(program.files.values())
    for cls in m.findall(analysed.module, m.ClassDef()):
        attributes = m.findall(cls, m.Attribute(value=m.Name("self")))
        for attr in sorted({a.attr.value for a in attributes}):
            owners = [a for a in m.findall(analysed.module, m.Attribute(attr=m.Name(attr)))]
            if len(owners) != sum(1 for a in attributes if a.attr.value == attr):
                continue
            if everything.count(f".{attr}") != len(owners) or f"'{attr}'" in everything or f'"{attr}"' in everything:
                continue
            if any(m.findall(cls, m.FunctionDef(name=m.Name(attr)))):
                continue
            for new in TARGETS:
                if new in used:
                    continue
                nodes = {a.attr for a in owners}
                yield f"self.{attr} -> self.{new}", (
                    lambda nodes=nodes, new=new: {filename: edit(analysed.module, renamed(nodes, new)).code})


TRANSFORMS = [
    Transform("rename-local", 1, per_file("rename-local", _rename_locals)),
    Transform("rename-attribute", 1, per_file("rename-attribute", _rename_attributes)),
]
