"""HS3xx: where a hidden state starts, how long it lives, and where it leaks."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import (
    TENSOR_FACTORIES, AssignSite, CallSite, ClassInfo, FileFacts, Flow, Loop, RecurrentCall, Scope,
)
from hs_lint.names import key_of, method_name, receiver, root_key
from hs_lint.rule import Rule, Violation
from hs_lint.rules.graph import detach_fix


def batch_loop(facts: FileFacts, call: RecurrentCall) -> Loop | None:
    """The training loop whose batches hand the state of ``call`` on to each other (detached or not).

    Climbs from the innermost loop to the first one that runs backward(), as long as no loop on
    the way re-initialises, masks or hides the state: a decoder's time-step loop is not it.
    """
    keys = call.carried_keys
    if not keys or call.site.no_grad:
        return None
    for loop in call.loops:
        if loop.no_grad or facts.resets(loop, keys, call):
            return None
        if loop.has_backward:
            return loop
    return None


class NoEpochReset(Rule):
    code = "HS301"
    name = "no-epoch-reset"
    summary = "A state created once before the epoch loop is carried through every epoch without a reset"
    message = (
        "`{state}` is created once here, before `{epoch}`, and then carried through every epoch's `{batch}` "
        "without being re-created: the first batch of each epoch continues from the last batch of the previous "
        "epoch (the end of the data), as if the corpus wrapped around. Create the state at the start of each "
        "epoch: move `{line}` into the body of `{epoch}`, before `{batch}`"
    )
    rationale = (
        "Truncated BPTT carries the state from one batch to the next because consecutive batches continue the "
        "same streams. At an epoch boundary the stream starts over, so the carried state is the context of "
        "unrelated text: the model learns to depend on it and the first steps of every epoch are trained on a "
        "wrong context. pytorch/examples re-creates the state (`model.init_hidden(batch_size)`) at the start "
        "of every epoch."
    )
    torch_error = "Nothing: the model trains, with a state leaking from the end of one epoch into the next."
    bad = (
        """\
import torch.nn as nn

rnn = nn.GRU(8, 16)
h = None
for epoch in range(10):
    for x in batches:
        if h is not None:
            h = h.detach()
        out, h = rnn(x, h)
        out.sum().backward()
""",
    )
    good = (
        """\
import torch.nn as nn

rnn = nn.GRU(8, 16)
for epoch in range(10):
    h = None
    for x in batches:
        if h is not None:
            h = h.detach()
        out, h = rnn(x, h)
        out.sum().backward()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call in facts.recurrent_calls:
            batch = batch_loop(facts, call)
            epoch = batch.parent if batch is not None else None
            if epoch is None or facts.resets(epoch, call.carried_keys, call):
                continue
            created = facts.created_before(call.carried_keys, epoch)
            if created is not None:
                yield self.violation(
                    created.node, state=facts.source(call.state_arg), epoch=facts.loop_header(epoch),
                    batch=facts.loop_header(batch), line=facts.source(created.node).strip(),
                )


class TrainEvalLeak(Rule):
    code = "HS302"
    name = "train-eval-leak"
    summary = "The training loop's last hidden state is the starting state of the evaluation loop"
    message = (
        "`{state}` enters the evaluation loop `{loop}`{where} still holding the training loop's last state: "
        "evaluation starts from the context of the last training batch, so its score depends on what was "
        "trained last and is not comparable between runs. Start evaluation from a fresh state: re-create "
        "`{state}` (zeros, `None` or the model's `init_hidden`) right before the loop"
    )
    rationale = (
        "The state carried through a training loop encodes the training stream. Handing it to the evaluation "
        "loop leaks training context into validation or test scores (and the batch size may not even match). "
        "Evaluation, like each training epoch, should start from its own initial state."
    )
    torch_error = "Nothing (or a batch-size mismatch when the evaluation batch size differs)."
    bad = (
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(8, 16)
h = None
for x in train_batches:
    if h is not None:
        h = h.detach()
    out, h = rnn(x, h)
    out.sum().backward()
with torch.no_grad():
    for x in val_batches:
        out, h = rnn(x, h)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(8, 16)
h = None
for x in train_batches:
    if h is not None:
        h = h.detach()
    out, h = rnn(x, h)
    out.sum().backward()
h = None
with torch.no_grad():
    for x in val_batches:
        out, h = rnn(x, h)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        trained = [(call, loop) for call in facts.recurrent_calls if (loop := batch_loop(facts, call)) is not None]
        for call in facts.recurrent_calls:
            evaluation = _evaluation_loop(facts, call) if trained else None  # once per call, not per loop
            # nearest training loop first: any one of them makes the same finding
            for source, train in reversed(trained) if evaluation is not None else ():
                shared = frozenset(call.state_keys & source.carried_keys)
                if (not shared or source.site.scope is not call.site.scope or evaluation.index < train.index
                        or train.encloses(evaluation) or evaluation.encloses(train)):
                    continue
                if not _assigned_between(facts, shared, train.index, evaluation.index, train):
                    yield self.violation(call.state_arg, state=facts.source(call.state_arg),
                                         loop=facts.loop_header(evaluation), where="")
                    break
        yield from self._passed_to_evaluation(facts, trained)

    def _passed_to_evaluation(self, facts: FileFacts, trained: list[tuple[RecurrentCall, Loop]]) -> Iterator[Violation]:
        """``evaluate(model, val_data, hidden)`` after training: the helper's evaluation loop starts from it."""
        helpers: dict[int, list[tuple[CallSite, Scope]]] = {}  # each scope's calls of same-file functions
        for source, train in trained:
            scope = source.site.scope
            if id(scope) not in helpers:
                helpers[id(scope)] = [(site, function) for site in facts.calls_in(scope)
                                      if (function := facts.method_called(site.node, scope)) not in (None, scope)]
            for site, function in helpers[id(scope)]:
                if site.index < source.site.index:
                    continue
                for param, arg in facts.bound_arguments(site, function).items():
                    key = key_of(arg)
                    if key not in source.carried_keys or _assigned_between(
                            facts, frozenset({key}), source.site.index, site.index, None, scope):
                        continue
                    evaluation = _evaluation_of_param(facts, function, param)
                    if evaluation is not None:
                        yield self.violation(arg, state=key, loop=facts.loop_header(evaluation),
                                             where=f" of `{function.name}()`")


def _evaluation_loop(facts: FileFacts, call: RecurrentCall) -> Loop | None:
    """The outermost loop around ``call`` that evaluates (``no_grad``/``eval()``, no backward) and lets
    the state in from before it: no re-initialisation or mask inside."""
    loop = call.site.loop
    if loop is None or call.state_arg is None:
        return None
    while loop.parent is not None and not loop.parent.has_backward:
        loop = loop.parent
    evaluates = call.site.no_grad or facts.in_eval_mode(loop)
    if loop.has_backward or not evaluates or facts.resets(loop, call.state_keys, call):
        return None
    return loop


def _evaluation_of_param(facts: FileFacts, function: Scope, param: str) -> Loop | None:
    """The evaluation loop of ``function`` that starts from its parameter ``param`` as it was passed."""
    for call in facts.recurrent_calls:
        if call.site.scope is not function or param not in call.state_keys:
            continue
        loop = _evaluation_loop(facts, call)
        if loop is not None and not _assigned_between(facts, frozenset({param}), -1, loop.index, None, function):
            return loop
    return None


def _assigned_between(facts: FileFacts, keys: frozenset[str], start: int, end: int, skip: Loop | None,
                      scope: Scope | None = None) -> bool:
    """The state is assigned in ``scope`` between two points (``skip``: the training loop itself)."""
    return any(
        keys.intersection(site.target_keys)
        and not (skip is not None and site.loop is not None and skip.encloses(site.loop))
        for site in facts.assignments_between(scope or skip.scope, start, end)
    )


class ModuleHeldState(Rule):
    code = "HS303"
    name = "module-held-state"
    summary = "forward() keeps its state on self, never detaches it, and nothing resets it per epoch or sequence"
    message = (
        "`forward` keeps the recurrent state on the module (`{state}`) and feeds it back in on every call, but "
        "never detaches it, and no loop in this file resets it: every batch continues the previous batch's "
        "sequence and graph ('Trying to backward through the graph a second time'), and evaluation starts "
        "from training's last state. Detach it in forward (`{fix}`) and reset it (`{attr} = None`) at the "
        "start of every sequence or epoch"
    )
    rationale = (
        "Storing the state on the module hides it from the training loop: the loop cannot see that every call "
        "continues from the previous one. Without a detach inside forward the graph spans all batches; "
        "without a reset called from the loop, one sequence's state leaks into the next and training state "
        "leaks into evaluation."
    )
    torch_error = (
        "RuntimeError: Trying to backward through the graph a second time (on the second batch), or nothing "
        "and a state leaking between sequences when it is detached elsewhere."
    )
    bad = (
        """\
import torch.nn as nn


class Stateful(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)
        self.hidden = None

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        return out


model = Stateful()
for x in batches:
    model(x).sum().backward()
""",
    )
    good = (
        """\
import torch.nn as nn


class Stateful(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)
        self.hidden = None

    def reset_state(self):
        self.hidden = None

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        return out


model = Stateful()
for x in sequences:
    model.reset_state()
    model(x).sum().backward()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        if not any(loop.has_backward for loop in facts.loops):
            return
        for call in facts.recurrent_calls:
            scope, cls = call.site.scope, call.site.scope.cls
            keys = frozenset(k for k in call.carried_keys if k.startswith("self."))
            if cls is None or scope.name != "forward" or not keys or call.callee.detaches_input:
                continue
            if facts.flow(call.state_arg, keys, scope) is not Flow.CARRIED or _detached_in(facts, scope, keys):
                continue
            attrs = {key.split(".", 1)[1] for key in keys}
            if not _reset_in_a_loop(facts, cls.methods, attrs):
                fix = detach_fix(facts, call).text
                yield self.violation(call.state_arg, state=facts.source(call.state_arg), fix=fix,
                                     attr=sorted(keys)[0])


def _detached_in(facts: FileFacts, scope: Scope, keys: frozenset[str]) -> bool:
    """forward cuts the held state's history itself (``self.h = self.h.detach()``, ``self.h.detach_()``)."""
    return any(
        site.scope is scope and keys.intersection(site.target_keys)
        and facts.flow(site.value, keys, scope) is Flow.DETACHED
        for site in facts.assignments
    ) or any(site.scope is scope and root_key(receiver(site.node)) in keys for site in facts.detach_calls)


def _reset_in_a_loop(facts: FileFacts, methods: dict[str, Scope], attrs: set[str]) -> bool:
    """A loop of the file re-assigns the attribute (``model.hidden = None``) or calls a method that does."""
    resetting = {
        name for name, method in methods.items()
        if name != "forward" and any(
            site.scope is method and any(k.split(".", 1)[-1] in attrs for k in site.target_keys
                                         if k.startswith("self."))
            for site in facts.assignments
        )
    }
    return any(site.loop is not None and method_name(site.node) in resetting for site in facts.calls) or any(
        site.loop is not None and any(k.rsplit(".", 1)[-1] in attrs and "." in k for k in site.target_keys)
        for site in facts.assignments
    )


class ShuffledCarry(Rule):
    code = "HS304"
    name = "shuffled-carry"
    summary = "A hidden state is carried across the batches of a shuffling DataLoader"
    message = (
        "`{state}` is carried from one batch of `{loop}` into the next, but `{loader}` shuffles ({how}): "
        "consecutive batches are unrelated samples, so every batch starts from the state of some other "
        "random batch. Start each batch from a fresh state (`{state} = None` or zeros inside the loop), or, for "
        "a continuous stream, iterate in order (shuffle=False, drop_last=True)"
    )
    rationale = (
        "Carrying a state across batches only makes sense when batch i+1 continues the sequences of batch i "
        "(an ordered stream, batchified column-wise). A shuffled DataLoader breaks that: the carried state is "
        "noise from another sample, and the model learns to rely on a context that is never there at "
        "inference."
    )
    torch_error = "Nothing: the model trains worse, on a state from the wrong samples."
    bad = (
        """\
import torch.nn as nn
from torch.utils.data import DataLoader

rnn = nn.GRU(8, 16)
loader = DataLoader(dataset, batch_size=32, shuffle=True)
h = None
for x, y in loader:
    if h is not None:
        h = h.detach()
    out, h = rnn(x, h)
    out.sum().backward()
""",
    )
    good = (
        """\
import torch.nn as nn
from torch.utils.data import DataLoader

rnn = nn.GRU(8, 16)
loader = DataLoader(dataset, batch_size=32, shuffle=True)
for x, y in loader:
    out, h = rnn(x)
    out.sum().backward()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call in facts.recurrent_calls:
            loop = batch_loop(facts, call)
            loader = facts.loader_of(loop) if loop is not None else None
            if loader is None or loader.detail != "shuffled":
                continue
            shuffle = next((a for a in loader.construction.args if a.keyword is not None
                            and a.keyword.value in ("shuffle", "sampler", "batch_sampler")), None)
            yield self.violation(
                call.state_arg, state=facts.source(call.state_arg), loop=facts.loop_header(loop),
                loader=facts.source(loop.node.iter), how=facts.source(shuffle).strip(", ") if shuffle else "shuffle",
            )


class DeadReset(Rule):
    code = "HS305"
    name = "dead-reset"
    summary = "A state is stored on the model (model.hidden = ...) but forward() never reads that attribute"
    message = (
        "`{target}` is given a fresh state here, but `{cls}.forward` never reads `self.{attr}` (nothing in this "
        "file reads `.{attr}`): this neither resets nor feeds the state that forward actually uses. Pass the "
        "state in (`out, hidden = model(x, hidden)`) or make forward read `self.{attr}`"
    )
    rationale = (
        "`model.hidden = model.init_hidden(bsz)` looks like a reset. If forward takes its state from an argument "
        "or creates its own, the assignment is dead: the author believes the state is re-initialised (or "
        "carried) when the real one is not, and bugs like a missing per-epoch reset stay hidden."
    )
    torch_error = "Nothing: the assignment has no effect."
    bad = (
        """\
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)

    def init_hidden(self, bsz):
        return (torch.zeros(1, bsz, 16), torch.zeros(1, bsz, 16))

    def forward(self, x, hidden=None):
        return self.lstm(x, hidden)


model = Model()
model.hidden = model.init_hidden(4)
""",
    )
    good = (
        """\
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)

    def init_hidden(self, bsz):
        return (torch.zeros(1, bsz, 16), torch.zeros(1, bsz, 16))

    def forward(self, x):
        out, self.hidden = self.lstm(x, self.hidden)
        return out


model = Model()
model.hidden = model.init_hidden(4)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for site in facts.assignments:
            if len(site.targets) != 1 or not isinstance(site.targets[0], cst.Attribute):
                continue
            target, value = site.targets[0], site.value
            attr = target.attr.value
            cls = _class_of(facts, site, target.value, value)
            if (cls is None or not cls.is_recurrent or "forward" not in cls.methods
                    or attr in facts.attribute_reads or not _creates_state(facts, site)):
                continue
            yield self.violation(site.node, target=facts.source(target), cls=cls.name, attr=attr)


def _class_of(
    facts: FileFacts, site: AssignSite, owner: cst.BaseExpression, value: cst.BaseExpression | None
) -> ClassInfo | None:
    """The same-file class of ``owner`` in ``owner.attr = value``: ``self``, a bound instance, or the
    class whose method produces ``value`` (``model.hidden = model.init_hidden(4)``)."""
    key = key_of(owner)
    if key == "self":
        return site.scope.cls
    binding = facts.lookup(key, site.scope) if key is not None else None
    if binding is not None:
        return facts.classes[binding.detail] if binding.kind == "instance" else None
    if isinstance(value, cst.Call) and key is not None and key_of(receiver(value)) == key:
        method = facts.method_called(value, site.scope)
        return method.cls if method is not None else None
    return None


def _creates_state(facts: FileFacts, site: AssignSite) -> bool:
    """The value is a state initialiser: an ``init_hidden``-style call or a torch tensor factory."""
    value = site.value
    if not isinstance(value, cst.Call):
        return False
    method = facts.method_called(value, site.scope)
    if method is not None:
        return facts.is_state_initialiser(method)
    return facts.qualify(value.func) in TENSOR_FACTORIES
