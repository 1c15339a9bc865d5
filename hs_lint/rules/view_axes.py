"""HS212: a view or reshape that reorders a tensor's axes, which only a transpose can do.

``view``/``reshape`` regroup a tensor's memory in order; they can merge or split neighbouring axes, never move
one. A target size is known to *be* axis k of the source when it is the source's own ``x.size(k)`` /
``x.shape[k]`` (taken from the same version of ``x``: a ``transpose`` in between changes what axis k is), or,
for a recurrent module's output, the same size of the input it was computed from (axes 0 and 1 of ``out`` are
those of the input); or a size equal to exactly one known axis. An axis has moved when two such sizes come in
the other order, or when the sizes before it provably differ from those before it in the source. h_n (the
``(layers*dirs, batch, hidden)`` state) is HS208's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from hs_lint.facts import FileFacts, Scope
from hs_lint.names import key_of, method_name, positional_args, receiver
from hs_lint.rule import Rule, Violation
from hs_lint.shapes import Dim, Output, same_shape_inner


@dataclass(frozen=True)
class _Source:
    """What is known of the axes of the tensor a view reads: each axis's size (None: unknown; ``dims`` None: not
    even the rank), the tensors whose sizes are its axes (qualified key -> (the statements that may have defined
    it where it was read, axis map)), and the roles of its axes where a recurrent module gave them."""

    text: str
    dims: tuple[Dim | None, ...] | None
    tensors: list[_Kept]
    roles: dict[int, str]


@dataclass(frozen=True)
class _Kept:
    """A tensor (one version of it) whose axes are axes of the source: axis k of it is ``axes[k]`` of the source
    (``axes`` None: every axis is the same one)."""

    key: str  # qualified
    reaching: frozenset[int]
    axes: dict[int, int] | None


_LEADING = {0: 0, 1: 1}  # a layer (nn.Embedding, nn.Linear, ...) keeps the two leading axes


def _product(dims: list[Dim | None]) -> Dim | None:
    total = Dim(1)
    for dim in dims:
        if dim is None or dim.coeff < 0:
            return None
        total = total * dim
    return total


class ViewMovesAxis(Rule):
    code = "HS212"
    name = "view-moves-axis"
    summary = "A view/reshape used to reorder axes (batch and time swapped, say): it mixes values across them"
    message = "`{expr}` {problem}: a view keeps memory order and mixes them; {fix}"
    rationale = (
        "`view` and `reshape` read the tensor's memory in order and cut it into the new sizes: they can merge "
        "neighbouring axes or split one, never move an axis. `x.view(seq_len, batch, -1)` on a batch-first "
        "(batch, seq_len, features) tensor gives a tensor of the right shape whose 'time step 0' holds the first "
        "steps of the first samples: every sequence is cut up and mixed with the next. Nothing fails; the model "
        "trains on scrambled sequences. Reordering axes is `transpose`/`permute` (then `contiguous()` or "
        "`reshape` if a merge follows)."
    )
    torch_error = "Nothing: the shape is what the next layer expects, the values are mixed across the axes."
    bad = (
        """\
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32)

    def forward(self, x):
        batch, steps, _ = x.shape
        x = x.view(steps, batch, -1)
        out, _ = self.lstm(x)
        return out
""",
        """\
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32)

    def forward(self, x):
        out, _ = self.gru(x)
        return out.contiguous().view(x.size(1), x.size(0), -1)
""",
    )
    good = (
        """\
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32)

    def forward(self, x):
        batch, steps, _ = x.shape
        x = x.transpose(0, 1)
        out, _ = self.lstm(x)
        return out.reshape(steps * batch, -1)
""",
        """\
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32)

    def forward(self, x):
        out, _ = self.gru(x)
        return out.transpose(0, 1).contiguous().view(x.size(1), x.size(0), -1)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for site in facts.calls:
            if method_name(site.node) not in ("view", "reshape") or facts.qualify(site.node.func) is not None:
                continue
            source = self._source(facts, receiver(site.node), site.scope)
            sizes = _target(site.node)
            if source is None or sizes is None:
                continue
            values = [facts.shapes.value(size, site.scope) for size in sizes]
            dims = [v if isinstance(v, Dim) else None for v in values]
            found = _moved(facts, source, dims, site.scope)
            if found is None:
                continue
            problem, fix, data = found
            texts = [facts.source(size) for size in sizes]
            named = {axis: texts[position] for position, axis in data["axes"]}  # an unknown size, by its name
            yield self.violation(
                site.node, expr=facts.source(site.node), problem=problem.format(*texts), fix=fix,
                data={**data, "expression": facts.source(site.node), "target": [
                    d.as_data() if d is not None else text for d, text in zip(dims, texts)],
                      "source": [d.as_data() if d is not None else named.get(k) for k, d in enumerate(
                          source.dims if source.dims is not None else [None] * (max(named) + 1))],
                      "rest": source.dims is None},  # axes after these, of sizes unknown
            )

    @staticmethod
    def _source(facts: FileFacts, read: cst.BaseExpression | None, scope: Scope) -> _Source | None:
        """The axes of the tensor ``read`` (through ``contiguous()``/``.to()``/...) holds, when it is named."""
        while isinstance(read, cst.Call) and (inner := same_shape_inner(read, facts.qualify(read.func))) is not None:
            read = inner
        key = key_of(read)
        kept = _kept(facts, read, scope) if read is not None else []
        if key is None or not kept:
            return None
        text = facts.source(read)
        for output in facts.shapes.outputs:
            for role, name in (("output", output.output), ("h_n", output.h_n)):
                if name != key:
                    continue
                for holder in output.holders(facts, role):
                    if holder.scope is scope and facts.holds_value(read, holder):
                        return None if role == "h_n" else _output_source(facts, output, text, kept[0])
        shape = facts.shapes.tensor(read, scope)
        return _Source(text, shape.dims if shape is not None else None, kept, {})


def _kept(facts: FileFacts, expr: cst.BaseExpression, scope: Scope, axes: dict[int, int] | None = None,
          depth: int = 0) -> list[_Kept]:
    """The versions of tensors whose axes ``expr``'s are: itself, and what it was made of by same-shape calls and
    layers (``emb = self.embed(tokens)``: axes 0 and 1 of ``tokens``), through one assignment at a time."""
    while isinstance(expr, cst.Call) and (inner := same_shape_inner(expr, facts.qualify(expr.func))) is not None:
        expr = inner
    shapes = facts.shapes
    lead = shapes.leading_source(expr, scope)
    if lead is not expr:
        axes = {k: axes[k] if axes is not None else k for k in _LEADING if axes is None or k in axes}
    key = key_of(lead)
    if key is None or "." in key or shapes.home(key, scope) is not scope:
        return []
    reaching = facts.reaching(lead, key, scope)
    if reaching is None:
        return []
    found = [_Kept(shapes.qualified_key(key, scope), reaching, axes)]
    values = [value for value, node in shapes.assigned(key, scope) if id(node) in reaching]
    if depth < 4 and len(values) == len(reaching) == 1 and values[0] is not None:
        found += _kept(facts, values[0], scope, axes, depth + 1)
    return found


def _output_source(facts: FileFacts, output: Output, text: str, own: _Kept) -> _Source:
    """A recurrent module's output: axes 0 and 1 are its input's (time and batch, in the module's order)."""
    use = output.use
    call = use.call.site
    args = positional_args(call.node)
    fed = _kept(facts, args[0], call.scope, dict(_LEADING)) if args and call.scope is not None else []
    dims = use.input.dims if use.input is not None and use.input.dims is not None else None
    leading = tuple(dims[:2]) if dims is not None and len(dims) == 3 else (None, None)
    batch = use.batch_axis
    roles = {batch: "batch", 1 - batch: "time"} if batch is not None else {}
    return _Source(text, (*leading, use.module.output_size), [own, *fed], roles)


def _target(call: cst.Call) -> list[cst.BaseExpression] | None:
    """The sizes a view asks for, as written: ``view(a, b)`` or ``view((a, b))``; None with a star."""
    if any(arg.star or arg.keyword is not None for arg in call.args):
        return None
    sizes = positional_args(call)
    if len(sizes) == 1 and isinstance(sizes[0], (cst.Tuple, cst.List)):
        elements = sizes[0].elements
        if any(isinstance(e, cst.StarredElement) for e in elements):
            return None
        sizes = [e.value for e in elements]
    return sizes if len(sizes) >= 2 else None


def _axis(facts: FileFacts, source: _Source, dim: Dim | None, scope: Scope) -> int | None:
    """Which axis of the source a target size is, when that is certain."""
    if dim is None or dim.value in (1, -1):
        return None
    sym = dim.sym
    if sym is not None and sym.axis is not None and sym.read is not None:
        node, where = sym.read
        reaching = facts.reaching(node, key_of(node) or "", where) if where is scope else None
        # the size of this version of a tensor whose axes the source has (not of one transposed since)
        kept = next((k for k in source.tensors if k.key == sym.tensor and k.reaching == reaching), None)
        if kept is None:
            return None
        axis = sym.axis
        if axis < 0:  # counted from the end: only of the source itself, whose rank is known
            axis = axis + len(source.dims) if source.dims is not None and kept.axes is None else -1
        return (axis if kept.axes is None else kept.axes.get(axis)) if axis >= 0 else None
    if source.dims is not None:
        same = [k for k, known in enumerate(source.dims) if known == dim]
        return same[0] if len(same) == 1 else None
    return None


def _moved(facts: FileFacts, source: _Source, dims: list[Dim | None], scope: Scope,
           ) -> tuple[str, str, dict[str, object]] | None:
    """(what moved, with ``{k}`` for the k-th size's text; what to write; data: the moved axes, their positions
    in the view and every (position, axis) identified) for the first moved axis."""
    placed = [(position, axis) for position, dim in enumerate(dims)
              if (axis := _axis(facts, source, dim, scope)) is not None]
    if len({axis for _, axis in placed}) != len(placed):
        return None  # one axis named twice: not a reordering this rule can read
    name = source.text
    for first, (p, a) in enumerate(placed):
        for q, b in placed[first + 1:]:
            if b < a:
                problem = (f"puts `{{{p}}}` ({_axis_name(source, a)} of `{name}`) before `{{{q}}}` "
                           f"({_axis_name(source, b)})")
                fix = (f"use `{name}.transpose({b}, {a})`" if (p, q) == (b, a)
                       else f"move the axes with `{name}.permute(...)`, then reshape")
                return problem, fix, {"moved": [a, b], "positions": [p, q], "axes": placed}
    for p, a in placed:
        before, expected = _product(dims[:p]), _product(list(source.dims[:a])) if source.dims is not None else None
        if before is not None and expected is not None and before.differs(expected):
            problem = (f"puts `{{{p}}}` ({_axis_name(source, a)} of `{name}`) after {before} values, where `{name}` "
                       f"has {expected} before it")
            fix = f"move axis {a} with `{name}.transpose(...)` first"
            return problem, fix, {"moved": [a], "positions": [p], "axes": placed}
    return None


def _axis_name(source: _Source, axis: int) -> str:
    return f"{source.roles[axis]} axis {axis}" if axis in source.roles else f"axis {axis}"
