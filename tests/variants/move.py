"""Family 5: move a top-level class, function or assignment into another module (beside the file, or into a
package that re-exports it with a relative import), or a class's ``__init__`` and helpers into a base class in
another module.

What moves may use only imported names, builtins and literal constants of its module (the constants are
copied); the original module imports it back at the same place, so every later use still sees it.
"""

from __future__ import annotations

import re

import libcst as cst
import libcst.matchers as m

from .base import Transform, per_file
from .cst_tools import Analysed, globals_read, import_lines, imported_names

_LITERAL = m.Integer() | m.Float() | m.SimpleString() | m.Name("True") | m.Name("False") | m.Name("None") \
    | m.UnaryOperation(expression=m.Integer() | m.Float())


def _constants(analysed: Analysed) -> dict[str, str]:
    """Top-level ``NAME = literal`` bound once: name -> its statement's source."""
    found: dict[str, str] = {}
    for stmt in analysed.module.body:
        if m.matches(stmt, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Name())], _LITERAL)])):
            name = stmt.body[0].targets[0].target.value
            scope = analysed.scopes.get(stmt.body[0].targets[0].target)
            if scope is not None and len(scope.assignments[name]) == 1:
                found[name] = analysed.module.code_for_node(stmt).strip()
    return found


def _header(analysed: Analysed, node: cst.CSTNode, extra: set[str] = frozenset()) -> str | None:
    """The new module's imports and copied constants, or None when ``node`` needs more of its module."""
    constants = _constants(analysed)
    needed = globals_read(analysed, node) - extra
    if not needed <= imported_names(analysed.module) | set(constants):
        return None
    lines = import_lines(analysed.module) + [constants[n] for n in sorted(needed & set(constants))]
    return "\n".join(lines) + "\n\n\n"


def _place(program, filename: str, stem: str) -> tuple[str, str]:
    """The new module's path and the import line that reaches it from ``filename``."""
    folder, _, _ = filename.rpartition("/")
    name = program.fresh(stem)
    path = f"{folder}/{name}.py" if folder else f"{name}.py"
    dot = "." if folder and f"{folder}/__init__.py" in program.files else ""
    return path, f"{dot}{name}"


def _definitions(analysed: Analysed):
    for stmt in analysed.module.body:
        if isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
            yield stmt, stmt.name.value
        elif m.matches(stmt, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Name())])])):
            target = stmt.body[0].targets[0].target
            scope = analysed.scopes.get(target)
            if scope is not None and len(scope.assignments[target.value]) == 1 and not m.matches(stmt.body[0].value, _LITERAL):
                yield stmt, target.value


def _moves(package: bool):
    def find(analysed: Analysed, program, filename: str):
        for stmt, name in _definitions(analysed):
            header = _header(analysed, stmt, {name})
            if header is not None:
                yield f"{name} moved {'into a package' if package else 'beside'}", (
                    lambda stmt=stmt, name=name, header=header: _move(analysed, program, filename, stmt, name, header, package))
    return find


def _move(analysed, program, filename, stmt, name, header, package):
    code = analysed.module.code_for_node(stmt)
    if not package:
        path, module = _place(program, filename, f"{name.lower()}_def")
        files = {path: header + code}
    else:
        folder, _, _ = filename.rpartition("/")
        pkg = program.fresh(f"{name.lower()}_pkg")
        base = f"{folder}/{pkg}" if folder else pkg
        dot = "." if folder and f"{folder}/__init__.py" in program.files else ""
        module = f"{dot}{pkg}"
        files = {f"{base}/__init__.py": f"from .impl import {name}\n", f"{base}/impl.py": header + code}
    importer = cst.parse_statement(f"from {module} import {name}\n")
    files[filename] = analysed.module.deep_replace(stmt, importer).code
    return files


def _bases(analysed: Analysed, program, filename: str):
    for cls in analysed.module.body:
        if not isinstance(cls, cst.ClassDef) or cls.decorators:
            continue
        kept = [s for s in cls.body.body if m.matches(s, m.FunctionDef(name=m.Name("forward")))]
        moved = [s for s in cls.body.body if s not in kept]
        if not kept or not moved or "__" in analysed.module.code_for_node(cls).replace("__init__", "").replace("__class__", "_"):
            continue
        yield f"{cls.name.value}'s __init__ and helpers into a base class", (
            lambda cls=cls, moved=moved, kept=kept: _split(analysed, program, filename, cls, moved, kept))


def _split(analysed, program, filename, cls, moved, kept):
    name = cls.name.value
    base = program.fresh(f"{name}Base")
    body = cst.IndentedBlock(moved)
    header = _header(analysed, body, {name})
    if header is None:
        return None
    path, module = _place(program, filename, f"{name.lower()}_base")
    base_class = cls.with_changes(name=cst.Name(base), body=body)
    base_code = cst.Module([]).code_for_node(base_class)
    base_code = base_code.replace(f"super({name}, self)", f"super({base}, self)")
    if re.search(rf"\b{name}\b", base_code):
        return None
    derived = cls.with_changes(bases=[cst.Arg(cst.Name(base))], body=cls.body.with_changes(body=kept))
    importer = cst.parse_statement(f"from {module} import {base}\n")
    new = analysed.module.deep_replace(cls, cst.FlattenSentinel([importer, derived]))
    return {filename: new.code, path: header + base_code}


TRANSFORMS = [
    Transform("move-definition", 5, per_file("move-definition", _moves(False)), cross_module=True),
    Transform("move-into-package", 5, per_file("move-into-package", _moves(True)), cross_module=True),
    Transform("base-class-module", 5, per_file("base-class-module", _bases), cross_module=True),
]
