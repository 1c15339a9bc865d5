"""Batch loops that skip the batches whose size is not the one a state was built for.

A state built for a fixed batch size fails on a DataLoader's smaller last batch, and the common workaround is
``if x.size(0) != batch_size: continue``. A skip is read where an ``if`` in a ``for`` loop over a
default-collated DataLoader (``Batches.collated``: samples on axis 0, ``drop_last`` not set) compares the size of
a field of the batch (``x.size(0)``, ``x.shape[0]``, ``len(x)``, or a name holding one) with a value that sizes
a state in this file (an ``init_hidden(B)``-like call or a tensor factory given B), and only leaves the
iteration (``continue``/``break``, perhaps after a ``print``). HS213/HS214 report skips; HS204 does not report a
fixed-size state whose loop skips the batches it would not fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from hs_lint.batches import target_and_source
from hs_lint.facts import TENSOR_FACTORIES, FileFacts, Loop, Scope, names_state_initialiser
from hs_lint.names import descendants, key_of, keyword_arg, method_name, positional_args
from hs_lint.shapes import Dim

_SKIPPING = (cst.NotEqual, cst.LessThan, cst.GreaterThan)


@dataclass(frozen=True)
class Skip:
    """``if x.size(0) != B: continue`` in ``loop``, over the batches of ``loader``, B sizing a state."""

    node: cst.If
    size: cst.BaseExpression  # the batch's size, as written
    fixed: cst.BaseExpression  # what it is compared with
    leave: str  # "continue" or "break"
    loop: Loop
    loader: cst.Call  # the DataLoader construction
    iterated: cst.BaseExpression | None  # what a ``for`` loop iterates, as a message names it


def skips(facts: FileFacts) -> Iterator[Skip]:
    """Every skip of the file (``FileFacts.skips`` keeps them)."""
    for loop in facts.loops:
        for node in _ifs(loop.node.body):
            leave = _leaves(node)
            pair = _compared(node.test) if leave is not None else None
            if pair is None:
                continue
            for size, fixed in (pair, pair[::-1]):
                loader = _batch_of(facts, size, loop.scope)
                if loader is not None and _sizes_a_state(facts, fixed, size, loop.scope):
                    iterated = target_and_source(loop)[1] if isinstance(loop.node, cst.For) else None
                    yield Skip(node, size, fixed, leave, loop, loader, iterated)
                    break


def _ifs(block: cst.BaseSuite) -> Iterator[cst.If]:
    """The ``if`` statements of a loop's own body (not of a loop or function inside it)."""
    for statement in getattr(block, "body", ()):
        if isinstance(statement, cst.If):
            yield statement
            yield from _ifs(statement.body)
            orelse = statement.orelse
            while orelse is not None:
                if isinstance(orelse, cst.If):
                    yield orelse
                    yield from _ifs(orelse.body)
                    orelse = orelse.orelse
                else:
                    yield from _ifs(orelse.body)
                    orelse = None
        elif isinstance(statement, (cst.With, cst.Try)):
            yield from _ifs(statement.body)


def leaves_early(loop: Loop) -> bool:
    """Some ``if`` of the loop's own body only leaves the iteration: whatever its condition (``batch_i >
    len(loader.dataset) // batch_size``), the loop may never use the batches a fixed-size state would not fit,
    so HS204 says nothing of it."""
    return any(_leaves(node) is not None for node in _ifs(loop.node.body))


def _leaves(node: cst.If) -> str | None:
    """``continue`` or ``break`` when that (after calls such as a ``print``) is the whole body, with no ``else``."""
    if node.orelse is not None:
        return None
    body = node.body
    lines = [body] if isinstance(body, cst.SimpleStatementSuite) else list(body.body)
    if not all(isinstance(line, (cst.SimpleStatementSuite, cst.SimpleStatementLine)) for line in lines):
        return None  # a block of its own inside: more than leaving
    smalls = [s for line in lines for s in line.body]
    if not smalls or not isinstance(smalls[-1], (cst.Continue, cst.Break)) or not all(
            isinstance(s, cst.Pass) or isinstance(s, cst.Expr) and isinstance(s.value, cst.Call) for s in smalls[:-1]):
        return None
    return "continue" if isinstance(smalls[-1], cst.Continue) else "break"


def _compared(test: cst.BaseExpression) -> tuple[cst.BaseExpression, cst.BaseExpression] | None:
    """(left, right) of ``a != b``, ``a < b``, ``a > b``, ``not a == b``: a test that holds for a smaller batch."""
    negated = isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)
    if negated:
        test = test.expression
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    operator = test.comparisons[0].operator
    if not (isinstance(operator, cst.Equal) if negated else isinstance(operator, _SKIPPING)):
        return None
    return test.left, test.comparisons[0].comparator


def _batch_of(facts: FileFacts, size: cst.BaseExpression, scope: Scope) -> cst.Call | None:
    """The DataLoader whose batch ``size`` is the number of samples of."""
    dim = facts.shapes.value(size, scope)
    sym = dim.sym if isinstance(dim, Dim) else None
    if sym is None or sym.axis != 0 or sym.read is None:
        return None
    node, where = sym.read
    return facts.batches.collated(node, where) if isinstance(node, cst.BaseExpression) else None


def _sizes_a_state(facts: FileFacts, fixed: cst.BaseExpression, size: cst.BaseExpression, scope: Scope) -> bool:
    """``fixed`` is a size a state is built with somewhere in the file: ``init_hidden(fixed)``,
    ``torch.zeros(layers, fixed, hidden)``."""
    shapes = facts.shapes
    value = shapes.value(fixed, scope)
    if not isinstance(value, Dim) or value.value in (0, 1) or value == shapes.value(size, scope):
        return False
    for site in facts.calls:
        name = method_name(site.node) or (site.node.func.value if isinstance(site.node.func, cst.Name) else "")
        if not (names_state_initialiser(name) or site.qualified in TENSOR_FACTORIES):
            continue
        args = positional_args(site.node)
        if len(args) == 1 and isinstance(args[0], (cst.Tuple, cst.List)):
            args = [e.value for e in args[0].elements]
        if any(shapes.value(arg, site.scope) == value for arg in args):
            return True
    return False


def full_count(facts: FileFacts, skip: Skip) -> cst.Call | None:
    """A ``len(...)`` of the loader's whole dataset that the loop's function divides by."""
    scope = skip.loop.scope
    if scope.node is None:
        return None
    given = keyword_arg(skip.loader, "dataset") or next(iter(positional_args(skip.loader)), None)
    dataset_key = key_of(given) if given is not None else None
    for node in _divisions(scope.node):
        for length in _lengths(facts, node.right, scope):
            counted = length.args[0].value if len(length.args) == 1 else None
            if isinstance(counted, cst.Attribute) and counted.attr.value == "dataset" and (
                    facts.batches.construction(counted.value, scope) is skip.loader):
                return length  # ``len(loader.dataset)``
            if counted is not None and dataset_key is not None and key_of(counted) == dataset_key:
                return length  # ``len(data)`` of ``DataLoader(data, ...)``
    return None


def _divisions(root: cst.CSTNode) -> Iterator[cst.BinaryOperation]:
    return (node for node in descendants(root)
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide))


def _lengths(facts: FileFacts, expr: cst.BaseExpression, scope: Scope) -> list[cst.Call]:
    """``len(x)`` as written, or held by a name every assignment of which is one."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Name) and expr.func.value == "len":
        return [expr]
    key = key_of(expr)
    if not isinstance(expr, cst.Name) or key is None:
        return []
    values = [value for value, _ in facts.shapes.assigned(key, scope)]
    found = [value for value in values if isinstance(value, cst.Call)]
    return found if values and len(found) == len(values) and all(_lengths(facts, v, scope) for v in found) else []
