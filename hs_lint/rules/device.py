"""HS4xx: where a hidden state lives (device)."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import TENSOR_FACTORIES, FileFacts, Scope
from hs_lint.names import flat_keys, key_of, keyword_arg, method_name, positional_args, receiver
from hs_lint.rule import Rule, Violation

_MOVES = frozenset({"to", "cuda", "type_as"})


def _factories(facts: FileFacts, value: cst.BaseExpression | None) -> list[cst.Call]:
    """``torch.zeros(...)`` or ``(torch.zeros(...), torch.zeros(...))`` without ``device=``."""
    values = [e.value for e in value.elements] if isinstance(value, cst.Tuple) else [value]
    values = [v.left if isinstance(v, cst.BinaryOperation) else v for v in values]  # ``torch.randn(...) * 0.01``
    return [
        v for v in values
        if isinstance(v, cst.Call) and facts.qualify(v.func) in TENSOR_FACTORIES and keyword_arg(v, "device") is None
    ]


def _device_move(facts: FileFacts, scope: Scope) -> str | None:
    """The device the scope moves its model or inputs to (``.to(device)`` / ``.cuda()``), if it does."""
    for site in facts.calls_in(scope):
        name = method_name(site.node)
        if name == "cuda":
            return "'cuda'"
        args = positional_args(site.node) or [keyword_arg(site.node, "device")]
        if name == "to" and args[0] is not None:
            text = facts.source(args[0])
            if any(word in text.lower() for word in ("device", "cuda", "gpu")):
                return text
    return None


def _state_factories(facts: FileFacts, scope: Scope, state: cst.BaseExpression | None) -> list[cst.Call]:
    """Factories that build the state passed in ``state``, inline or through local assignments."""
    found = _factories(facts, state)
    keys = set(flat_keys(state))
    for site in facts.assignments:
        if site.scope is not scope or not keys.intersection(site.target_keys):
            continue
        moved = isinstance(site.value, cst.Call) and method_name(site.value) in _MOVES
        if moved and key_of(receiver(site.value)) in keys:
            return []  # ``h = h.to(x.device)`` later on
        if len(site.targets) == 1:
            found.extend(_factories(facts, site.value))
    return found


class HiddenDevice(Rule):
    code = "HS401"
    name = "hidden-device"
    summary = "An initial hidden state is created without device= where the model or its input may be on a GPU"
    message = (
        "`{call}` creates the initial state on the CPU (no `device=`), {where}: once the model runs on a GPU "
        "the recurrent layer raises 'Input and hidden tensors are not at the same device'. Create it on the "
        "input's device: `{fix}` (or `weight.new_zeros(...)` / `torch.zeros_like(...)`)"
    )
    rationale = (
        "`torch.zeros(...)` without `device=` always allocates on the CPU. A module whose forward (or "
        "`init_hidden`) builds its h0/c0 this way works in CPU tests and fails the first time the model is "
        "moved to a GPU; a script that moves the model and the batches with `.to(device)` but not the state "
        "fails the same way."
    )
    torch_error = (
        "RuntimeError: Input and hidden tensors are not at the same device, found input tensor at cuda:0 and "
        "hidden tensor at cpu"
    )
    bad = (
        """\
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(1), 16)
        out, h = self.gru(x, h0)
        return out
""",
        """\
import torch
import torch.nn as nn

device = torch.device("cuda")
rnn = nn.GRU(8, 16).to(device)
for x in batches:
    h0 = torch.zeros(1, x.size(1), 16)
    out, h = rnn(x.to(device), h0)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(1), 16, device=x.device)
        out, h = self.gru(x, h0)
        return out
""",
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(8, 16)
for x in batches:
    h0 = torch.zeros(1, x.size(1), 16)
    out, h = rnn(x, h0)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        moves: dict[int, str | None] = {}  # _device_move by scope: once each, not once per call
        for call in facts.recurrent_calls:
            scope = call.site.scope
            inputs = positional_args(call.site.node)
            device = f"{facts.source(inputs[0])}.device" if inputs and key_of(inputs[0]) else "x.device"
            if scope.cls is not None and scope.cls.is_recurrent:
                where = f"inside `{scope.cls.name}.{scope.name}`, which feeds it to its recurrent layer"
            elif (moved := moves[id(scope)] if id(scope) in moves
                  else moves.setdefault(id(scope), _device_move(facts, scope))) is not None:
                where, device = f"while this code moves the model or its inputs with `.to({moved})`", moved
            else:
                continue
            for factory in _state_factories(facts, scope, call.state_arg):
                yield self._report(facts, factory, where, device)
        for cls in facts.classes.values():
            for method in cls.methods.values() if cls.is_recurrent else ():
                if facts.is_state_initialiser(method):
                    where = f"in `{cls.name}.{method.name}`, the state its recurrent layer starts from"
                    for value in method.returns:
                        for factory in _state_factories(facts, method, value):
                            yield self._report(facts, factory, where, "next(self.parameters()).device")

    def _report(self, facts: FileFacts, factory: cst.Call, where: str, device: str) -> Violation:
        args = ", ".join(facts.source(a.value) for a in factory.args)
        fix = f"{facts.source(factory.func)}({args}, device={device})"
        return self.violation(factory, call=facts.source(factory), where=where, fix=fix)
