"""HS1xx: the autograd graph carried across training steps."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from hs_lint.facts import TUPLE_STATE_KINDS, FileFacts, Flow, Loop, RecurrentCall
from hs_lint.fix import Fix, insert_before, replace_statement
from hs_lint.names import flat_keys, key_of, method_name, receiver, root_key
from hs_lint.rule import Rule, Violation


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


def detach_fix(facts: FileFacts, call: RecurrentCall) -> DetachFix:
    """The line to write at the top of the loop body (tuple- and None-aware), and a note."""
    keys = [k for k in flat_keys(call.state_arg) if k in call.carried_keys]
    if len(keys) > 1:
        assignment = f"{', '.join(keys)} = {', '.join(f'{k}.detach()' for k in keys)}"
    elif call.callee.recurrent_kind in TUPLE_STATE_KINDS:
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
        note = f" (if it is an LSTM's (h, c) tuple: `{keys[0]} = tuple(s.detach() for s in {keys[0]})`)"
    # A wrapper class or helper may hand back its own structure (a list of per-layer states, ...).
    callee = call.callee
    certain = callee.module_kind is not None or (callee.cls is not None and callee.cls.recurrent_kind is not None)
    return DetachFix(assignment, nullable[0] if nullable else None, note, certain)


class CarriedWithoutDetach(Rule):
    code = "HS101"
    name = "hidden-state-carried-without-detach"
    summary = "A hidden state is fed into the next iteration of a loop that calls backward() without .detach()"
    message = (
        "hidden state `{state}` is fed back into the next iteration of `{loop}` without .detach(), and that "
        "loop calls backward() every iteration: the next backward() runs into the previous step's freed graph "
        "('Trying to backward through the graph a second time'), or the graph and memory grow every step. "
        "Detach it at the top of the loop body: `{fix}`{note}"
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
                    call.state_arg, state=facts.source(call.state_arg), loop=facts.loop_header(loop), fix=fix.text,
                    note=fix.note,
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
        "`{call}` returns a new tensor and the result is dropped here, so `{target}` is unchanged ({effect}): "
        "write `{target} = {call}`"
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
            if root_key(target) in facts.state_keys(site.scope):
                yield self.violation(
                    site.node,
                    call=facts.source(site.node),
                    target=facts.source(target),
                    effect=_DROPPED_EFFECT[name],
                )

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        call = violation.node  # the dropped call, ``h.detach()``
        target = receiver(call)
        assign = cst.Assign(targets=[cst.AssignTarget(target)], value=call)
        return Fix((replace_statement(call, assign),), safe=key_of(target) is not None)
