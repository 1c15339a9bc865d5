"""Calls that size a state by a batch iterator's full batch while the iterator yields a smaller last one (HS204).

A state initialiser (``init_hidden(self, batch)``, whose returned state's batch axis is its parameter ``batch``:
``ShapeFacts.state_batch``, of this file's class or, through its summary, of another module's) called in a
function that loops over a DataLoader without ``drop_last=True``, or over a torchtext iterator, with that
iterator's ``batch_size``: the state has ``batch_size`` rows and the last batch fewer. The mistake is the size
the call chooses, so it is reported at the call, wherever the initialiser is defined.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hs_lint.facts import CallSite, Scope
from hs_lint.shapes import LoaderUse, ShapeFacts


@dataclass(frozen=True)
class FixedCall:
    site: CallSite
    initialiser: Scope
    loader: LoaderUse


def fixed_calls(shapes: ShapeFacts) -> Iterator[FixedCall]:
    """Each initialiser call given the full batch size of a loop's short-batched iterator, once."""
    facts = shapes.facts
    # a loop that skips the batches of another size never gives the model one (HS213/HS214 report the skip)
    guarded = [(s.loop, s.fixed) for s in facts.skips]
    seen: set[int] = set()
    for loop in facts.loops:
        for loader in shapes.loop_loaders(loop):
            if loader.drop_last is not False or loader.batch_size is None:
                continue
            for site in facts.calls:
                if site.scope is not loop.scope or id(site.node) in seen:
                    continue
                function = shapes.called_function(site.node, site.scope)
                param = shapes.state_batch(function) if function is not None else None
                given = facts.bound_arguments(site, function).get(param) if param is not None else None
                size = shapes.value(given, site.scope) if given is not None else None
                if size is None or size != loader.batch_size or any(
                        skip is loop and shapes.value(fixed, loop.scope) == size for skip, fixed in guarded):
                    continue
                seen.add(id(site.node))
                yield FixedCall(site, function, loader)


def sized_by_caller(shapes: ShapeFacts, node: object) -> bool:
    """``node`` (a state's construction) is what an initialiser of this file returns, its batch axis the
    initialiser's parameter: its callers choose the size, and ``fixed_calls`` judges them."""
    return any(
        shapes.state_batch(function) is not None and any(
            part is not None and part.node is node
            for value in function.returns for form in shapes.states(value, function) for part in form.parts)
        for function in shapes.facts.scopes if function.node is not None and function.returns)
