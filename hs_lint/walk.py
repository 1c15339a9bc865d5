"""A read-only walk over a libcst tree, with the visit/leave semantics of ``CSTVisitor``.

``Module.visit`` rebuilds every node it passes (``_visit_and_replace_children``), which costs more
than the parse itself. Analysis only reads, so this walk follows the same child order and calls the
same ``visit_<Node>`` / ``leave_<Node>`` and ``visit_<Node>_<field>`` / ``leave_<Node>_<field>``
methods on the visitor, without rebuilding. It skips what only holds whitespace and punctuation
(parentheses, commas, comments, operators); ``VISIT_ORDER`` is checked against libcst's own
``_visit_and_replace_children`` by the tests. It is iterative, so nesting depth costs no Python
recursion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import libcst as cst

# Node type -> the fields libcst visits that may hold code, in libcst's visiting order.
VISIT_ORDER: dict[str, tuple[str, ...]] = {
    "AnnAssign": ('target', 'annotation', 'value'),
    "Annotation": ('annotation',),
    "Arg": ('keyword', 'value'),
    "AsName": ('name',),
    "Assert": ('test', 'msg'),
    "Assign": ('targets', 'value'),
    "AssignTarget": ('target',),
    "Attribute": ('value', 'attr'),
    "AugAssign": ('target', 'value'),
    "Await": ('expression',),
    "BinaryOperation": ('left', 'right'),
    "BooleanOperation": ('left', 'right'),
    "Call": ('func', 'args'),
    "ClassDef": ('decorators', 'name', 'type_parameters', 'bases', 'keywords', 'body'),
    "CompFor": ('target', 'iter', 'ifs', 'inner_for_in'),
    "CompIf": ('test',),
    "Comparison": ('left', 'comparisons'),
    "ComparisonTarget": ('comparator',),
    "ConcatenatedString": ('left', 'right'),
    "Decorator": ('decorator',),
    "Del": ('target',),
    "Dict": ('elements',),
    "DictComp": ('key', 'value', 'for_in'),
    "DictElement": ('key', 'value'),
    "Element": ('value',),
    "Else": ('body',),
    "EmptyLine": ('comment', 'newline'),
    "ExceptHandler": ('type', 'name', 'body'),
    "ExceptStarHandler": ('type', 'name', 'body'),
    "Expr": ('value',),
    "Finally": ('body',),
    "For": ('target', 'iter', 'body', 'orelse'),
    "FormattedString": ('parts',),
    "FormattedStringExpression": ('expression', 'format_spec'),
    "From": ('item',),
    "FunctionDef": ('decorators', 'name', 'type_parameters', 'params', 'returns', 'body'),
    "GeneratorExp": ('elt', 'for_in'),
    "Global": ('names',),
    "If": ('test', 'body', 'orelse'),
    "IfExp": ('body', 'test', 'orelse'),
    "Import": ('names',),
    "ImportAlias": ('name', 'asname'),
    "ImportFrom": ('module', 'names'),
    "IndentedBlock": ('body',),
    "Index": ('value',),
    "Lambda": ('params', 'body'),
    "LazyImport": ('names',),
    "LazyImportFrom": ('module', 'names'),
    "List": ('elements',),
    "ListComp": ('elt', 'for_in'),
    "Match": ('subject', 'cases'),
    "MatchAs": ('pattern', 'name'),
    "MatchCase": ('pattern', 'guard', 'body'),
    "MatchClass": ('cls', 'patterns', 'kwds'),
    "MatchKeywordElement": ('key', 'pattern'),
    "MatchList": ('patterns',),
    "MatchMapping": ('elements', 'rest'),
    "MatchMappingElement": ('key', 'pattern'),
    "MatchOr": ('patterns',),
    "MatchOrElement": ('pattern', 'separator'),
    "MatchSequenceElement": ('value',),
    "MatchSingleton": ('value',),
    "MatchStar": ('name',),
    "MatchTuple": ('patterns',),
    "MatchValue": ('value',),
    "Module": ('body',),
    "NameItem": ('name',),
    "NamedExpr": ('target', 'value'),
    "Nonlocal": ('names',),
    "Param": ('name', 'annotation', 'default'),
    "ParamSpec": ('name',),
    "Parameters": ('posonly_params', 'params', 'star_arg', 'kwonly_params', 'star_kwarg'),
    "ParenthesizedWhitespace": ('first_line', 'empty_lines', 'last_line'),
    "Raise": ('exc', 'cause'),
    "Return": ('value',),
    "Set": ('elements',),
    "SetComp": ('elt', 'for_in'),
    "SimpleStatementLine": ('body',),
    "SimpleStatementSuite": ('body',),
    "Slice": ('lower', 'upper', 'step'),
    "StarredDictComp": ('value', 'for_in'),
    "StarredDictElement": ('value',),
    "StarredElement": ('value',),
    "Subscript": ('value', 'slice'),
    "SubscriptElement": ('slice',),
    "TemplatedString": ('parts',),
    "TemplatedStringExpression": ('expression', 'format_spec'),
    "TrailingWhitespace": ('comment', 'newline'),
    "Try": ('body', 'handlers', 'orelse', 'finalbody'),
    "TryStar": ('body', 'handlers', 'orelse', 'finalbody'),
    "Tuple": ('elements',),
    "TypeAlias": ('name', 'type_parameters', 'value'),
    "TypeParam": ('param', 'default'),
    "TypeParameters": ('params',),
    "TypeVar": ('name', 'bound'),
    "TypeVarTuple": ('name',),
    "UnaryOperation": ('expression',),
    "While": ('test', 'body', 'orelse'),
    "With": ('items', 'body'),
    "WithItem": ('item', 'asname'),
    "Yield": ('value',),
}

_Plan = tuple[Callable[[Any], object] | None, Callable[[Any], object] | None,
              tuple[tuple[str, Callable[[Any], object] | None, Callable[[Any], object] | None], ...]]


def walk(root: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """Call the visitor's methods on ``root`` and every node below it, in ``root.visit`` order.

    Like ``CSTVisitor``, a ``visit_<Node>`` that returns False skips that node's children.
    """
    plans: dict[type, _Plan] = {}
    stack: list[tuple[Callable[[Any], object] | None, Any]] = [(None, root)]
    while stack:
        action, node = stack.pop()
        if action is not None:
            action(node)
            continue
        plan = plans.get(type(node))
        if plan is None:
            plan = plans[type(node)] = _plan(type(node).__name__, visitor)
        visit, leave, fields = plan
        if visit is not None and visit(node) is False:
            if leave is not None:
                leave(node)
            continue
        if leave is not None:
            stack.append((leave, node))
        for name, visit_field, leave_field in reversed(fields):
            value = getattr(node, name)
            if value is None or value is cst.MaybeSentinel.DEFAULT:
                continue  # libcst calls no field hooks for an absent optional field either
            if leave_field is not None:
                stack.append((leave_field, node))
            if isinstance(value, cst.CSTNode):
                stack.append((None, value))
            elif isinstance(value, (tuple, list)):
                stack.extend((None, child) for child in reversed(value) if isinstance(child, cst.CSTNode))
            if visit_field is not None:
                stack.append((visit_field, node))


def code_nodes(root: cst.CSTNode, skip: tuple[type, ...] = ()) -> Iterator[cst.CSTNode]:
    """``root`` and the nodes below it that may hold code, without rebuilding anything (``node.children``
    does); the children of a node of a ``skip`` type are not entered."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, skip):
            stack.extend(code_children(node))


def code_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The nodes right below ``node`` that may hold code, as they are (no copy)."""
    for name in VISIT_ORDER.get(type(node).__name__, ()):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            yield value
        elif isinstance(value, (tuple, list)):
            yield from (child for child in value if isinstance(child, cst.CSTNode))


def _plan(name: str, visitor: cst.CSTVisitor) -> _Plan:
    fields = tuple(
        (field, _method(visitor, f"visit_{name}_{field}"), _method(visitor, f"leave_{name}_{field}"))
        for field in VISIT_ORDER.get(name, ())
    )
    return _method(visitor, f"visit_{name}"), _method(visitor, f"leave_{name}"), fields


def _method(visitor: cst.CSTVisitor, name: str) -> Callable[[Any], object] | None:
    """The visitor's own method, or None where it only inherits ``CSTVisitor``'s no-op."""
    own = getattr(type(visitor), name, None)
    if own is None or own is getattr(cst.CSTVisitor, name, None):
        return None
    return getattr(visitor, name)
