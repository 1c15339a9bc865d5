"""HS310: a state handed to a model whose ``forward`` has no parameter for it, or never uses the one it binds.

The training loop carries ``h`` from batch to batch (``out, h = model(x, h)``), detaches it, resets it each
epoch; and ``forward(self, x, hidden)`` runs ``self.lstm(x)``: the state the caller so carefully carries never
reaches the layer, and every batch starts from zeros. Where the argument lands is read from ``forward``'s
signature (this file's class, or another module's through its summary); whether ``forward`` uses it, from
reaching definitions (a parameter overwritten before any read, or only tested, is never used).
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import FileFacts, RecurrentCall, Scope
from hs_lint.names import flat_keys, keyword_arg, positional_args
from hs_lint.project.summary import Signature
from hs_lint.rule import Rule, Violation



class StateNotReceived(Rule):
    code = "HS310"
    name = "state-not-received"
    summary = "A state is passed to a model whose forward has no parameter for it, or never uses it"
    message = "`{call}` passes the state `{state}`{landing}: {effect}; {fix}"
    rationale = (
        "A caller that passes a hidden state to a model expects the model to continue from it: the loop carries "
        "it, detaches it, resets it between epochs. When `forward` has no parameter for it the call raises "
        "TypeError; when the parameter it binds is never used (forward runs `self.lstm(x)`, overwrites the "
        "parameter with a fresh state before reading it, or only tests it: `hidden is None`) the state is dropped "
        "without a word, and every call starts from a zero state: a stateful model trained and evaluated as a "
        "stateless one. Read the parameter and hand it to the recurrent layer, or stop passing it."
    )
    torch_error = ("TypeError: forward() takes 2 positional arguments but 3 were given; or, when forward has "
                   "the parameter and ignores it, nothing: the output is the one a zero state gives.")
    bad = (
        """\
import torch.nn as nn


class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.head = nn.Linear(64, 100)

    def forward(self, tokens, hidden=None):
        out, hidden = self.lstm(self.embed(tokens))
        return self.head(out), hidden


def train(model, batches):
    hidden = None
    for tokens, targets in batches:
        logits, hidden = model(tokens, hidden)
        hidden = tuple(h.detach() for h in hidden)


train(CharModel(), [])
""",
        """\
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)

    def forward(self, x):
        return self.gru(x)


def run(model, chunks, h):
    for x in chunks:
        out, h = model(x, h)
        h = h.detach()


run(Tagger(), [], None)
""",
    )
    good = (
        """\
import torch.nn as nn


class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 32)
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.head = nn.Linear(64, 100)

    def forward(self, tokens, hidden=None):
        out, hidden = self.lstm(self.embed(tokens), hidden)
        return self.head(out), hidden


def train(model, batches):
    hidden = None
    for tokens, targets in batches:
        logits, hidden = model(tokens, hidden)
        hidden = tuple(h.detach() for h in hidden)


train(CharModel(), [])
""",
        """\
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)

    def forward(self, x, h=None):
        if h is None:
            h = x.new_zeros(1, x.size(1), 16)
        return self.gru(x, h)


def run(model, chunks, h):
    for x in chunks:
        out, h = model(x, h)
        h = h.detach()


run(Tagger(), [], None)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call in facts.recurrent_calls:
            cls = call.callee.cls
            if call.callee.kind != "instance" or cls is None or call.held \
                    or any(a.star for a in call.site.node.args) or facts.method_of(cls, "__call__") is not None:
                continue
            forward = facts.method_of(cls, "forward")
            signature = facts.signature(forward) if forward is not None else None
            if forward is None or signature is None:
                continue
            for position, keyword, arg in _state_arguments(facts, call, forward):
                param = signature.receiver(position, keyword, skip=1)
                if param is None or param in signature.unread:
                    yield self._report(facts, call, forward, signature, arg, keyword, param)
                    break

    def _report(self, facts: FileFacts, call: RecurrentCall, forward: Scope, signature: Signature,
                arg: cst.BaseExpression, keyword: str | None, param: str | None) -> Violation:
        owner = f"{forward.cls.name}.forward" if forward.cls is not None else "forward"
        if param is None:
            shown = ", ".join(signature.positional)
            landing = f", but `{owner}` has no parameter `{keyword}`" if keyword else \
                f", but `{owner}({shown})` has no parameter for it"
            effect, fix = "the call raises TypeError", "add one to forward and hand it to its recurrent layer"
        else:
            inner = _inner_calls(facts, forward)
            landing = f" as `{param}` of `{owner}`, which never uses it"
            effect = "every call starts from a zero state" if inner and all(c.state_arg is None for c in inner) \
                else "the state you carry is ignored"
            fix = f"pass it on: `{_passing(facts, inner[0], param)}`" if len(inner) == 1 \
                else "hand it to the recurrent layer inside forward"
        return self.violation(call.site.node, data={"param": param, "forward": owner},
                              call=facts.source(call.site.node), state=facts.source(arg), landing=landing,
                              effect=effect, fix=fix)


def _state_arguments(facts: FileFacts, call: RecurrentCall, forward: Scope) -> Iterator[
        tuple[int | None, str | None, cst.BaseExpression]]:
    """The arguments after the input that hold a state: a state made anew (``model.init_hidden(b)``,
    ``torch.zeros(...)``), or the names the call rebinds where forward returns its recurrent layer's state
    (``out, h = model(x, h)``; not an attention context carried beside it), with their position among the call's
    positional arguments, or their keyword."""
    site = call.site
    returned = _returned_state_keys(facts, call, facts.state_position(forward))
    position = -1
    for arg in site.node.args:
        if arg.keyword is None:
            position += 1
            if position == 0:
                continue
        value = facts.passed_value(arg.value, site)
        held = facts.temporary_value(arg.value, site.scope) if isinstance(arg.value, cst.Name) else None
        if returned.intersection(flat_keys(value)) or facts.fresh_state(held or value, site.scope):
            yield (position if arg.keyword is None else None,
                   arg.keyword.value if arg.keyword is not None else None, arg.value)


def _returned_state_keys(facts: FileFacts, call: RecurrentCall, position: int | None) -> frozenset[str]:
    """The keys the call binds at ``position`` of its result: ``out, h = model(x, h)`` -> ``h``."""
    target = call.site.target
    if position is None:
        return frozenset()
    if isinstance(target, cst.Tuple):
        return frozenset(flat_keys(target.elements[position].value)) if position < len(target.elements) \
            else frozenset()
    return frozenset(k for assign in facts.result_reads(call.site).get(position, ()) for k in assign.target_keys)


def _inner_calls(facts: FileFacts, forward: Scope) -> list[RecurrentCall]:
    """The torch recurrent modules ``forward`` runs (none known for another module's class)."""
    return [c for c in facts.recurrent_calls if c.site.scope is forward and c.callee.kind == "module"]


def _passing(facts: FileFacts, inner: RecurrentCall, param: str) -> str:
    """``self.lstm(emb)`` -> ``self.lstm(emb, hidden)``: the call with ``param`` as its state."""
    node = inner.site.node
    state = cst.Arg(cst.Name(param))
    positional = positional_args(node)
    if keyword_arg(node, "hx") is not None:
        args = [a.with_changes(value=cst.Name(param)) if a.keyword is not None and a.keyword.value == "hx"
                else a for a in node.args]
    elif len(positional) >= 2:
        args = [state.with_changes(comma=a.comma) if a.value is positional[1] else a for a in node.args]
    else:
        args = [*(a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in node.args), state]
    return facts.source(node.with_changes(args=args))
