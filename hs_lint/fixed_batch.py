"""Calls that size a state by a batch iterator's full batch while the iterator yields a smaller last one (HS204).

A state initialiser (``init_hidden(self, batch)``, whose returned state's batch axis is its parameter ``batch``:
``ShapeFacts.state_batch``, of this file's class or, through its summary, of another module's) called in a
function that loops over a DataLoader without ``drop_last=True``, or over a torchtext iterator, with that
iterator's ``batch_size``: the state has ``batch_size`` rows and the last batch fewer. The mistake is the size
the call chooses, so it is reported at the call, wherever the initialiser is defined. A loop that may leave an
iteration early (``if ...: continue``) may never reach the short batch: silent (HS213/HS214 judge such skips).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from hs_lint.facts import CallSite, Scope
from hs_lint.shapes import LoaderUse, ShapeFacts
from hs_lint.skips import leaves_early


@dataclass(frozen=True)
class FixedCall:
    site: CallSite
    initialiser: Scope
    loader: LoaderUse
    size: cst.BaseExpression  # the argument that sizes the state, as written


def fixed_calls(shapes: ShapeFacts) -> Iterator[FixedCall]:
    """Each initialiser call given the full batch size of a loop's short-batched iterator, once."""
    facts = shapes.facts
    by_scope: dict[int, list[tuple[CallSite, Scope, str]]] = {}
    for site in facts.calls:
        function = shapes.called_function(site.node, site.scope)
        param = shapes.state_batch(function) if function is not None else None
        if param is not None:
            by_scope.setdefault(id(site.scope), []).append((site, function, param))
    seen: set[int] = set()
    for loop in facts.loops if by_scope else ():
        calls = by_scope.get(id(loop.scope), ())
        for loader in shapes.loop_loaders(loop) if calls else ():
            if loader.drop_last is not False or loader.batch_size is None or leaves_early(loop):
                continue
            for site, function, param in calls:
                given = facts.bound_arguments(site, function).get(param)
                if id(site.node) not in seen and given is not None and \
                        shapes.value(given, site.scope) == loader.batch_size:
                    seen.add(id(site.node))
                    yield FixedCall(site, function, loader, given)


def sized_by_caller(shapes: ShapeFacts, node: object) -> bool:
    """``node`` (a state's construction) is what an initialiser of this file returns, its batch axis the
    initialiser's parameter: its callers choose the size, and ``fixed_calls`` judges them."""
    return any(
        shapes.state_batch(function) is not None and any(
            part is not None and part.node is node
            for value in function.returns for form in shapes.states(value, function) for part in form.parts)
        for function in shapes.facts.scopes if function.node is not None and function.returns)
