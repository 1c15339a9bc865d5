"""HS308: a module-held state detached before each randomly drawn sample, but never re-created."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import ClassInfo, FileFacts, Flow, Loop
from hs_lint.names import descendants, key_of, referenced_keys
from hs_lint.rule import Rule, Violation

# Calls that draw a random order of sample indices.
_PERMUTATIONS = frozenset({"torch.randperm", "numpy.random.permutation", "random.sample"})


def _holders(facts: FileFacts) -> dict[str, ClassInfo]:
    """Attribute names a class's forward keeps its carried state in (``self.hidden`` -> "hidden")."""
    found = {}
    for call in facts.recurrent_calls:
        scope = call.site.scope
        if scope.cls is not None and scope.name == "forward":
            for key in call.carried_keys:
                if key.startswith("self.") and key.count(".") == 1:
                    found[key[5:]] = scope.cls
    return found


def _recreated(facts: FileFacts, attr: str, cls: ClassInfo) -> bool:
    """Something other than ``__init__`` and the forward's own update gives ``attr`` a fresh value."""
    for site in facts.assignments:
        keys = [k for k in site.target_keys if k.rsplit(".", 1)[-1] == attr and "." in k]
        if not keys or site.value is None:
            continue
        if site.scope.cls is cls and site.scope.name in ("__init__", "forward"):
            continue
        if not set(keys).intersection(referenced_keys(site.value)):
            return True  # ``model.hidden = model.init_hidden()``
    return False


def _random_order(facts: FileFacts, loop: Loop) -> str | None:
    """The permutation the loop takes its samples from: ``perm = torch.randperm(n)`` read inside it."""
    permutations = {}
    for site in facts.assignments:
        value = site.value
        while isinstance(value, cst.Subscript):  # ``torch.randperm(n)[:k]``
            value = value.value
        if isinstance(value, cst.Call) and facts.qualify(value.func) in _PERMUTATIONS and len(site.targets) == 1:
            key = key_of(site.targets[0])
            if key is not None:
                permutations[(id(site.scope), key)] = key
    for node, scope in facts.subscripts:
        found = permutations.get((id(scope), key_of(node.value) or ""))
        if found is not None and scope is loop.scope and any(n is node for n in descendants(loop.node)):
            return found
    return None


class DetachWithoutReset(Rule):
    code = "HS308"
    name = "detach-without-reset"
    summary = "A module-held state is detached before each randomly drawn sample but never re-created"
    message = (
        "`{target}` is only detached before each sample of `{loop}`, drawn in the random order `{order}`, and never "
        "re-created: each sample starts from another's final state. Reset it: `{fix}`"
    )
    rationale = (
        "Detaching a carried state cuts the gradient but keeps the values. That is right for consecutive "
        "chunks of one long sequence, and wrong for independent samples: when the clips are drawn in random "
        "order, every clip starts from the final state of whatever clip came before it, so predictions depend "
        "on the sampling order and training sees a state that evaluation never has. Independent samples "
        "need a fresh state each."
    )
    torch_error = "No error: the model trains on states left over from unrelated samples."
    bad = (
        """\
import torch
import torch.nn as nn


class ClipNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 12)
        self.hidden = self.init_hidden()

    def init_hidden(self):
        weight = self.lstm.weight_hh_l0
        return (weight.new_zeros(1, 1, 12), weight.new_zeros(1, 1, 12))

    def forward(self, clip):
        out, self.hidden = self.lstm(clip, self.hidden)
        return out[-1]


def fit(model, clips, optimizer):
    order = torch.randperm(len(clips))
    for i in range(len(clips)):
        model.hidden = tuple(s.detach() for s in model.hidden)
        loss = model(clips[order[i]]).pow(2).mean()
        loss.backward()
        optimizer.step()
""",
    )
    good = (
        """\
import torch
import torch.nn as nn


class ClipNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 12)
        self.hidden = self.init_hidden()

    def init_hidden(self):
        weight = self.lstm.weight_hh_l0
        return (weight.new_zeros(1, 1, 12), weight.new_zeros(1, 1, 12))

    def forward(self, clip):
        out, self.hidden = self.lstm(clip, self.hidden)
        return out[-1]


def fit(model, clips, optimizer):
    order = torch.randperm(len(clips))
    for i in range(len(clips)):
        model.hidden = model.init_hidden()
        loss = model(clips[order[i]]).pow(2).mean()
        loss.backward()
        optimizer.step()


def fit_stream(model, chunks, optimizer):
    for chunk in chunks:
        model.hidden = tuple(s.detach() for s in model.hidden)
        loss = model(chunk).pow(2).mean()
        loss.backward()
        optimizer.step()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        holders = _holders(facts)
        if not holders:
            return
        for site in facts.assignments:
            if site.loop is None or not site.loop.has_backward or len(site.targets) != 1 or site.value is None:
                continue
            target = key_of(site.targets[0])
            attr = target.rsplit(".", 1)[-1] if target and "." in target else None
            cls = holders.get(attr or "")
            if cls is None or target.startswith("self.") or _recreated(facts, attr, cls):
                continue
            if facts.flow(site.value, frozenset({target}), site.scope) is not Flow.DETACHED:
                continue
            order = _random_order(facts, site.loop)
            if order is not None:
                yield self.violation(site.node, target=target, loop=facts.loop_header(site.loop), order=order,
                                     fix=self._fix(facts, target, cls))

    @staticmethod
    def _fix(facts: FileFacts, target: str, cls: ClassInfo) -> str:
        owner = target.rsplit(".", 1)[0]
        initialiser = next((m for m in cls.methods.values() if facts.is_state_initialiser(m)), None)
        if initialiser is not None and len(initialiser.params) == 1:
            return f"{target} = {owner}.{initialiser.name}()"
        return f"{target} = None (or a fresh zero state) before each sample"

