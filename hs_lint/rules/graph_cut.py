"""HS107: a recurrent layer's result rebuilt from numpy inside ``forward``, cutting it off the graph."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import FileFacts, RecurrentCall, Scope
from hs_lint.names import descendants, flat_keys, method_name, positional_args, receiver, referenced_keys
from hs_lint.rule import Rule, Violation
from hs_lint.torch_api import kind_name
from hs_lint.tree_edit import name_reads, paths_to, replaced

# Constructors that copy their data into a new leaf tensor (no autograd history).
_REWRAPS = frozenset(
    f"torch.{name}" for name in ("tensor", "Tensor", "FloatTensor", "DoubleTensor", "from_numpy", "as_tensor")
)
_TO_HOST = frozenset({"numpy", "tolist"})  # leave torch: the graph cannot follow
_HOST_STEPS = frozenset({"detach", "cpu", "numpy", "tolist"})  # the calls a round trip is made of


def _round_trip_source(expr: cst.BaseExpression, keys: frozenset[str]) -> cst.BaseExpression | None:
    """The ``X.numpy()`` / ``X.tolist()`` inside ``expr`` whose receiver reads one of ``keys``."""
    for node in descendants(expr):
        if isinstance(node, cst.Call) and method_name(node) in _TO_HOST:
            inner = receiver(node)
            if inner is not None and keys.intersection(referenced_keys(inner)):
                return node
    return None


def _values(facts: FileFacts, expr: cst.BaseExpression, scope: Scope, depth: int = 3) -> Iterator[cst.BaseExpression]:
    """``expr``, then the values of the temporaries it reads, and theirs: a round trip may be spelled over several
    statements (``arr = h.detach().numpy()`` then ``torch.tensor(arr[-1])``, or items appended in a loop over
    ``out.tolist()``)."""
    yield expr
    for node in descendants(expr) if depth else ():
        if isinstance(node, cst.Name):
            value = facts.temporary_value(node, scope)
            for held in ([value] if value is not None else []) + facts.element_sources(node, scope):
                yield from _values(facts, held, scope, depth - 1)


def _without_round_trip(expr: cst.BaseExpression) -> cst.BaseExpression:
    """``hn.detach().numpy()[-1]`` -> ``hn[-1]``: the same value, still a tensor on the graph."""
    if isinstance(expr, cst.Call) and method_name(expr) in _HOST_STEPS and not expr.args:
        return _without_round_trip(receiver(expr))
    if isinstance(expr, cst.Attribute) and expr.attr.value == "data":
        return _without_round_trip(expr.value)
    if isinstance(expr, cst.Subscript):
        return expr.with_changes(value=_without_round_trip(expr.value))
    return expr


def _flows_forward(facts: FileFacts, scope: Scope, keys: set[str], after: int = -1) -> set[str]:
    """``keys`` and every name assigned (in ``scope``, in order) from a value that reads one of them."""
    found = set(keys)
    for site in facts.assignments:
        if site.scope is scope and site.index > after and site.value is not None:
            if found.intersection(referenced_keys(site.value)):
                found.update(site.target_keys)
    return found


class OutputCutFromGraph(Rule):
    code = "HS107"
    name = "output-cut-from-graph"
    summary = "forward() rebuilds a recurrent layer's output or state from numpy: no gradient reaches the layer"
    message = (
        "`{call}` rebuilds a tensor from `{source}` in `{where}`: no gradient flows back through it to {module}, "
        "whose weights never train. Keep the tensor: `{fix}`"
    )
    rationale = (
        "`torch.tensor(h.detach().numpy())` (or `torch.Tensor(...)`, `torch.from_numpy(...)`) makes a new leaf "
        "tensor with the same numbers and no history. When a model's forward does this to its recurrent "
        "layer's output or final state before the head, back-propagation stops at that tensor: only the layers "
        "after it are trained, the LSTM/GRU keeps its random initial weights, and the loss still goes down, so "
        "nothing looks wrong."
    )
    torch_error = "No error: after loss.backward() every parameter of the recurrent layer has .grad None."
    bad = (
        """\
import torch
import torch.nn as nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        last = torch.tensor(h.detach().numpy()[-1])
        return self.head(last)
""",
        """\
import torch
import torch.nn as nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(torch.tensor(out[:, -1].tolist()))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
        return self.head(h[-1])
""",
        """\
import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 16)

    def forward(self, x, h):
        out, h = self.gru(x, h)
        return out, h.detach()


def predict(model, x, h):
    out, h = model(x, h)
    return torch.tensor(out.detach().numpy().argmax(-1))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        reported: set[int] = set()
        for call in facts.recurrent_calls:
            scope = call.site.scope
            if scope.cls is None or scope.name != "forward" or call.site.no_grad or call.site.target is None:
                continue
            keys = _flows_forward(facts, scope, set(flat_keys(call.site.target)), after=call.site.index)
            for site in facts.calls:
                if site.scope is not scope or site.index <= call.site.index or site.qualified not in _REWRAPS:
                    continue
                args = positional_args(site.node)
                found = next(((value, source) for value in _values(facts, args[0], scope)
                              if (source := _round_trip_source(value, frozenset(keys))) is not None), None) \
                    if args else None
                if found is None or id(site.node) in reported or site.no_grad:
                    continue
                if not self._reaches_return(facts, scope, site.node):
                    continue
                reported.add(id(site.node))
                yield self._report(facts, call, site.node, args[0], found[1])

    @staticmethod
    def _reaches_return(facts: FileFacts, scope: Scope, rewrap: cst.Call) -> bool:
        """The rebuilt tensor (directly, or through the names assigned from a value that holds it) is part of what
        forward returns."""
        targets = {k for site in facts.assignments if site.scope is scope and site.value is not None
                   and any(node is rewrap for node in descendants(site.value)) for k in site.target_keys}
        flowing = _flows_forward(facts, scope, targets) if targets else set()
        for value in scope.returns:
            if flowing.intersection(referenced_keys(value)):
                return True
            if any(node is rewrap for node in descendants(value)):
                return True
        return False

    def _report(self, facts: FileFacts, call: RecurrentCall, rewrap: cst.Call, arg: cst.BaseExpression,
                source: cst.BaseExpression) -> Violation:
        kind = call.callee.recurrent_kind
        module = f"`{facts.source(call.site.node.func)}`" + (f" ({kind_name(kind)})" if kind else "")
        cls = call.site.scope.cls
        return self.violation(
            rewrap,
            data={"kind": kind},
            call=facts.source(rewrap),
            source=facts.source(source),
            where=f"{cls.name}.forward" if cls else "forward",
            module=module,
            fix=_fix_text(facts, call.site.scope, arg, source),
        )


def _fix_text(facts: FileFacts, scope: Scope, arg: cst.BaseExpression, source: cst.BaseExpression) -> str:
    """The argument without its round trip, or (when numpy still wraps it, or it is not an expression of that
    tensor) the tensor it started from."""
    kept = _without_round_trip(_inlined(facts, arg, scope))
    whole, keys = facts.source(kept), frozenset(referenced_keys(source))
    if keys.intersection(referenced_keys(kept)) and _round_trip_source(cst.parse_expression(whole), keys) is None \
            and "np." not in whole and "numpy" not in whole:
        return whole
    return facts.source(_without_round_trip(source))


def _inlined(facts: FileFacts, expr: cst.BaseExpression, scope: Scope, depth: int = 3) -> cst.BaseExpression:
    """``expr`` with each temporary it reads replaced by its value when that value is an atom (a name, call,
    attribute or subscript): ``arr`` after ``arr = h.numpy()[-1]`` reads as ``h.numpy()[-1]``."""
    atoms = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)
    replacements = {id(read): _inlined(facts, value, scope, depth - 1) for read in name_reads(expr) if depth
                    and isinstance(value := facts.temporary_value(read, scope), atoms)}
    return replaced(expr, replacements, paths_to(expr, replacements), {}) if replacements else expr
