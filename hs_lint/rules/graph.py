"""HS1xx: the autograd graph carried across training steps."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from hs_lint.facts import (
    TUPLE_MISUSED_METHODS,
    VARIABLE_CLASSES,
    FileFacts,
    Flow,
    Loop,
    RecurrentCall,
)
from hs_lint.fix import Fix, insert_before, replace, replace_statement
from hs_lint.names import flat_keys, key_of, keyword_arg, method_name, receiver, root_key
from hs_lint.rule import Rule, Violation
from hs_lint.torch_era import targets_old_torch
from hs_lint.torch_api import holds_tuple


def carrying_loop_with_backward(facts: FileFacts, call: RecurrentCall) -> Loop | None:
    """The loop across whose iterations the state of ``call`` keeps its graph into a backward().

    Climbs from the innermost loop outwards while the state flows unchanged through each loop
    body; stops (returns None) at a loop that re-initialises, detaches or hides the state, or
    that runs under ``no_grad``. A seq2seq decoder's time-step loop has no backward of its own,
    so the climb goes on to the batch loop, which re-initialises the state.
    """
    keys = call.carried_keys
    if not keys or call.site.no_grad or call.callee.detaches_input:
        return None
    if facts.flow(call.state_arg, keys, call.site.scope) is not Flow.CARRIED:
        return None
    for loop in call.loops:
        if loop.no_grad or not facts.state_updates(loop, keys, call) <= {Flow.CARRIED}:
            return None
        if loop.has_backward:
            return loop
    return None


@dataclass(frozen=True)
class DetachFix:
    """The detach to write at the top of the loop body: the message quotes it, ``--fix`` inserts it."""

    assignment: str  # "h = h.detach()", "h, c = h.detach(), c.detach()", "h = tuple(s.detach() for s in h)"
    guard: str | None  # a key that may still be None: the detach is written under ``if key is not None``
    note: str  # the tuple variant, when the module's kind (and so the state's layout) is unknown
    certain: bool  # the state goes straight into a torch module, so its layout is known

    @property
    def text(self) -> str:
        return f"if {self.guard} is not None: {self.assignment}" if self.guard else self.assignment

    def statement(self) -> cst.BaseStatement:
        line = cst.parse_statement(self.assignment)
        if self.guard is None:
            return line
        return cst.If(test=cst.parse_expression(f"{self.guard} is not None"), body=cst.IndentedBlock([line]))


def graph_data(call: RecurrentCall) -> dict[str, object]:
    """What --confirm needs to replay the loop: the module kind (when known) and the state's arity."""
    kind = call.callee.recurrent_kind
    return {"kind": kind, "tuple_state": bool(holds_tuple(kind)) or len(call.carried_keys) > 1}


def detach_fix(facts: FileFacts, call: RecurrentCall) -> DetachFix:
    """The line to write at the top of the loop body (tuple- and None-aware), and a note."""
    keys = [k for k in flat_keys(call.state_arg) if k in call.carried_keys]
    if len(keys) > 1:
        assignment = f"{', '.join(keys)} = {', '.join(f'{k}.detach()' for k in keys)}"
    elif holds_tuple(call.callee.recurrent_kind):
        assignment = f"{keys[0]} = tuple(s.detach() for s in {keys[0]})"
    else:
        assignment = f"{keys[0]} = {keys[0]}.detach()"
    # May be None: assigned None here, a parameter (``hidden=None``, or whatever the caller passes),
    # or a ``self.`` attribute that ``__init__`` (any method) sets to None.
    scope = call.site.scope
    methods = scope.cls.methods.values() if scope.cls is not None else ()
    nullable = [
        k for k in keys
        if k in scope.params or facts.assigns_none(k, scope)
        or (k.startswith("self.") and any(facts.assigns_none(k, method) for method in methods))
    ]
    note = ""
    if call.callee.recurrent_kind is None and len(keys) == 1:
        note = f" (for an LSTM tuple: `{keys[0]} = tuple(s.detach() for s in {keys[0]})`)"
    # A wrapper class or helper may hand back its own structure (a list of per-layer states, ...).
    callee = call.callee
    certain = callee.module_kind is not None or (callee.cls is not None and callee.cls.recurrent_kind is not None)
    return DetachFix(assignment, nullable[0] if nullable else None, note, certain)


class CarriedWithoutDetach(Rule):
    code = "HS101"
    name = "hidden-state-carried-without-detach"
    summary = "A hidden state is fed into the next iteration of a loop that calls backward() without .detach()"
    message = (
        "hidden state `{state}` is carried across iterations of `{loop}` (which calls backward()) undetached: "
        "write `{fix}` at the top of the loop{note}"
    )
    rationale = (
        "A recurrent module's returned state is the end of this step's autograd graph. Fed back as the next "
        "step's initial state, it chains every step's graph to the previous one: backward() then either "
        "walks into buffers the previous backward() already freed, or (with retain_graph=True) back-propagates "
        "through all of history, so time and memory grow with every batch. Truncated back-propagation through "
        "time keeps the state's value and cuts its history with `.detach()` once per iteration."
    )
    torch_error = (
        "RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors "
        "after they have already been freed)."
    )
    bad = (
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(8, 16)
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.1)
h = None
for x in torch.randn(5, 3, 2, 8):
    out, h = rnn(x, h)
    out.sum().backward()
    optimizer.step()
""",
        """\
from torch.nn import LSTM as Recurrent

lstm = Recurrent(8, 16)
h, c = init_state()
for step, x in enumerate(stream):
    out, (h, c) = lstm(x, (h, c))
    loss = criterion(out, target[step])
    loss.backward()
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(8, 16)
optimizer = torch.optim.SGD(rnn.parameters(), lr=0.1)
h = None
for x in torch.randn(5, 3, 2, 8):
    if h is not None:
        h = h.detach()
    out, h = rnn(x, h)
    out.sum().backward()
    nn.utils.clip_grad_norm_(rnn.parameters(), 1.0)
    optimizer.step()
""",
        """\
import torch.nn as nn

decoder = nn.GRU(8, 16)
for batch in loader:
    h = encode(batch)
    for t in range(10):
        out, h = decoder(batch[t], h)
    loss(out).backward()
""",
    )

    fix_summary = (
        "Inserts the detach at the top of the carrying loop's body: `h = h.detach()`, "
        "`h, c = h.detach(), c.detach()` or `h = tuple(s.detach() for s in h)` for an LSTM's tuple, under "
        "`if h is not None:` when the state starts as None. Unsafe (applied only with `--unsafe-fixes`) unless "
        "the state goes straight into a torch recurrent module: a model from another file, a wrapper class or a "
        "helper may hand back a tuple or a list where the fix expects a tensor"
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call in facts.recurrent_calls:
            loop = carrying_loop_with_backward(facts, call)
            if loop is not None:
                fix = detach_fix(facts, call)
                yield self.violation(
                    call.state_arg, data=graph_data(call), state=facts.source(call.state_arg),
                    loop=facts.loop_header(loop), fix=fix.text, note=fix.note,
                )

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        call = next(c for c in facts.recurrent_calls if c.state_arg is violation.node)
        loop = carrying_loop_with_backward(facts, call)
        if loop is None or not isinstance(loop.node.body, cst.IndentedBlock):
            return None  # ``for x in xs: ...`` on one line: no body to put a statement at the top of
        detach = detach_fix(facts, call)
        return Fix((insert_before(loop.node.body.body[0], detach.statement()),), safe=detach.certain)


# What the dropped result would have changed, by method: tensors' methods return new tensors.
_DROPPED_EFFECT = {
    "detach": "still attached to the previous step's graph",
    "to": "still on its old device and dtype",
    "cuda": "still on the CPU",
    "cpu": "still on its old device",
    "contiguous": "still non-contiguous",
    "float": "still of its old dtype",
    "half": "still of its old dtype",
    "double": "still of its old dtype",
    "bfloat16": "still of its old dtype",
}


class DiscardedResult(Rule):
    code = "HS102"
    name = "discarded-result"
    summary = "A non-in-place tensor method is called on a hidden state and its result is dropped"
    message = (
        "`{call}` returns a new tensor that is dropped here, so `{target}` is unchanged ({effect}): write "
        "`{fix}`"
    )
    rationale = (
        "`Tensor.detach()`, `.to()`, `.cuda()`, `.cpu()`, `.contiguous()` and the dtype casts return a new tensor; "
        "they never change the tensor they are called on. A statement like `hidden.detach()` does nothing, so the "
        "author believes the state is detached (or moved) when it is not. Only the trailing-underscore methods "
        "(`detach_()`) work in place."
    )
    torch_error = (
        "Nothing at that line; later 'Trying to backward through the graph a second time' (detach) or "
        "'Input and hidden tensors are not at the same device' (to/cuda)."
    )
    bad = (
        """\
import torch.nn as nn

rnn = nn.RNN(4, 8)
hidden = None
for x in batches:
    out, hidden = rnn(x, hidden)
    out.mean().backward()
    hidden.detach()
""",
        """\
import torch.nn as nn

lstm = nn.LSTM(4, 8)
out, (h, c) = lstm(x)
h.to(device)
""",
    )
    good = (
        """\
import torch.nn as nn

rnn = nn.RNN(4, 8)
hidden = None
for x in batches:
    out, hidden = rnn(x, hidden)
    out.mean().backward()
    hidden.detach_()
""",
        """\
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 8)

    def forward(self, x):
        self.hidden.to(x.device)
        return self.hidden(x)
""",
    )

    fix_summary = (
        "Assigns the result back: `h.detach()` becomes `h = h.detach()`. Unsafe when the target is an item "
        "(`h[0] = h[0].detach()` fails on a tuple)"
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for site in facts.calls:
            name = method_name(site.node)
            if not site.discarded or name not in _DROPPED_EFFECT:
                continue
            target = receiver(site.node)
            if facts.holds_tuple(target, site.scope):
                continue  # a method on the (h, c) tuple itself fails first: HS103 reports it
            if root_key(target) in facts.state_keys(site.scope):
                yield self.violation(
                    site.node,
                    data={"method": name},
                    call=facts.source(site.node),
                    target=facts.source(target),
                    effect=_DROPPED_EFFECT[name],
                    fix=f"{facts.source(target)} = {facts.source(site.node)}",
                )

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        call = violation.node  # the dropped call, ``h.detach()``
        target = receiver(call)
        assign = cst.Assign(targets=[cst.AssignTarget(target)], value=call)
        return Fix((replace_statement(call, assign),), safe=key_of(target) is not None)


def _tuple_fix(state: str, call: cst.Call, facts: FileFacts, either: bool = False) -> str:
    """The per-tensor spelling of ``call``; ``either``: the state is a tuple only in some configurations, so
    the repair keeps the tensor case (``... if isinstance(h, tuple) else h.cuda()``)."""
    name = method_name(call)
    if name == "size":
        fixed = f"{state}[0].{facts.source(call.func.attr)}({', '.join(facts.source(a) for a in call.args)})"
        return f"{fixed} if isinstance({state}, tuple) else {facts.source(call)}" if either else fixed
    if name == "detach_":
        return f"for s in {state}: s.detach_()"
    args = ", ".join(facts.source(a.value) for a in call.args)
    fixed = f"tuple(s.{name}({args}) for s in {state})"
    return f"{state} = {fixed} if isinstance({state}, tuple) else {facts.source(call)}" if either else \
        f"{state} = {fixed}"


class MethodOnStateTuple(Rule):
    code = "HS103"
    name = "method-on-state-tuple"
    summary = "A tensor method (.detach(), .to(), .size(), ...) is called on an LSTM's (h, c) state tuple"
    message = (
        "`{state}` holds the LSTM's `(h, c)` tuple{when}, which has no `.{method}()` (AttributeError): apply it "
        "to each tensor: `{fix}`"
    )
    rationale = (
        "`nn.LSTM` and `nn.LSTMCell` take and return their state as a tuple `(h, c)`, unlike RNN and GRU whose "
        "state is one tensor. Code written for a GRU (or a tutorial's `hidden = hidden.detach()`) breaks as soon "
        "as the layer becomes an LSTM. Detach, move or inspect each tensor of the tuple."
    )
    torch_error = "AttributeError: 'tuple' object has no attribute 'detach'"
    fix_summary = "Applies the method to each tensor: `tuple(s.detach() for s in state)`; `.size()` reads `state[0]`"
    bad = (
        """\
import torch.nn as nn

lstm = nn.LSTM(8, 16)
hidden = None
for x in batches:
    out, hidden = lstm(x, hidden)
    out.sum().backward()
    hidden = hidden.detach()
""",
        """\
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)

    def init_hidden(self, bsz):
        return (torch.zeros(1, bsz, 16), torch.zeros(1, bsz, 16))


model = Model()
hidden = model.init_hidden(4)
hidden = hidden.to("cuda")
""",
    )
    good = (
        """\
import torch.nn as nn

lstm = nn.LSTM(8, 16)
hidden = None
for x in batches:
    out, hidden = lstm(x, hidden)
    out.sum().backward()
    hidden = tuple(s.detach() for s in hidden)
""",
        """\
import torch.nn as nn

gru = nn.GRU(8, 16)
hidden = None
for x in batches:
    out, hidden = gru(x, hidden)
    out.sum().backward()
    hidden = hidden.detach()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for site in facts.calls:
            name = method_name(site.node)
            state = key_of(receiver(site.node))
            if name in TUPLE_MISUSED_METHODS and state is not None and (
                    facts.holds_tuple(receiver(site.node), site.scope) or facts.tuple_at(state, site)):
                when = facts.tuple_condition(state, site.scope)
                yield self.violation(site.node, data={"method": name}, state=state, method=name,
                                     fix=_tuple_fix(state, site.node, facts, bool(when)),
                                     when=f" ({when})" if when else "")

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        """``state.detach()`` -> ``tuple(s.detach() for s in state)`` (as a statement when the result was
        dropped: ``state = tuple(...)``); ``state.size(1)`` -> ``state[0].size(1)``. ``detach_()`` is left
        to the author: its repair is a loop, not an expression."""
        call = violation.node
        if method_name(call) == "detach_":
            return None
        state = receiver(call)
        either = bool(facts.tuple_condition(facts.source(state), facts.site(call).scope))
        fixed = _tuple_fix(facts.source(state), call, facts, either)
        expression = cst.parse_expression(fixed.partition(" = ")[2] if " = " in fixed.split("(")[0] else fixed)
        site = facts.site(call)
        if site.discarded:
            return Fix((replace_statement(call, cst.Assign([cst.AssignTarget(state)], expression)),))
        return Fix((replace(call, expression),))


def _partial_detach(
    facts: FileFacts, call: RecurrentCall, loop: Loop
) -> Iterator[tuple[cst.CSTNode, str, str, Fix | None]]:
    """(node, what is detached, what is not, the fix that detaches the rest) for each half-detached
    update of the state in ``loop``."""
    keys = call.carried_keys
    for site in facts.assignments_in(loop):
        value = site.value
        if not keys.intersection(site.target_keys) or not isinstance(value, cst.Tuple) or len(value.elements) != 2:
            continue
        flows = [facts.flow(e.value, keys, site.scope) for e in value.elements]
        if sorted(flows) == [Flow.CARRIED, Flow.DETACHED]:
            kept = value.elements[flows.index(Flow.CARRIED)].value
            cut = value.elements[flows.index(Flow.DETACHED)].value
            fix = Fix((replace(kept, cst.parse_expression(f"{facts.source(kept)}.detach()")),)) \
                if key_of(kept) is not None else None
            yield kept, facts.source(cut), facts.source(kept), fix
            return
    per_key = {key: facts.updates(loop, frozenset({key}), call) for key in sorted(keys)}
    flows = {key: {flow for _, flow in found} for key, found in per_key.items()}
    cut = [key for key, found in flows.items() if Flow.DETACHED in found]
    kept = [key for key, found in flows.items() if found <= {Flow.CARRIED}]
    if cut and kept and not any(found & {Flow.FRESH, Flow.OPAQUE} for found in flows.values()):
        node = next(node for node, flow in per_key[cut[0]] if flow is Flow.DETACHED)
        fix = Fix((insert_before(node, *(cst.parse_statement(f"{key} = {key}.detach()") for key in kept)),))
        yield node, cut[0], ", ".join(kept), fix


class PartialDetach(Rule):
    code = "HS104"
    name = "partial-detach"
    summary = "Only one tensor of a carried LSTM (h, c) state is detached; the other keeps the graph"
    message = (
        "only `{cut}` is detached in `{loop}`; `{kept}` still carries the previous step's graph: detach both: "
        "`{fix}`"
    )
    rationale = (
        "An LSTM's state is two tensors, and the cell state `c` carries the long-range history. Detaching `h` "
        "alone (or building `(h.detach(), c)`) leaves `c` attached to every previous step: the graph still grows "
        "across batches and backward() fails or slows down just as if nothing were detached."
    )
    torch_error = (
        "RuntimeError: Trying to backward through the graph a second time (or directly access saved tensors "
        "after they have already been freed)."
    )
    fix_summary = "Detaches the rest of the state too: `(h.detach(), c.detach())`, or `c = c.detach()` beside `h`'s"
    bad = (
        """\
import torch.nn as nn

lstm = nn.LSTM(8, 16)
h, c = h0, c0
for x in batches:
    h = h.detach()
    out, (h, c) = lstm(x, (h, c))
    out.sum().backward()
""",
        """\
import torch.nn as nn

lstm = nn.LSTM(8, 16)
hidden = None
for x in batches:
    if hidden is not None:
        hidden = (hidden[0].detach(), hidden[1])
    out, hidden = lstm(x, hidden)
    out.sum().backward()
""",
    )
    good = (
        """\
import torch.nn as nn

lstm = nn.LSTM(8, 16)
h, c = h0, c0
for x in batches:
    h, c = h.detach(), c.detach()
    out, (h, c) = lstm(x, (h, c))
    out.sum().backward()
""",
        """\
import torch.nn as nn

lstm = nn.LSTM(8, 16)
for x in batches:
    h, c = h0.detach(), c0
    out, (h, c) = lstm(x, (h, c))
    out.sum().backward()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call, loop, (node, cut, kept, _) in _half_detached(facts):
            yield self.violation(node, data=graph_data(call), cut=cut, kept=kept, loop=facts.loop_header(loop),
                                 fix=detach_fix(facts, call).text)

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        return next((fix for _, _, (node, *_, fix) in _half_detached(facts) if node is violation.node), None)


@functools.lru_cache(maxsize=1)  # check() and then fix() for each finding ask about the same file
def _half_detached(facts: FileFacts) -> list[tuple[RecurrentCall, Loop, tuple]]:
    return list(_find_half_detached(facts))


def _find_half_detached(facts: FileFacts) -> Iterator[tuple[RecurrentCall, Loop, tuple]]:
    """Every carried state detached only in part, with the loop that carries it."""
    for call in facts.recurrent_calls:
        keys = call.carried_keys
        if not keys or call.site.no_grad or call.callee.detaches_input:
            continue
        for loop in call.loops:
            if loop.no_grad:
                break
            changed = not facts.state_updates(loop, keys, call) <= {Flow.CARRIED}
            if changed or loop.has_backward:
                for found in _partial_detach(facts, call, loop) if loop.has_backward else ():
                    yield call, loop, found
                break


def carried_state_loop(facts: FileFacts, call: RecurrentCall, loop: Loop) -> bool:
    """The state of ``call`` flows from one iteration of ``loop`` into the next with its graph."""
    keys = call.carried_keys
    return (
        bool(keys) and not call.site.no_grad and not call.callee.detaches_input
        and call.site.loop is not None and loop.encloses(call.site.loop)
        and facts.flow(call.state_arg, keys, call.site.scope) is Flow.CARRIED
        and facts.state_updates(loop, keys, call) <= {Flow.CARRIED}
    )


class RetainGraphWorkaround(Rule):
    code = "HS105"
    name = "retain-graph-workaround"
    summary = "backward(retain_graph=True) in a loop that carries an undetached recurrent state"
    message = (
        "`{call}` keeps every batch's graph alive while `{state}` is carried undetached through `{loop}`: "
        "drop retain_graph=True, write `{fix}` at the loop's top"
    )
    old_spelling_message = (
        "`{call}`: `retain_variables` is the pre-0.4 retain_graph (a TypeError on current torch) and works around "
        "a carried graph: drop it and detach the carried state at each step"
    )
    rationale = (
        "`retain_graph=True` (spelled `retain_variables=True` before torch 0.4, a TypeError since) is the usual way to silence 'Trying to backward through the graph a second time' "
        "when a hidden state is carried across batches. It does not fix the cause: the state still links every "
        "batch to all previous ones, so back-propagation covers the whole history, gets slower and uses more "
        "memory each step, and after optimizer.step() changes the weights in place the saved tensors are stale. "
        "Truncated BPTT detaches the state instead."
    )
    torch_error = (
        "No error at first; memory and step time grow every batch, then often 'RuntimeError: one of the "
        "variables needed for gradient computation has been modified by an inplace operation'."
    )
    bad = (
        """\
import torch.nn as nn

rnn = nn.GRU(8, 16)
h = h0
for x in batches:
    out, h = rnn(x, h)
    out.sum().backward(retain_graph=True)
""",
    )
    good = (
        """\
import torch.nn as nn

rnn = nn.GRU(8, 16)
for x, y in batches:
    out, h = rnn(x)
    loss_a(out, y).backward(retain_graph=True)
    loss_b(h).backward()
""",
        """\
import torch.nn as nn

rnn = nn.GRU(8, 16)
h = h0
for x in batches:
    h = h.detach()
    out, h = rnn(x, h)
    out.sum().backward(retain_graph=True)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for site in facts.calls:
            retain = keyword_arg(site.node, "retain_graph")
            old_spelling = keyword_arg(site.node, "retain_variables")  # torch < 0.4
            retain = retain if old_spelling is None else old_spelling
            if site.loop is None or not (isinstance(retain, cst.Name) and retain.value == "True"):
                continue
            if facts.grad_event(site) not in ("backward", "scaled-backward"):
                continue
            call = next((c for c in facts.recurrent_calls if carried_state_loop(facts, c, site.loop)), None)
            if old_spelling is not None and facts.has_recurrent_code:
                yield Violation(self.code, self.name, site.node, self.old_spelling_message.format(
                    call=facts.source(site.node), loop=facts.loop_header(site.loop)), {"old_spelling": True})
            elif call is not None:
                yield self.violation(site.node, data=graph_data(call), call=facts.source(site.node),
                                     state=facts.source(call.state_arg), loop=facts.loop_header(site.loop),
                                     fix=detach_fix(facts, call).text)


class BrokenVariableIdiom(Rule):
    code = "HS106"
    name = "broken-variable-idiom"
    summary = "type(h) == Variable: always False since torch 0.4, so the repackage helper takes the wrong branch"
    message = (
        "`{test}` is always {value} on torch >= 0.4 (Variable and Tensor were merged), so the state is never "
        "detached: write `isinstance({operand}, torch.Tensor)`"
    )
    rationale = (
        "The pre-0.4 `repackage_hidden` helper tested `type(h) == Variable` to tell a state tensor from a tuple "
        "of them. Since 0.4 `Variable(...)` returns a plain `torch.Tensor`, so the test is never true: the "
        "helper recurses into the tensor itself, building a tuple of its slices (or failing on a 0-d tensor), "
        "and the state is never detached."
    )
    torch_error = "TypeError: iteration over a 0-d tensor (or no error and a state split into slices)"
    fix_summary = "Writes `isinstance(h, torch.Tensor)` (`not isinstance(...)` for `!=`)"
    bad = (
        """\
from torch.autograd import Variable


def repackage_hidden(h):
    if type(h) == Variable:
        return Variable(h.data)
    return tuple(repackage_hidden(v) for v in h)
""",
    )
    good = (
        """\
import torch


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)
""",
        """\
import torch

def describe(x):
    if type(x) == torch.Tensor:
        return "plain tensor"
    return "subclass"
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        found = [(node, isinstance(target.operator, (cst.Equal, cst.Is)))
                 for node, _ in facts.type_comparisons for target in node.comparisons
                 if isinstance(target.operator, (cst.Equal, cst.Is, cst.NotEqual, cst.IsNot))
                 and facts.qualify(target.comparator) in VARIABLE_CLASSES]
        if not found or targets_old_torch(facts):  # the era may ask other modules: only when there is a test
            return
        for node, equal in found:
            yield self.violation(node, test=facts.source(node), value="False" if equal else "True",
                                 operand=facts.source(node.left.args[0].value))

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        """``type(h) == Variable`` -> ``isinstance(h, torch.Tensor)`` (negated for ``!=`` / ``is not``),
        spelled through the file's own ``import torch``; no fix when torch is not imported as a module."""
        torch_name = next((local for local, origin in facts.imports.items() if origin == "torch"), None)
        node = violation.node
        if torch_name is None or len(node.comparisons) != 1:
            return None
        operand = facts.source(node.left.args[0].value)
        negated = isinstance(node.comparisons[0].operator, (cst.NotEqual, cst.IsNot))
        test = f"{'not ' if negated else ''}isinstance({operand}, {torch_name}.Tensor)"
        return Fix((replace(node, cst.parse_expression(test)),))
