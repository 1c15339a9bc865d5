"""Small, pure helpers that turn libcst expressions into the names the analysis reasons about.

A *key* is the dotted spelling of a plain name or attribute chain (``h``, ``self.hidden``,
``model.rnn``): the unit in which the analysis tracks where a hidden state lives.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst


def key_of(node: cst.CSTNode | None) -> str | None:
    """``h`` -> "h", ``self.hidden`` -> "self.hidden"; anything else -> None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = key_of(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def alias_bindings(names: Sequence[cst.ImportAlias], module: str | None) -> Iterator[tuple[str, str]]:
    """(local name, absolute name) for each alias of ``import a.b as c`` (``module`` None) or of ``from <module>
    import x as y``: what the import binds, in one place for every reader of imports."""
    for alias in names:
        full = key_of(alias.name) or ""
        asname = alias.asname.name.value if alias.asname is not None and isinstance(alias.asname.name, cst.Name) \
            else None
        if module is not None:
            yield asname or full, f"{module}.{full}"
        elif asname is not None:
            yield asname, full
        else:
            top = full.split(".", 1)[0]
            yield top, top


def alternatives(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The values an expression may have: each branch of ``a if cond else b`` (nested), else itself."""
    if isinstance(expr, cst.IfExp):
        return [*alternatives(expr.body), *alternatives(expr.orelse)]
    return [expr]


def root_key(node: cst.CSTNode) -> str | None:
    """The key a subscript or attribute chain starts from: ``hidden[0]`` -> "hidden"."""
    while isinstance(node, cst.Subscript):
        node = node.value
    return key_of(node)


def flat_keys(node: cst.CSTNode | None) -> list[str]:
    """Keys named by a target or argument, looking through tuples and lists: ``(h, c)`` -> [h, c]."""
    if node is None:
        return []
    if isinstance(node, (cst.Tuple, cst.List)):
        return [k for element in node.elements for k in flat_keys(element.value)]
    key = key_of(node)
    return [key] if key is not None else []


def referenced_keys(node: cst.CSTNode) -> Iterator[str]:
    """Every key read anywhere inside an expression (names and their attribute chains)."""
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        key = key_of(current)
        if key is not None:
            yield key
            # ``self.hidden`` also reads ``self``; keep walking the chain.
            if isinstance(current, cst.Attribute):
                stack.append(current.value)
            continue
        stack.extend(current.children)


def mentions(node: cst.CSTNode, keys: frozenset[str] | set[str]) -> bool:
    return any(key in keys for key in referenced_keys(node))


def positional_args(call: cst.Call) -> list[cst.BaseExpression]:
    return [arg.value for arg in call.args if arg.keyword is None and not arg.star]


def keyword_arg(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def argument(call: cst.Call, where: tuple[str, int | None] | None) -> cst.BaseExpression | None:
    """The argument given for a parameter, by its (keyword, position: None when keyword-only); None for a
    parameter the callee lacks."""
    if where is None:
        return None
    keyword, position = where
    args = positional_args(call)
    return keyword_arg(call, keyword) or (args[position] if position is not None and len(args) > position else None)


def method_name(call: cst.Call) -> str | None:
    """``x.detach()`` -> "detach"."""
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else None


def receiver(call: cst.Call) -> cst.BaseExpression | None:
    """``x.detach()`` -> ``x``."""
    func = call.func
    return func.value if isinstance(func, cst.Attribute) else None


def descendants(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """``node`` and every node below it."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(current.children)


def int_literal(expr: cst.BaseExpression) -> int | None:
    if isinstance(expr, cst.Integer):
        return int(expr.evaluated_value)
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus) and isinstance(
        expr.expression, cst.Integer
    ):
        return -int(expr.expression.evaluated_value)
    return None


def index_path(expr: cst.BaseExpression | None) -> tuple[cst.BaseExpression | None, tuple[int, ...]]:
    """``x[1][0]`` -> (``x``, (1, 0)): the integer indices taken off an expression, outermost last."""
    path: list[int] = []
    while isinstance(expr, cst.Subscript) and len(expr.slice) == 1 and isinstance(expr.slice[0].slice, cst.Index):
        index = int_literal(expr.slice[0].slice.value)
        if index is None:
            return None, ()
        path.insert(0, index)
        expr = expr.value
    return expr, tuple(path)


def assigned_pairs(target: cst.BaseExpression, value: cst.BaseExpression | None,
                   augmented: bool) -> Iterator[tuple[str, cst.BaseExpression | None]]:
    """(key, value) for each name a target binds; element-wise for ``a, b = x, y``."""
    if isinstance(target, (cst.Tuple, cst.List)):
        values = value.elements if isinstance(value, (cst.Tuple, cst.List)) else None
        if values is not None and len(values) == len(target.elements):
            for t, v in zip(target.elements, values):  # a starred name takes a list: its value is unknown
                yield from assigned_pairs(t.value, None if isinstance(t, cst.StarredElement) else v.value, augmented)
        else:
            for t in target.elements:
                yield from assigned_pairs(t.value, None, augmented)
        return
    key = key_of(target)
    if key is not None:
        yield key, (None if augmented else value)


def as_bool(expr: cst.BaseExpression | None, default: bool) -> bool | None:
    """A ``True``/``False`` argument; ``default`` when it is left out (None); None for anything else."""
    if expr is None:
        return default
    if isinstance(expr, cst.Name) and expr.value in ("True", "False"):
        return expr.value == "True"
    return None
