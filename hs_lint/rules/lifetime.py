"""HS3xx: where a hidden state starts, how long it lives, and where it leaks."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import (
    TENSOR_FACTORIES, AssignSite, CallSite, ClassInfo, FileFacts, Flow, Loop, RecurrentCall, Scope,
)
from hs_lint.names import descendants, flat_keys, key_of, mentions, method_name, positional_args, receiver, root_key
from hs_lint.project.summary import ModuleSummary
from hs_lint.rule import Rule, Violation
from hs_lint.rules.graph import detach_fix
from hs_lint.torch_api import holds_tuple


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
        "`{state}` is created once, before `{epoch}`, so each epoch's first batch continues from the previous "
        "epoch's last: move `{line}` to the top of that loop"
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
            if epoch is None or facts.resets(epoch, call.carried_keys, call) or random_order(facts, batch):
                continue  # (a carry across shuffled batches is HS304's finding, whatever the epochs do)
            created = facts.created_before(call.carried_keys, epoch)
            if created is not None and not _drawn_afresh(facts, batch, call):
                yield self.violation(created.node, state=facts.source(call.state_arg), epoch=facts.loop_header(epoch),
                                     line=facts.source(created.node).strip())


_DRAWING = TENSOR_FACTORIES | {f"torch.{name}" for name in ("LongTensor", "randint", "randperm", "rand_like",
                                                             "randn_like")}


def _drawn_afresh(facts: FileFacts, batch: Loop, call: RecurrentCall) -> bool:
    """The batches are made up on the spot (a same-file generator or the loop body drawing tensors from
    ``torch.randn``/``torch.LongTensor``...): a demo, not one continuous stream cut into batches."""
    source = facts.iterated(batch)
    if isinstance(source, cst.Call):
        function = facts.method_called(source, batch.scope) or next(
            (f for f in facts.scopes if f.parent is batch.scope and f.name == key_of(source.func)), None)
        if function is not None and any(s.scope is function and s.qualified in _DRAWING for s in facts.calls):
            return True
    inputs = [a.value for a in call.site.node.args[:1] if a.keyword is None]
    keys = frozenset(flat_keys(inputs[0])) if inputs else frozenset()
    return any(
        keys.intersection(site.target_keys) and isinstance(site.value, cst.Call)
        and facts.qualify(site.value.func) in _DRAWING
        for site in facts.assignments_in(batch)
    )


class TrainEvalLeak(Rule):
    code = "HS302"
    name = "train-eval-leak"
    summary = "The training loop's last hidden state is the starting state of the evaluation loop"
    message = (
        "`{state}` enters the evaluation loop `{loop}`{where} holding training's last state: re-create `{state}` "
        "(zeros, `None` or `init_hidden`) right before the loop"
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
        "`forward` feeds `{state}` back on every call, never detached or reset: in forward write `{fix}`; "
        "reset `{attr} = None` per sequence"
    )
    driven_message = (
        "`{cls}.forward` feeds `{state}` back on every call of this loop, never detached or reset: in forward "
        "write `{fix}`; or reset `{attr} = None` per sequence"
    )
    rationale = (
        "Storing the state on the module hides it from the training loop: the loop cannot see that every call "
        "continues from the previous one. Without a detach inside forward the graph spans all batches; "
        "without a reset called from the loop, one sequence's state leaks into the next and training state "
        "leaks into evaluation. The finding sits on the state in forward when the loop is in the same file; "
        "for a class of another module it sits on the call in the loop that runs it (`model(x)`)."
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
        trains = any(loop.has_backward for loop in facts.loops)
        for call in facts.recurrent_calls:
            scope, cls = call.site.scope, call.site.scope.cls
            keys = frozenset(k for k in call.carried_keys if k.startswith("self."))
            if cls is None or scope.name != "forward" or not keys or call.callee.detaches_input:
                continue
            if facts.flow(call.state_arg, keys, scope) is not Flow.CARRIED or _detached_in(facts, scope, keys):
                continue
            callers = [c for c in facts.held_calls if c.callee.cls is cls]
            if callers and not any(_carries_graph(facts, c) for c in callers):
                continue  # every loop that runs the model detaches (or resets) the held state itself
            if not callers and _detached_by_a_loop(facts, keys):
                continue  # a caller we cannot follow cuts the graph every iteration
            attrs = frozenset(key.split(".", 1)[1] for key in keys)
            if not trains and not _trained_elsewhere(facts, cls, attrs):
                continue
            if not _reset_in_a_loop(facts, cls, attrs):
                fix = detach_fix(facts, call).text
                yield self.violation(call.state_arg, state=facts.source(call.state_arg), fix=fix,
                                     attr=sorted(keys)[0])
        yield from self._driven_from_here(facts)

    def _driven_from_here(self, facts: FileFacts) -> Iterator[Violation]:
        """A class of another module keeps its state on self; this file's backward loop runs it (``model(x)``)
        with nothing detaching or resetting that state: reported at the call, the class's file cannot see it."""
        for call in facts.held_calls:
            cls = call.callee.cls
            if cls is None or cls.summary is None or call.site.no_grad or call.callee.detaches_input \
                    or not _carries_graph(facts, call):
                continue
            attrs = frozenset(key.rsplit(".", 1)[1] for key in call.state_keys)
            if _reset_in_a_loop(facts, cls, attrs):
                continue
            attr = sorted(attrs)[0]
            kinds = {detail for kind, detail in cls.summary.attrs.values() if kind == "module"}
            held = f"self.{attr}"
            fix = f"{held} = tuple(s.detach() for s in {held})" if kinds and all(holds_tuple(k) for k in kinds) else (
                f"{held} = {held}.detach()")
            yield Violation(self.code, self.name, call.site.node, self.driven_message.format(
                cls=cls.name, state=held, fix=fix, attr=f"{key_of(call.state_arg)}.{attr}"), {"driven": True})


def _trained_elsewhere(facts: FileFacts, cls: ClassInfo, attrs: frozenset[str]) -> bool:
    """A module of the project that imports ``cls``, or that this file imports (``from train import fit``),
    trains in a loop (what a backward loop in this file says), none of them builds the class (one that does
    follows its own calls: the finding is on them) and none of their loops re-assigns the held attributes or
    calls a method that resets them."""
    if facts.project is None or cls.node is None:
        return False
    importers, subclasses = facts.project.builders(cls.name)
    users = [*importers, *facts.project.imported(facts.imports)]
    built = {cls.name, *subclasses}
    resetting = facts.resetting_methods(cls, attrs)
    return any(user.trains for user in users) and not any(
        any(name.rsplit(".", 1)[-1] in built for name, _, _ in user.constructions)
        or attrs.intersection(user.loop_sets) or resetting.intersection(user.loop_calls)
        for user in users)


def _detached_in(facts: FileFacts, scope: Scope, keys: frozenset[str]) -> bool:
    """forward cuts the held state's history itself (``self.h = self.h.detach()``, ``self.h.detach_()``)."""
    return any(
        site.scope is scope and keys.intersection(site.target_keys)
        and facts.flow(site.value, keys, scope) is Flow.DETACHED
        for site in facts.assignments
    ) or any(site.scope is scope and root_key(receiver(site.node)) in keys for site in facts.detach_calls)


def _reset_in_a_loop(facts: FileFacts, cls: ClassInfo, attrs: frozenset[str]) -> bool:
    """A loop of the file gives the attribute a fresh value (``model.hidden = None``; a detach is no reset) or
    calls a method that does."""
    resetting = facts.resetting_methods(cls, attrs)
    return any(site.loop is not None and method_name(site.node) in resetting for site in facts.calls) or any(
        site.loop is not None and facts.flow(site.value, frozenset(keys), site.scope) is Flow.FRESH
        for site in facts.assignments
        if (keys := {k for k in site.target_keys if "." in k and k.rsplit(".", 1)[-1] in attrs})
    )


def _detached_by_a_loop(facts: FileFacts, keys: frozenset[str]) -> bool:
    """``model.hidden = tuple(h.detach() for h in model.hidden)`` in some loop, for ``self.hidden``."""
    attrs = {k.split(".", 1)[1] for k in keys}
    return any(
        site.loop is not None and facts.flow(site.value, frozenset(held), site.scope) is Flow.DETACHED
        for site in facts.assignments
        if (held := {k for k in site.target_keys if "." in k and not k.startswith("self.")
                     and k.rsplit(".", 1)[-1] in attrs})
    )


def _carries_graph(facts: FileFacts, call: RecurrentCall) -> bool:
    """A loop around ``model(x)`` that runs backward() hands the held state on with its graph: nothing in it
    detaches or re-creates ``model.hidden``."""
    for loop in call.loops:
        if loop.no_grad or facts.resets(loop, call.carried_keys, call):
            return False
        if not facts.state_updates(loop, call.carried_keys, call) <= {Flow.CARRIED}:
            return False
        if loop.has_backward:
            return True
    return False


def state_name(facts: FileFacts, call: RecurrentCall) -> str:
    """How a message names the carried state: ``h``, ``(h, c)``, or ``model.hidden`` for a held one."""
    return ", ".join(sorted(call.state_keys)) if call.held else facts.source(call.state_arg)


def random_order(facts: FileFacts, loop: Loop) -> str | None:
    """Why consecutive batches of ``loop`` are unrelated: a shuffling DataLoader or a random permutation."""
    loader = facts.loader_of(loop)
    if loader is not None and loader.detail == "shuffled":
        built = loader.construction.args if loader.construction is not None else ()  # None: built in another file
        shuffle = next((a for a in built if a.keyword is not None
                        and a.keyword.value in ("shuffle", "sampler", "batch_sampler")), None)
        name = facts.source(facts.iterated(loop))
        if loader.construction is None:
            return f"`{name}` shuffles (built in another module)"
        return f"`{name}` shuffles ({facts.source(shuffle).strip(', ') if shuffle else 'shuffle'})"
    drawn = facts.random_order(loop)
    return None if drawn is None else f"its samples come in random order (`{facts.source(drawn.func)}`)"


class ShuffledCarry(Rule):
    code = "HS304"
    name = "shuffled-carry"
    summary = "A hidden state is carried across the batches of a shuffling DataLoader"
    message = (
        "`{state}` is carried from batch to batch, but {order}: start each batch from a fresh state "
        "(`{state} = None` in the loop) or iterate in order"
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

rnn = nn.GRU(8, 16, batch_first=True)
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

rnn = nn.GRU(8, 16, batch_first=True)
loader = DataLoader(dataset, batch_size=32, shuffle=True)
for x, y in loader:
    out, h = rnn(x)
    out.sum().backward()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call in [*facts.recurrent_calls, *facts.held_calls]:
            loop = batch_loop(facts, call)
            order = random_order(facts, loop) if loop is not None else None
            if order is not None:
                yield self.violation(call.state_arg, state=state_name(facts, call), loop=facts.loop_header(loop),
                                     order=order)


class SequenceCarry(Rule):
    code = "HS307"
    name = "state-across-sequences"
    summary = "A sequence classifier's state is carried from one independent sequence into the next"
    message = (
        "`{state}` is carried from one `{model}(...)` call to the next, but `{cls}.forward` reads only the last "
        "step: each call is a separate sequence. Re-create the state before each call: `{fix}`"
    )
    rationale = (
        "A model that reads its recurrent layer only at the last step (`out[-1]`, `out[:, -1]`) turns each input "
        "sequence into one prediction: a review, a clip, a sentence. Such sequences are independent, so each "
        "must start from a fresh state. Carried on, the state of one sample becomes the context of the next: "
        "the prediction depends on the order of the samples, training learns from a context that is never "
        "there at inference, and evaluation scores depend on what ran before. A detach cuts the graph but "
        "does not reset the state."
    )
    torch_error = "Nothing: the model trains and predicts, each sample starting from another sample's state."
    bad = (
        """\
import torch
import torch.nn as nn


class ClipClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(12, 32)
        self.head = nn.Linear(32, 5)
        self.state = None

    def forward(self, clip):
        out, self.state = self.lstm(clip, self.state)
        return self.head(out[-1])


model = ClipClassifier()
for clip, label in clips:
    if model.state is not None:
        model.state = tuple(s.detach() for s in model.state)
    loss = nn.functional.cross_entropy(model(clip), label)
    loss.backward()
""",
    )
    good = (
        """\
import torch
import torch.nn as nn


class ClipClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(12, 32)
        self.head = nn.Linear(32, 5)
        self.state = None

    def forward(self, clip):
        out, self.state = self.lstm(clip, self.state)
        return self.head(out[-1])


model = ClipClassifier()
for clip, label in clips:
    model.state = None
    loss = nn.functional.cross_entropy(model(clip), label)
    loss.backward()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call in [*facts.recurrent_calls, *facts.held_calls]:
            cls, loop, keys = call.callee.cls, call.site.loop, call.carried_keys
            if cls is None or loop is None or not keys or call.heuristic or not facts.summarises_sequence(cls):
                continue
            if _reset_per_sequence(facts, call, loop) or _reported_elsewhere(facts, call, loop) \
                    or _windows(facts, call, loop):
                continue
            yield self.violation(call.state_arg, state=state_name(facts, call), cls=cls.name,
                                 model=key_of(call.site.node.func) or cls.name, fix=_fresh_state(facts, call, cls))


def _reset_per_sequence(facts: FileFacts, call: RecurrentCall, loop: Loop) -> bool:
    """The loop re-creates the state, or a loop around it does and the loop walks the pieces of that loop's item
    (``for recording in data: reset; for chunk in recording``), where carrying the state is the point. A loop
    over anything else (``for batch in loader`` in an epoch loop that resets) carries across its items."""
    if facts.resets(loop, call.carried_keys, call):
        return True
    pieces = facts.iterated(loop)
    around = loop.parent
    while pieces is not None and around is not None:
        if mentions(pieces, facts.loop_counters(around)) and facts.resets(around, call.carried_keys, call):
            return True
        around = around.parent
    return False


def _windows(facts: FileFacts, call: RecurrentCall, loop: Loop) -> bool:
    """The input is the next window of one long sequence (``rec[start:start + 50]`` for ``start`` of the loop):
    a stream read in pieces, where carrying the state is the point."""
    counters = facts.loop_counters(loop)
    inputs = [a for a in positional_args(call.site.node)[:1]]
    for arg in list(inputs):
        key = key_of(arg)
        inputs += [s.value for s in facts.assignments_in(loop) if key is not None and key in s.target_keys and s.value]
    return any(
        isinstance(node, cst.Subscript) and isinstance(node.slice[0].slice, cst.Slice)
        and node.slice[0].slice.lower is not None and mentions(node.slice[0].slice.lower, counters)
        for arg in inputs for node in descendants(arg)
    )


def _reported_elsewhere(facts: FileFacts, call: RecurrentCall, loop: Loop) -> bool:
    """The same carry is already a graph finding (HS101/HS303: nothing detaches it in a backward loop) or a
    shuffled-carry finding (HS304)."""
    if loop.has_backward and not loop.no_grad and facts.state_updates(loop, call.carried_keys, call) <= {Flow.CARRIED}:
        return True
    batch = batch_loop(facts, call)
    return batch is not None and random_order(facts, batch) is not None


def _fresh_state(facts: FileFacts, call: RecurrentCall, cls: ClassInfo) -> str:
    """``model.hidden = model.init_hidden()`` when the class has an initialiser, else ``h = None``."""
    initialiser = next((name for name, m in cls.methods.items() if facts.is_state_initialiser(m)), None)
    owner = key_of(call.site.node.func)
    key = min(call.carried_keys)
    return f"{key} = {owner}.{initialiser}(...)" if initialiser is not None and owner is not None else f"{key} = None"


class DeadReset(Rule):
    code = "HS305"
    name = "dead-reset"
    summary = "A state is stored on the model (model.hidden = ...) but forward() never reads that attribute"
    message = (
        "`{target}` gets a fresh state, but nothing in this file reads `.{attr}` (not `{cls}.forward`): pass the "
        "state in (`out, h = model(x, h)`) or make forward read it"
    )
    rationale = (
        "`model.hidden = model.init_hidden(bsz)` looks like a reset. If forward takes its state from an argument "
        "or creates its own, the assignment is dead: the author believes the state is re-initialised (or "
        "carried) when the real one is not, and bugs like a missing per-epoch reset stay hidden."
    )
    torch_error = "Nothing: the assignment has no effect."
    bad = (
        """\
import torch
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
hidden = None
for x in batches:
    out, hidden = model(x, hidden)
""",
    )
    good = (
        """\
import torch
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
            if site.scope.name == "__init__" and key_of(target.value) == "self":
                continue  # set once and never read: dead code, not a reset that misses its target
            cls = _class_of(facts, site, target.value, value)
            if (cls is None or not cls.is_recurrent or "forward" not in cls.methods
                    or attr in facts.attribute_reads or (cls.summary is not None and attr in cls.summary.read_attrs)
                    or not _creates_state(facts, site)):
                continue
            users = _users(facts, cls)
            if any(attr in user.reads for user in users) or not (
                    _carries_a_state(facts, cls) or any(user.carries for user in users)):
                continue
            yield self.violation(site.node, target=facts.source(target), cls=cls.name, attr=attr)


def _carries_a_state(facts: FileFacts, cls: ClassInfo) -> bool:
    """The state forward really uses lives on: another attribute it holds, or a state its callers here pass
    back in. When forward starts from zeros on every call, a dead assignment is only dead code."""
    return bool(facts.held_attrs(cls)) or any(
        call.callee.cls is cls and call.carried_keys and not call.held for call in facts.recurrent_calls)


def _users(facts: FileFacts, cls: ClassInfo) -> list[ModuleSummary]:
    """The other modules of the project that import this file's class (where it is driven), as summaries."""
    return facts.project.builders(cls.name)[0] if facts.project is not None and cls.node is not None else []


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
    """The value is a state made anew (``FileFacts.fresh_state``)."""
    return facts.fresh_state(site.value, site.scope)
