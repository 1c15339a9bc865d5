"""Parallel assignments, one name at a time.

``enc, dec = nn.LSTM(...), nn.GRU(...)`` binds each name to its own value, as two assignments in a row would.
The analysis reads one assignment per name (a module's configuration, a constant, a state made anew, the
definitions that reach a call), so the tree is rewritten before its facts are gathered: each element becomes an
assignment of its own, in order, when no later value reads a name bound before it (``a, b = b, a`` stays as
written). Only statements are walked; expressions are shared with the parsed tree, and each statement made
maps back to the one as written (``inline.Expansion.origins``), so findings land where the user wrote them.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from hs_lint.names import key_of, referenced_keys

_MAX_NAMES = 16  # a longer parallel assignment is a table, not a set of modules and states
# Nodes whose fields hold statement blocks: walked into. Expressions never hold statements.
_COMPOUND = (cst.If, cst.Else, cst.For, cst.While, cst.Try, cst.TryStar, cst.ExceptHandler, cst.ExceptStarHandler,
             cst.Finally, cst.With, cst.FunctionDef, cst.ClassDef, cst.Match, cst.MatchCase, cst.IndentedBlock)


def split_parallel(module: cst.Module, origins: dict[int, cst.CSTNode]) -> cst.Module:
    """``module`` with its parallel assignments split; ``origins`` maps each node made to the node as written."""
    return _block(module, origins)


def _block(block: cst.Module | cst.IndentedBlock, origins: dict[int, cst.CSTNode]):
    body: list[cst.CSTNode] = []
    for statement in block.body:
        if isinstance(statement, cst.SimpleStatementLine):
            parts = _split(statement, origins)
            body.extend(parts if parts is not None else (statement,))
        elif isinstance(statement, _COMPOUND):
            body.append(_compound(statement, origins))
        else:
            body.append(statement)
    return _changed(block, {"body": tuple(body)}, origins) if any(
        new is not old for new, old in zip(body, block.body)) or len(body) != len(block.body) else block


def _compound(node: cst.CSTNode, origins: dict[int, cst.CSTNode]) -> cst.CSTNode:
    """A compound statement (or one of its clauses) with the blocks below it rewritten."""
    changes = {}
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, cst.IndentedBlock):
            new = _block(value, origins)
        elif isinstance(value, _COMPOUND):
            new = _compound(value, origins)
        elif isinstance(value, tuple) and any(isinstance(v, _COMPOUND) for v in value):
            new = tuple(_compound(v, origins) if isinstance(v, _COMPOUND) else v for v in value)
            new = value if all(a is b for a, b in zip(new, value)) else new
        else:
            continue
        if new is not value:
            changes[field.name] = new
    return _changed(node, changes, origins) if changes else node


def _changed(node: cst.CSTNode, changes: dict[str, object], origins: dict[int, cst.CSTNode]) -> cst.CSTNode:
    new = node.with_changes(**changes)
    origins[id(new)] = origins.get(id(node), node)
    return new


def _split(line: cst.SimpleStatementLine, origins: dict[int, cst.CSTNode]) -> list[cst.CSTNode] | None:
    """``a, b = A, B`` on a line of its own -> ``a = A`` and ``b = B``, each mapped back to the line as written;
    None when it is anything else or when a later value may read a name bound before it."""
    if len(line.body) != 1 or not isinstance(assign := line.body[0], cst.Assign) or len(assign.targets) != 1:
        return None
    pairs = _pairs(assign.targets[0].target, assign.value)
    if pairs is None or len(pairs) < 2 or len(pairs) > _MAX_NAMES:
        return None
    bound: list[str] = []
    for target, value in pairs:
        if any(_overlaps(read, key) for read in referenced_keys(value) for key in bound):
            return None
        bound.append(key_of(target))
    parts = []
    origin = origins.get(id(line), line)
    for i, (target, value) in enumerate(pairs):
        made = cst.Assign([cst.AssignTarget(target)], value)
        part = line.with_changes(body=[made], leading_lines=line.leading_lines if i == 0 else ())
        origins[id(made)] = origins.get(id(assign), assign)
        origins[id(made.targets[0])] = origins.get(id(assign.targets[0]), assign.targets[0])
        origins[id(part)] = origin
        parts.append(part)
    return parts


Pair = tuple[cst.BaseExpression, cst.BaseExpression]


def _pairs(target: cst.BaseExpression, value: cst.BaseExpression) -> list[Pair] | None:
    """(target, value) for each name or attribute bound, element by element through nested tuples and lists;
    None when a side is not a display of the same length, is starred, or binds something else (``x[i]``)."""
    if not isinstance(target, (cst.Tuple, cst.List)):
        return [(target, value)] if key_of(target) is not None else None
    if not isinstance(value, (cst.Tuple, cst.List)) or len(value.elements) != len(target.elements):
        return None
    pairs = []
    for t, v in zip(target.elements, value.elements):
        if isinstance(t, cst.StarredElement) or isinstance(v, cst.StarredElement):
            return None
        inner = _pairs(t.value, v.value)
        if inner is None:
            return None
        pairs.extend(inner)
    return pairs


def _overlaps(read: str, bound: str) -> bool:
    """Reading ``read`` may see the binding of ``bound``: the same key, or one holds the other (``self`` and
    ``self.h``)."""
    return read == bound or read.startswith(f"{bound}.") or bound.startswith(f"{read}.")
