"""Runtime guard for recurrent hidden states: ``watch(model)``.

The static rules cannot see shapes or devices. This guard checks the real
tensors at the moment they reach an nn.RNN/LSTM/GRU (or a cell), so a wrong
state produces one error that names the submodule, the expected and found
shape, and the fix -- instead of whatever torch's kernel happens to say.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple, Sequence

import torch
from torch import nn
from torch.autograd.graph import register_multi_grad_hook
from torch.nn.utils.rnn import PackedSequence

__all__ = [
    "GuardHandle",
    "GuardReport",
    "HiddenStateError",
    "HiddenStateWarning",
    "NormStats",
    "watch",
]

logger = logging.getLogger(__name__)

_RECURRENT = (nn.RNNBase, nn.RNNCellBase)
_STAMP_KEY = "hs_lint.runtime.stamp"
# How many autograd nodes to look through for a stamp when the incoming state
# is not a module output itself but, say, ``h_n * mask`` or ``h_n[:, keep]``.
_STAMP_SEARCH_NODES = 4
# Gradient norms stay as device tensors until this many steps piled up, so
# recording does not force a GPU sync on every backward.
_FLUSH_EVERY = 256
_TORCH_DIR = os.path.dirname(torch.__file__)


class HiddenStateError(RuntimeError):
    """A hidden state that does not fit its recurrent module, caught before torch's kernel runs."""


class HiddenStateWarning(UserWarning):
    """A hidden state that still drags along a graph that backward() already consumed."""


# --------------------------------------------------------------------------
# What the module expects
# --------------------------------------------------------------------------


class _Expected(NamedTuple):
    """Shape one state tensor must have for this call, with a name per dim for the message.

    NamedTuple rather than a frozen dataclass: built on every forward, and
    cheaper to construct.
    """

    name: str
    shape: tuple[int, ...]
    dims: tuple[str, ...]


class _Batch(NamedTuple):
    """Batch size of the input (None when unbatched) and the expression the user should size h0 from."""

    size: int | None
    source: str


def _expected_states(module: nn.Module, x: Any) -> tuple[list[_Expected], _Batch] | None:
    """Expected state shapes for input ``x``; None when ``x`` itself is malformed (torch says why)."""
    if isinstance(module, nn.RNNBase):
        return _full_layer_states(module, x)
    return _cell_states(module, x)


def _full_layer_states(module: nn.RNNBase, x: Any) -> tuple[list[_Expected], _Batch] | None:
    """nn.RNN/LSTM/GRU: h is (layers*dirs, batch, proj_size or hidden_size), c keeps hidden_size."""
    if isinstance(x, PackedSequence):
        batch = _Batch(int(x.batch_sizes[0]), "x.batch_sizes[0]")
    elif not isinstance(x, torch.Tensor) or x.ndim not in (2, 3):
        return None
    elif x.ndim == 3:
        batch = _Batch(x.shape[0], "x.size(0)") if module.batch_first else _Batch(x.shape[1], "x.size(1)")
    else:
        batch = _Batch(None, "")
    layers = module.num_layers * (2 if module.bidirectional else 1)
    h_last = ("proj_size", module.proj_size) if module.proj_size else ("hidden_size", module.hidden_size)
    states = [_layer_state("h0", layers, batch, h_last)]
    if isinstance(module, nn.LSTM):
        states.append(_layer_state("c0", layers, batch, ("hidden_size", module.hidden_size)))
    return states, batch


def _layer_state(name: str, layers: int, batch: _Batch, last: tuple[str, int]) -> _Expected:
    """One full-layer state; the batch dim is dropped for unbatched (2-D) input."""
    if batch.size is None:
        return _Expected(name, (layers, last[1]), ("num_layers * num_directions", last[0]))
    return _Expected(name, (layers, batch.size, last[1]), ("num_layers * num_directions", "batch", last[0]))


def _cell_states(module: nn.RNNCellBase, x: Any) -> tuple[list[_Expected], _Batch] | None:
    """RNNCell/LSTMCell/GRUCell: each state is (batch, hidden_size), or (hidden_size,) for 1-D input."""
    if not isinstance(x, torch.Tensor) or x.ndim not in (1, 2):
        return None
    if x.ndim == 2:
        batch = _Batch(x.shape[0], "x.size(0)")
        shape, dims = (batch.size, module.hidden_size), ("batch", "hidden_size")
    else:
        batch = _Batch(None, "")
        shape, dims = (module.hidden_size,), ("hidden_size",)
    names = ("hx", "cx") if isinstance(module, nn.LSTMCell) else ("hx",)
    return [_Expected(name, shape, dims) for name in names], batch


# --------------------------------------------------------------------------
# Checks: each returns a message, or None when the state is fine
# --------------------------------------------------------------------------


def _arity_problem(module: nn.Module, hx: Any, expected: list[_Expected]) -> str | None:
    """LSTMs take an (h, c) pair, everything else one tensor; torch's own errors here are cryptic."""
    kind = type(module).__name__
    if len(expected) == 2:
        if isinstance(hx, (tuple, list)) and len(hx) == 2 and all(isinstance(s, torch.Tensor) for s in hx):
            return None
        h, c = expected
        return (
            f"got {_describe(hx)} as the state, but {kind} takes a tuple ({h.name}, {c.name}) of two tensors: "
            f"it keeps a cell state next to the hidden state. "
            f"Pass ({h.name}, {c.name}) with {h.name} = {_zeros(h.shape)} and {c.name} = {_zeros(c.shape)}."
        )
    if isinstance(hx, torch.Tensor):
        return None
    (h,) = expected
    return (
        f"got {_describe(hx)} as the state, but {kind} takes a single tensor {h.name}: it has no cell state. "
        f"If this (h, c) pair comes from LSTM code, pass only h; expected {h.name} = {_zeros(h.shape)}."
    )


def _shape_problem(module: nn.Module, state: torch.Tensor, exp: _Expected, batch: _Batch) -> str | None:
    """Expected vs found shape, followed by the most likely cause and its fix."""
    found = tuple(state.shape)
    if found == exp.shape:
        return None
    explainers = (_rank_cause, _batch_first_cause, _bidirectional_cause, _batch_cause, _proj_size_cause)
    cause = next(filter(None, (explain(module, exp, found, batch) for explain in explainers)), None)
    fix = f"Likely cause: {cause}" if cause else f"Fix: build {exp.name} as {_zeros(exp.shape)}."
    return f"{exp.name} has shape {found}, expected {exp.shape} = ({', '.join(exp.dims)}).\n{fix}"


def _rank_cause(module: nn.Module, exp: _Expected, found: tuple, batch: _Batch) -> str | None:
    """A state with or without a batch dim that does not match the input's batchedness."""
    if len(found) == len(exp.shape):
        return None
    if batch.size is None:
        return (
            f"the input is unbatched, so {exp.name} must be unbatched too: build it as {_zeros(exp.shape)}, "
            f"or give the input a batch dim."
        )
    return f"the input is batched, so {exp.name} needs a batch dim too: build it as {_zeros(exp.shape)}."


def _batch_first_cause(module: nn.Module, exp: _Expected, found: tuple, batch: _Batch) -> str | None:
    """(B, L*D, H) where (L*D, B, H) is expected: the state was built batch-first."""
    if batch.size is None or not isinstance(module, nn.RNNBase):
        return None
    layers, size, last = exp.shape
    if found != (size, layers, last) or size == layers:
        return None
    return (
        f"{exp.name} is laid out batch-first, but hidden states are never batch-first, even with "
        f"batch_first=True: build {exp.name} as torch.zeros(num_layers * num_directions, batch, hidden), "
        f"here {_zeros(exp.shape)}."
    )


def _bidirectional_cause(module: nn.Module, exp: _Expected, found: tuple, batch: _Batch) -> str | None:
    """First dim is num_layers where a bidirectional module needs num_layers * 2."""
    if not (isinstance(module, nn.RNNBase) and module.bidirectional):
        return None
    if found[0] * 2 != exp.shape[0] or found[1:] != exp.shape[1:]:
        return None
    return (
        f"the ×2 for bidirectional is missing: with bidirectional=True the first dim is "
        f"num_layers * num_directions = {module.num_layers} * 2 = {exp.shape[0]}, one slice per layer and "
        f"direction. Build {exp.name} as {_zeros(exp.shape)}."
    )


def _batch_cause(module: nn.Module, exp: _Expected, found: tuple, batch: _Batch) -> str | None:
    """Only the batch dim differs: a fixed-size or carried-over state meeting a differently sized batch."""
    if batch.size is None:
        return None
    batch_dim = exp.dims.index("batch")
    others = [i for i in range(len(found)) if i != batch_dim]
    if any(found[i] != exp.shape[i] for i in others):
        return None
    size_hint = f"size {exp.name} from x.size(batch_dim) (here {batch.source})"
    if found[batch_dim] > batch.size:
        return (
            f"{exp.name} was sized for batch {found[batch_dim]} but this input has batch {batch.size}: "
            f"a fixed-batch {exp.name} (or a state carried over from the previous batch) meeting the "
            f"smaller last batch of a DataLoader. use drop_last=True or {size_hint}."
        )
    return f"{exp.name} has batch {found[batch_dim]} but this input has batch {batch.size}: {size_hint}."


def _proj_size_cause(module: nn.Module, exp: _Expected, found: tuple, batch: _Batch) -> str | None:
    """LSTM(proj_size=P): h's last dim is P, c's stays hidden_size; easy to swap."""
    if not (isinstance(module, nn.LSTM) and module.proj_size) or found[:-1] != exp.shape[:-1]:
        return None
    hidden, proj = module.hidden_size, module.proj_size
    if exp.name == "h0" and found[-1] == hidden:
        return (
            f"this LSTM has proj_size={proj}, so h0 uses hidden_size ({hidden}) instead of proj_size: "
            f"h0's last dim must be proj_size ({proj}); only c0 keeps hidden_size. "
            f"Build h0 as {_zeros(exp.shape)}."
        )
    if exp.name == "c0" and found[-1] == proj:
        return (
            f"this LSTM has proj_size={proj}, but only h0 is projected: c0's last dim stays "
            f"hidden_size ({hidden}). Build c0 as {_zeros(exp.shape)}."
        )
    return None


def _placement_problem(name: str, state: torch.Tensor, weight: torch.Tensor) -> str | None:
    """Device or dtype differing from the module's weights, which torch reports obscurely (or not at all)."""
    if state.device != weight.device:
        return (
            f"{name} is on {state.device}, the module's weights on {weight.device} "
            f"→ create it with device=x.device (e.g. torch.zeros(..., device=x.device)), "
            f"or move it with {name}.to({str(weight.device)!r})."
        )
    if state.dtype != weight.dtype and not _autocast_on(weight.device):
        return (
            f"{name} has dtype {state.dtype}, the module's weights {weight.dtype} "
            f"→ create it with dtype=x.dtype, or convert it with {name}.to({weight.dtype})."
        )
    return None


def _autocast_on(device: torch.device) -> bool:
    """Under autocast torch casts the state itself, so a dtype difference is legitimate there."""
    try:
        return torch.is_autocast_enabled(device.type)
    except RuntimeError:  # device types without autocast support (meta) never cast
        return False


def _describe(value: Any) -> str:
    """Short description of whatever was passed as hx, for the arity message."""
    if isinstance(value, torch.Tensor):
        return f"a single tensor of shape {tuple(value.shape)}"
    if isinstance(value, (tuple, list)):
        parts = ", ".join(
            str(tuple(v.shape)) if isinstance(v, torch.Tensor) else type(v).__name__ for v in value
        )
        return f"a {type(value).__name__} of {len(value)} ({parts})"
    return f"a {type(value).__name__}"


def _zeros(shape: tuple[int, ...]) -> str:
    """``torch.zeros(2, 4, 16)`` -- the constructor call to paste."""
    return f"torch.zeros({', '.join(map(str, shape))})"


# --------------------------------------------------------------------------
# Graph-carry detection
# --------------------------------------------------------------------------


class _Stamp:
    """Marks the autograd nodes of one forward call; flips once backward() has run through them.

    Why this mechanism: the error we want to pre-empt ("Trying to backward
    through the graph a second time") happens exactly when a state's history
    contains nodes that an earlier backward already executed and freed. So we
    watch the nodes themselves: a post-hook on the grad_fn of each output
    (``Node.register_hook``) fires only when autograd actually executes that
    node, whichever loss it came from and however the loss used the output.
    The stamp rides in ``grad_fn.metadata``, which lives and dies with the
    graph: no ids that can be reused, no weak references (autograd nodes do
    not support them), nothing to clean up. A global backward counter would
    misfire when an unrelated graph through the same module is backwarded; a
    tensor hook on h_n alone would miss the usual case where the loss only
    reads the output sequence.
    """

    __slots__ = ("consumed",)

    def __init__(self) -> None:
        self.consumed = False

    def __call__(self, grad_inputs: Any, grad_outputs: Any) -> None:
        self.consumed = True


def _stamp_of(grad_fn: Any) -> _Stamp | None:
    """The stamp nearest to a state's grad_fn, looking a few nodes up for ``h_n * mask`` and the like."""
    frontier = [grad_fn]
    for _ in range(_STAMP_SEARCH_NODES):
        if not frontier:
            return None
        node = frontier.pop(0)
        stamp = node.metadata.get(_STAMP_KEY)
        if stamp is not None:
            return stamp
        frontier.extend(next_node for next_node, _ in node.next_functions if next_node is not None)
    return None


def _state_tensors(state: Any) -> list[torch.Tensor]:
    """The tensors of a state: a lone tensor or the members of an (h, c) pair."""
    members = state if isinstance(state, (tuple, list)) else (state,)
    return [s for s in members if isinstance(s, torch.Tensor)]


def _output_nodes(module: nn.Module, output: Any) -> tuple[list[Any], list[Any]]:
    """grad_fn nodes of the returned state, and of every output (the sequence output included)."""
    if isinstance(module, nn.RNNBase):
        sequence, state = output
        sequence = sequence.data if isinstance(sequence, PackedSequence) else sequence
        others = [sequence.grad_fn]
    else:
        state, others = output, []
    state_nodes = [s.grad_fn for s in _state_tensors(state) if s.grad_fn is not None]
    return state_nodes, [n for n in others if n is not None] + state_nodes


def _carry_message(path: str, module: nn.Module) -> str:
    """The warning text: what is wrong, what torch will say later, what to write."""
    return (
        f"{path} ({module!r}): the incoming hidden state still carries the autograd graph of an earlier "
        f"forward that backward() has already run through. The next backward() will fail with "
        f"\"Trying to backward through the graph a second time\" (or, with retain_graph=True, "
        f"backpropagate through every earlier chunk). Detach the state between truncated-BPTT steps: "
        f"h = h.detach(), or for an LSTM state = tuple(s.detach() for s in state). "
        f"If you backpropagate through it again on purpose (retain_graph=True), "
        f"pass watch(..., detect_graph_carry=False)."
    )


def _user_stacklevel() -> int:
    """stacklevel for warnings.warn pointing at the user's ``rnn(x, h)`` line, past torch's hook plumbing."""
    frame, level = sys._getframe(1), 1
    while frame is not None and _is_plumbing(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    return level


def _is_plumbing(filename: str) -> bool:
    return filename == __file__ or filename.startswith(_TORCH_DIR)


# --------------------------------------------------------------------------
# Per-module hooks
# --------------------------------------------------------------------------


class _ModuleGuard:
    """Forward hooks for one recurrent submodule; owns its path and warn-once flag."""

    def __init__(self, path: str, check_shapes: bool, check_device: bool, detect_graph_carry: bool) -> None:
        self.path = path
        self.check_shapes = check_shapes
        self.check_device = check_device
        self.detect_graph_carry = detect_graph_carry
        self.warned = False

    def before_forward(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        """Forward pre-hook (with_kwargs, so ``hx=`` is seen): validate, then look for a carried graph."""
        x = args[0] if args else kwargs.get("input")
        hx = args[1] if len(args) > 1 else kwargs.get("hx")
        if hx is None:
            return
        if self.check_shapes or self.check_device:
            self._validate(module, x, hx)
        if self.detect_graph_carry and not self.warned:
            self._warn_if_carried(module, hx)

    def after_forward(self, module: nn.Module, args: tuple, output: Any) -> None:
        """Forward hook: stamp this call's output nodes so a later forward can tell they were backwarded."""
        state_nodes, all_nodes = _output_nodes(module, output)
        if not state_nodes:
            return
        stamp = _Stamp()
        for node in state_nodes:
            node.metadata[_STAMP_KEY] = stamp
        for node in set(all_nodes):
            node.register_hook(stamp)

    def _validate(self, module: nn.Module, x: Any, hx: Any) -> None:
        """Raise one HiddenStateError for the first problem: arity, then shapes, then device/dtype."""
        expected_and_batch = _expected_states(module, x)
        if expected_and_batch is None:
            return
        expected, batch = expected_and_batch
        if self.check_shapes:
            self._raise_if(_arity_problem(module, hx, expected), module)
        states = _state_tensors(hx)
        if self.check_shapes:
            for state, exp in zip(states, expected):
                self._raise_if(_shape_problem(module, state, exp, batch), module)
        if self.check_device:
            weight = module.weight_ih_l0 if isinstance(module, nn.RNNBase) else module.weight_ih
            for state, exp in zip(states, expected):
                self._raise_if(_placement_problem(exp.name, state, weight), module)

    def _raise_if(self, problem: str | None, module: nn.Module) -> None:
        """Prefix the problem with the submodule path and repr, and raise it."""
        if problem is not None:
            raise HiddenStateError(f"{self.path} ({module!r}): {problem}")

    def _warn_if_carried(self, module: nn.Module, hx: Any) -> None:
        """Warn (once) when the state's history contains nodes a backward() already ran through."""
        for state in _state_tensors(hx):
            grad_fn = state.grad_fn
            stamp = _stamp_of(grad_fn) if grad_fn is not None else None
            if stamp is not None and stamp.consumed:
                self.warned = True
                message = _carry_message(self.path, module)
                warnings.warn(message, HiddenStateWarning, stacklevel=_user_stacklevel())
                return


# --------------------------------------------------------------------------
# Gradient norms
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class NormStats:
    """Summary of per-step L2 gradient norms; min/median/max are None before the first step."""

    steps: int
    min_norm: float | None
    median_norm: float | None
    max_norm: float | None
    exploded: int
    vanished: int

    @classmethod
    def of(cls, norms: Sequence[float], explode_threshold: float, vanish_threshold: float) -> NormStats:
        """Non-finite norms sort last and count as exploded: NaN gradients are an explosion too."""
        ordered = sorted(norms, key=lambda v: math.inf if math.isnan(v) else v)
        exploded = sum(1 for v in norms if not math.isfinite(v) or v > explode_threshold)
        vanished = sum(1 for v in norms if v < vanish_threshold)
        if not ordered:
            return cls(0, None, None, None, 0, 0)
        n = len(ordered)
        median = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2
        return cls(n, ordered[0], median, ordered[-1], exploded, vanished)

    def row(self, label: str, width: int) -> str:
        """One aligned table line for GuardReport.__str__."""
        norms = "".join(f"{_fmt(v):>11}" for v in (self.min_norm, self.median_norm, self.max_norm))
        return f"  {label:<{width}} {self.steps:>6}{norms} {self.exploded:>9} {self.vanished:>9}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass(frozen=True)
class GuardReport(NormStats):
    """Gradient norms over all watched recurrent parameters per backward step, plus a per-module breakdown."""

    explode_threshold: float
    vanish_threshold: float
    per_module: dict[str, NormStats]

    def __str__(self) -> str:
        if self.steps == 0:
            return "hs-lint runtime guard: no backward pass through the watched modules (grad_norms=False?)"
        width = max(len("all recurrent"), *(len(p) for p in self.per_module))
        header = (
            f"  {'':<{width}} {'steps':>6} {'min':>10} {'median':>10} {'max':>10} "
            f"{'exploded':>9} {'vanished':>9}"
        )
        lines = [
            f"hs-lint runtime guard: L2 grad norm of recurrent parameters per backward step "
            f"(exploded: > {self.explode_threshold:g} or non-finite; vanished: < {self.vanish_threshold:g})",
            header,
            self.row("all recurrent", width),
            *(stats.row(path, width) for path, stats in self.per_module.items()),
        ]
        return "\n".join(lines)


class _GradNormRecorder:
    """Multi-grad hook over all watched parameters: one call, hence one step, per backward.

    ``register_multi_grad_hook`` (mode "all") fires once per backward that
    reaches any of the parameters, with this backward's gradients (before
    accumulation into .grad). That is the per-step gradient even when the user
    accumulates over micro-batches, and it is read before zero_grad() or
    gradient clipping can change it. Norms stay on the device until
    _FLUSH_EVERY steps, a log line, or report() needs them as floats.
    """

    def __init__(
        self,
        groups: list[tuple[str, slice]],
        explode_threshold: float,
        vanish_threshold: float,
        log_every: int | None,
    ) -> None:
        self.groups = groups
        self.explode_threshold = explode_threshold
        self.vanish_threshold = vanish_threshold
        self.log_every = log_every
        self.totals: list[float] = []
        self.per_module: list[list[float]] = [[] for _ in groups]
        self.pending: list[tuple[torch.Tensor, tuple[int, ...]]] = []
        self.logged_steps = 0

    @property
    def steps(self) -> int:
        return len(self.totals) + len(self.pending)

    def __call__(self, grads: Sequence[torch.Tensor | None]) -> None:
        """Store this backward's per-module norms; log every log_every steps."""
        with torch.no_grad():
            owners, norms = [], []
            for index, (_, params) in enumerate(self.groups):
                present = [torch.linalg.vector_norm(g) for g in grads[params] if g is not None]
                if present:
                    owners.append(index)
                    norms.append(torch.linalg.vector_norm(torch.stack(present)))
        if not norms:
            return
        self.pending.append((torch.stack(norms), tuple(owners)))
        if self.log_every and self.steps % self.log_every == 0:
            self._log()
        elif len(self.pending) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        """Move pending norms to Python floats; the total per step is the L2 norm of the module norms."""
        for norms, owners in self.pending:
            values = norms.tolist()
            for owner, value in zip(owners, values):
                self.per_module[owner].append(value)
            self.totals.append(math.hypot(*values))
        self.pending.clear()

    def report(self) -> GuardReport:
        self.flush()
        overall = NormStats.of(self.totals, self.explode_threshold, self.vanish_threshold)
        return GuardReport(
            **vars(overall),
            explode_threshold=self.explode_threshold,
            vanish_threshold=self.vanish_threshold,
            per_module={
                path: NormStats.of(norms, self.explode_threshold, self.vanish_threshold)
                for (path, _), norms in zip(self.groups, self.per_module)
            },
        )

    def _log(self) -> None:
        """One line summarising the steps since the previous log line."""
        self.flush()
        window = self.totals[self.logged_steps:]
        stats = NormStats.of(window, self.explode_threshold, self.vanish_threshold)
        self.logged_steps = len(self.totals)
        logger.info(
            "hs-lint: step %d, recurrent grad norm %.4g (last %d steps: min %.4g, median %.4g, max %.4g; "
            "%d exploded, %d vanished)",
            self.logged_steps, self.totals[-1], stats.steps, stats.min_norm, stats.median_norm,
            stats.max_norm, stats.exploded, stats.vanished,
        )


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------


class GuardHandle:
    """Returned by watch(): remove() (or leaving the ``with`` block) takes every hook off again."""

    def __init__(self, hooks: list[Any], recorder: _GradNormRecorder) -> None:
        self._hooks = hooks
        self._recorder = recorder

    def remove(self) -> None:
        """Remove all hooks; safe to call twice. report() keeps working on what was recorded."""
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()

    def report(self) -> GuardReport:
        """Gradient-norm summary so far (per backward step, per watched module)."""
        return self._recorder.report()

    def __enter__(self) -> GuardHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def watch(
    model: nn.Module,
    *,
    check_shapes: bool = True,
    check_device: bool = True,
    detect_graph_carry: bool = True,
    grad_norms: bool = True,
    log_every: int | None = None,
    explode_threshold: float = 100.0,
    vanish_threshold: float = 1e-6,
) -> GuardHandle:
    """Guard every nn.RNN/LSTM/GRU and RNN/LSTM/GRU cell in ``model`` (``model`` itself included).

    check_shapes: arity and shape of the state vs. the module and the input.
    check_device: device and dtype of the state vs. the module's weights.
    detect_graph_carry: warn when a state still holds a graph backward() consumed.
    grad_norms: record per-backward gradient norms, see GuardHandle.report().
    log_every: log a one-line norm summary every N backward steps (logger ``hs_lint.runtime.guard``).
    """
    if log_every is not None and log_every < 1:
        raise ValueError(f"log_every must be a positive number of steps or None, got {log_every!r}")
    sites = [
        ("model" if not name else f"model.{name}", module)
        for name, module in model.named_modules()
        if isinstance(module, _RECURRENT)
    ]
    if not sites:
        raise ValueError(
            f"watch() found no nn.RNN/LSTM/GRU or RNN/LSTM/GRU cell in {type(model).__name__}; "
            f"nothing to guard."
        )
    checks = (check_shapes, check_device, detect_graph_carry)
    hooks = [hook for path, module in sites for hook in _module_hooks(path, module, *checks)]
    groups, params = _parameter_groups(sites)
    recorder = _GradNormRecorder(groups, explode_threshold, vanish_threshold, log_every)
    if grad_norms and params:
        hooks.append(register_multi_grad_hook(params, recorder))
    return GuardHandle(hooks, recorder)


def _module_hooks(
    path: str, module: nn.Module, check_shapes: bool, check_device: bool, detect_graph_carry: bool
) -> list[Any]:
    """Register only the hooks the enabled checks need: an idle hook still costs time per forward."""
    guard = _ModuleGuard(path, check_shapes, check_device, detect_graph_carry)
    hooks = []
    if check_shapes or check_device or detect_graph_carry:
        hooks.append(module.register_forward_pre_hook(guard.before_forward, with_kwargs=True))
    if detect_graph_carry:
        hooks.append(module.register_forward_hook(guard.after_forward))
    return hooks


def _parameter_groups(
    sites: list[tuple[str, nn.Module]],
) -> tuple[list[tuple[str, slice]], list[torch.Tensor]]:
    """Flat list of trainable recurrent parameters, with the slice each module owns in it."""
    groups, params = [], []
    for path, module in sites:
        own = [p for p in module.parameters() if p.requires_grad]
        groups.append((path, slice(len(params), len(params) + len(own))))
        params.extend(own)
    return groups, params
