"""What every rewrite needs from libcst: positions, scopes, the statement around a node, imports, comments."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
import libcst.matchers as m
from libcst.metadata import (
    GlobalScope,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    ScopeProvider,
)

from .program import expect_codes, expect_comment

COMPOUND = (cst.FunctionDef, cst.ClassDef, cst.For, cst.While, cst.If, cst.Try, cst.With)
LOOPS = (cst.For, cst.While)


class Analysed:
    """A parsed module with parents, positions and scopes, computed once (nodes are those of ``module``)."""

    def __init__(self, source: str) -> None:
        self.wrapper = MetadataWrapper(cst.parse_module(source))
        self.module = self.wrapper.module
        self.parents = self.wrapper.resolve(ParentNodeProvider)
        self.positions = self.wrapper.resolve(PositionProvider)
        self.scopes = self.wrapper.resolve(ScopeProvider)

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def span(self, node: cst.CSTNode) -> tuple[tuple[int, int], tuple[int, int]]:
        pos = self.positions[node]
        return (pos.start.line, pos.start.column), (pos.end.line, pos.end.column)

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def statement(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        """The one-statement line holding ``node`` (None on a line of several statements or in a header)."""
        for parent in self.ancestors(node):
            if isinstance(parent, cst.SimpleStatementLine):
                return parent if len(parent.body) == 1 else None
            if isinstance(parent, (cst.BaseCompoundStatement, cst.Lambda, cst.BaseComp)):
                return None
        return None

    def function(self, node: cst.CSTNode) -> cst.FunctionDef | None:
        return next((p for p in self.ancestors(node) if isinstance(p, cst.FunctionDef)), None)

    def loops(self, node: cst.CSTNode) -> list[cst.CSTNode]:
        """Loops around ``node`` inside its function (innermost first)."""
        found = []
        for parent in self.ancestors(node):
            if isinstance(parent, (cst.FunctionDef, cst.ClassDef)):
                break
            if isinstance(parent, LOOPS):
                found.append(parent)
        return found

    def block_of(self, statement: cst.CSTNode) -> cst.CSTNode | None:
        parent = self.parents.get(statement)
        return parent if isinstance(parent, (cst.IndentedBlock, cst.Module)) else None

    def top_level(self, node: cst.CSTNode) -> cst.CSTNode:
        """The module-level statement holding ``node``."""
        top = node
        for parent in self.ancestors(node):
            if isinstance(parent, cst.Module):
                return top
            top = parent
        return top


def names_in(node: cst.CSTNode) -> set[str]:
    return {n.value for n in m.findall(node, m.Name())}


def is_pure(node: cst.BaseExpression) -> bool:
    """Evaluating it has no effect and cannot be affected by one: names, attributes of names, literals."""
    if isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.Ellipsis)):
        return True
    if isinstance(node, cst.Attribute):
        return is_pure(node.value)
    if isinstance(node, cst.UnaryOperation):
        return is_pure(node.expression)
    return False


def comment_of(line: cst.SimpleStatementLine) -> cst.Comment | None:
    return line.trailing_whitespace.comment


def with_codes(line: cst.SimpleStatementLine, codes: list[str]) -> cst.SimpleStatementLine:
    """The line with its ``# expect:`` comment naming ``codes`` as well (any other comment is dropped)."""
    merged = expect_codes(comment_of(line).value if comment_of(line) else None) + codes
    comment = expect_comment(merged)
    whitespace = cst.SimpleWhitespace("  ") if comment else cst.SimpleWhitespace("")
    return line.with_changes(trailing_whitespace=cst.TrailingWhitespace(whitespace=whitespace, comment=comment))


def without_comment(line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    return line.with_changes(trailing_whitespace=cst.TrailingWhitespace())


def codes_of(node: cst.CSTNode) -> list[str]:
    """Every code an ``# expect:`` comment inside ``node`` names."""
    return [code for c in m.findall(node, m.Comment()) for code in expect_codes(c.value)]


def statement(code: str) -> cst.BaseStatement:
    return cst.parse_statement(code)


def add_imports(module: cst.Module, lines: list[str]) -> cst.Module:
    """``lines`` (import statements) after the docstring and ``__future__`` imports, unless already there."""
    present = {module.code_for_node(s).strip() for s in module.body}
    new = [cst.parse_statement(line + "\n") for line in lines if line not in present]
    if not new:
        return module
    index = 0
    for i, stmt in enumerate(module.body):
        if m.matches(stmt, m.SimpleStatementLine(body=[m.Expr(m.SimpleString())])) and i == 0:
            index = 1
        elif m.matches(stmt, m.SimpleStatementLine(body=[m.ImportFrom(module=m.Name("__future__"))])):
            index = i + 1
    return module.with_changes(body=[*module.body[:index], *new, *module.body[index:]])


def after_imports(module: cst.Module) -> int:
    """The index of the first module statement after the leading imports and docstring."""
    index = 0
    for i, stmt in enumerate(module.body):
        if isinstance(stmt, cst.SimpleStatementLine) and all(
            isinstance(s, (cst.Import, cst.ImportFrom)) or m.matches(s, m.Expr(m.SimpleString())) for s in stmt.body
        ):
            index = i + 1
        else:
            break
    return index


def insert_module_statements(module: cst.Module, code: str) -> cst.Module:
    """Statements placed after the module's leading imports."""
    new = list(cst.parse_module(code).body)
    index = after_imports(module)
    return module.with_changes(body=[*module.body[:index], *new, *module.body[index:]])


def import_lines(module: cst.Module) -> list[str]:
    """The module's top-level import statements, as source lines (for a module that moves code out)."""
    lines = []
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine) and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body):
            lines.append(module.code_for_node(without_comment(stmt)).strip())
    return lines


def imported_names(module: cst.Module) -> set[str]:
    names = set()
    for node in m.findall(module, m.Import() | m.ImportFrom()):
        if isinstance(node.names, cst.ImportStar):
            continue
        for alias in node.names:
            if alias.asname is not None:
                names.add(alias.asname.name.value)
            else:
                names.add(cst.helpers.get_full_name_for_node(alias.name).split(".")[0])
    return names


def globals_read(analysed: Analysed, node: cst.CSTNode) -> set[str]:
    """Module-level names (imports, definitions, builtins excluded) that code inside ``node`` reads."""
    used = set()
    for name in m.findall(node, m.Name()):
        scope = analysed.scopes.get(name)
        if scope is None or name.value not in scope.accesses:
            continue
        for access in scope.accesses[name.value]:
            if access.node is name and any(isinstance(a.scope, GlobalScope) for a in access.referents):
                used.add(name.value)
    return used


class _Edit(cst.CSTTransformer):
    def __init__(self, edits) -> None:
        self.edits = edits

    def on_leave(self, original, updated):
        edit = self.edits.get(original)
        return edit(updated) if edit is not None else updated


def edit(module: cst.Module, edits: dict) -> cst.Module:
    """One pass that replaces each original node by ``edits[node](updated)`` (a node, a sentinel)."""
    return module.visit(_Edit(edits))


def renamed(nodes, new: str) -> dict:
    return {node: (lambda updated: updated.with_changes(value=new)) for node in nodes}
