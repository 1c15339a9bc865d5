"""HS309: a model that keeps its state on self, run a second time on the same input with no reset between.

``forward`` reads ``self.hidden`` and writes the new state back, so each call continues from the one before.
Calling the model again on the same chunk (for a metric, a log line, a second loss) feeds that chunk through a
state that has already read it: the second output is not the first one, and the state the next chunk starts
from has read this one twice. A second call is a re-run when, in the function's control flow, the first call is
the only run of that model (or reset of its state: ``model.hidden = None``, a method that resets it) reaching
the second on every path, and both read the same version of the model and of their input.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import FileFacts, RecurrentCall, Scope
from hs_lint.names import descendants, key_of, method_name, positional_args, receiver
from hs_lint.reaching import ReachingDefinitions
from hs_lint.rule import Rule, Violation

_RUN = "#run"  # a key no code can spell: "a run or a reset of this model's held state happened here"


class StatefulRerun(Rule):
    code = "HS309"
    name = "stateful-rerun"
    summary = "A model that keeps its state on self is run twice on the same input: the chunk is read twice"
    message = ("`{call}` runs `{cls}.forward` on `{input}` again after an earlier call with no reset between: "
               "`{state}` has already read `{input}`, so this reads it twice; reuse the first output or reset `{state}`")
    rationale = (
        "A module whose `forward` reads its state from `self` and stores the new one back continues, on every "
        "call, from where the last call stopped. Running it a second time on the same input (to compute a "
        "metric, log a prediction, or build a second loss) feeds the chunk through a state that has already read "
        "it: the second output differs from the first, and the next chunk starts from a state that has seen this "
        "one twice. Keep the first call's output, or reset the state before calling again."
    )
    torch_error = "Nothing: the second output is computed from a state that has already read the same chunk."
    bad = (
        """\
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)
        self.head = nn.Linear(16, 4)
        self.hidden = None

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        self.hidden = self.hidden.detach()
        return self.head(out)


def train(model, chunks, optimizer):
    for x, y in chunks:
        loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        accuracy = (model(x).argmax(-1) == y).float().mean()
        print(f"loss {loss.item():.3f} accuracy {accuracy.item():.3f}")
    model.hidden = None


train(Tagger(), [], None)
""",
    )
    good = (
        """\
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)
        self.head = nn.Linear(16, 4)
        self.hidden = None

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        self.hidden = self.hidden.detach()
        return self.head(out)


def train(model, chunks, optimizer):
    for x, y in chunks:
        logits = model(x)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        accuracy = (logits.argmax(-1) == y).float().mean()
        print(f"loss {loss.item():.3f} accuracy {accuracy.item():.3f}")
    model.hidden = None


train(Tagger(), [], None)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        by_model: dict[tuple[int, str], list[RecurrentCall]] = {}
        for call in facts.held_calls:
            owner = key_of(call.state_arg)
            if owner is not None and call.callee.cls is not None:
                by_model.setdefault((id(call.site.scope), owner), []).append(call)
        for (_, owner), calls in by_model.items():
            if len(calls) > 1:
                yield from self._reruns(facts, owner, calls)

    def _reruns(self, facts: FileFacts, owner: str, calls: list[RecurrentCall]) -> Iterator[Violation]:
        scope = calls[0].site.scope
        cls = calls[0].callee.cls
        assert cls is not None
        attrs = frozenset(key.rsplit(".", 1)[1] for call in calls for key in call.state_keys)
        runs = {id(call.site.node): call for call in calls}
        flow = _runs_flow(facts, scope, owner, frozenset(runs), facts.resetting_methods(cls, attrs), attrs)
        if flow is None:
            return
        flow_of, statements = flow
        for call in calls:
            func = call.site.node.func  # ``model`` or ``model.forward``: either read is placed
            reaching = flow_of.reaching(func, owner + _RUN)
            if reaching is None or len(reaching) != 1:
                continue
            first = runs.get(statements.get(next(iter(reaching)), -1))
            if first is None or not _same_input(facts, first, call, owner):
                continue
            state = sorted(call.state_keys)[0]
            yield self.violation(
                call.site.node, call=facts.source(call.site.node), cls=cls.name, state=state,
                input=facts.source(positional_args(call.site.node)[0]),
                data={"first": facts.source(first.site.node)},
            )


def _runs_flow(facts: FileFacts, scope: Scope, owner: str, runs: frozenset[int], resetting: frozenset[str],
               attrs: frozenset[str]) -> tuple[ReachingDefinitions, dict[int, int]] | None:
    """Reaching definitions of ``scope`` in which each small statement that runs the model (a call in ``runs``),
    resets its state (``model.hidden = None``, ``model.reset()``) or rebinds it also defines ``owner#run``; and
    which run call each such statement holds."""
    node = scope.node
    if not isinstance(node, cst.FunctionDef):
        return None
    extra: dict[int, frozenset[str]] = {}
    statements: dict[int, int] = {}  # id(small statement) -> id(the run call in it)
    marks = frozenset({owner + _RUN})
    for small in _small_statements(node.body):
        for inner in descendants(small):
            if isinstance(inner, cst.Call) and id(inner) in runs:
                if id(small) in statements:
                    return None  # two runs in one statement: the order between them is not modelled
                statements[id(small)] = id(inner)
                extra[id(small)] = marks
            elif isinstance(inner, cst.Call) and method_name(inner) in resetting and key_of(receiver(inner)) == owner:
                extra[id(small)] = marks
        if isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
            if any(key_of(t) == owner or key_of(t) in {f"{owner}.{a}" for a in attrs} for t in targets):
                extra[id(small)] = marks
    return ReachingDefinitions(node.body.body, extra), statements


def _same_input(facts: FileFacts, first: RecurrentCall, second: RecurrentCall, owner: str) -> bool:
    """Both calls read the same version of the model and of one named input (their first argument)."""
    scope = first.site.scope
    reads = [positional_args(first.site.node), positional_args(second.site.node)]
    if not all(reads) or any(len(args) != len(reads[0]) for args in reads):
        return False
    for a, b in zip(*reads):
        key = key_of(a)
        if key is None or key != key_of(b) or "." in key:
            return False
        before, after = facts.reaching(a, key, scope), facts.reaching(b, key, scope)
        if before is None or before != after:
            return False
    return True


def _small_statements(node: cst.CSTNode) -> Iterator[cst.BaseSmallStatement]:
    """The small statements of a body, in blocks nested in its compound statements too (not in functions or
    classes defined there: their own scopes)."""
    for child in node.children:
        if isinstance(child, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            yield from child.body
        elif isinstance(child, (cst.BaseSuite, cst.BaseCompoundStatement, cst.Else, cst.ExceptHandler, cst.Finally)) \
                and not isinstance(child, (cst.FunctionDef, cst.ClassDef)):
            yield from _small_statements(child)
