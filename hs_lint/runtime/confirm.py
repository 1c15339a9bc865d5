"""``hs-lint check --confirm``: torch's own verdict on a static finding.

Never imports or runs the scanned code. From the configuration and shapes the static side read
out of it (a finding's ``data``), this builds the real ``torch.nn`` module -- on the ``meta``
device for shape checks, so any size costs nothing -- runs the forward (or, for graph findings,
a minimal two-step training loop with a tiny CPU module) and reports what torch did:

- ``confirmed``: torch raised, or did the silent wrong thing the rule claims, running the module
  the code builds; ``detail`` is torch's own message or the measured effect;
- ``reproduced``: torch raised, or did the wrong thing, on a tiny stand-in module of the kind (sizes
  the code never wrote, listed under ``assumed["stand-in"]``): the mistake is torch's behaviour for
  every configuration, but what ran is not the code's module;
- ``plausible``: the same, but on a module the checker had to assume (the one behind the call is
  not visible in this file): torch's verdict on a stand-in, not on the code;
- ``refuted``: torch accepted the code as written; the finding is dropped unless asked for;
- ``unconfirmable``: the finding is not of a kind torch can judge (lifetime, leakage) or the
  module behind it is not visible; ``detail`` says why.

Unknown sizes get distinct small values so that no two coincide by accident (batch != layers !=
hidden); ``assumed`` lists them so the user can see what was run.
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from hs_lint.engine import Finding
from hs_lint.torch_api import CELL_KINDS, kind_name, members
from hs_lint.install import TORCH_INSTALL
from hs_lint.runtime import effects

CONFIRMED, REPRODUCED, PLAUSIBLE, REFUTED, UNCONFIRMABLE = (
    "confirmed", "reproduced", "plausible", "refuted", "unconfirmable")

# A configuration beyond these is not built: torch would spend seconds creating parameter objects.
MAX_LAYERS = 64
MAX_SIZE = 1 << 20


@dataclass(frozen=True)
class Confirmation:
    status: str
    detail: str
    assumed: Mapping[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "detail": self.detail, "assumed": dict(self.assumed)}


class TorchMissing(RuntimeError):
    """--confirm needs torch; the message is the command that installs it."""


def load_torch() -> Any:
    """Import torch once, lazily, quietly (its numpy warning is not the user's business here)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torch
    except ImportError:
        raise TorchMissing(f"--confirm needs torch: {TORCH_INSTALL}") from None
    return torch


def confirm(code: str, data: Mapping[str, Any]) -> Confirmation:
    """torch's verdict on one finding of rule ``code`` described by ``data``."""
    check = CHECKS.get(code)
    if check is None:
        why = _WHY_UNCONFIRMABLE.get(code) or _WHY_UNCONFIRMABLE.get(code[:3], "torch has no verdict on this finding")
        return Confirmation(UNCONFIRMABLE, why)
    chosen = _chosen_class(data)
    if chosen is not None:
        return Confirmation(UNCONFIRMABLE, f"the module's class is chosen when the code runs ({chosen}): there "
                            "is no one module to build")
    started = time.perf_counter()
    torch = load_torch()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own chatter; HS209 records the warning it needs
            result = check(torch, data)
    except _Unconfirmable as exc:
        result = Confirmation(UNCONFIRMABLE, str(exc))
    except Exception as exc:  # noqa: BLE001 - a replay torch refuses is no verdict, never the run's end
        result = Confirmation(UNCONFIRMABLE, f"torch could not replay it: {_torch_message(exc)}")
    status, assumed = result.status, dict(result.assumed)
    if status == CONFIRMED and "module" in assumed:
        status = PLAUSIBLE
    elif status == CONFIRMED and code in _STAND_IN_CODES:
        status = REPRODUCED
        assumed["stand-in"] = _stand_in(code, data)
    return Confirmation(status, result.detail, assumed, time.perf_counter() - started)


def _chosen_class(data: Mapping[str, Any]) -> str | None:
    """A family of classes (``hs_lint.torch_api``) as the finding's data names it, spelled for the user."""
    module = data.get("module")
    for kind in (data.get("kind"), module.get("kind") if isinstance(module, Mapping) else None):
        if isinstance(kind, str) and len(members(kind)) > 1:
            return kind_name(kind)
    return None


def _stand_in(code: str, data: Mapping[str, Any]) -> str:
    """What ran instead of the code's own module."""
    kind = data.get("kind") if code in _GRAPH_CODES else None
    sizes = f"input_size={_TINY['input_size']}, hidden_size={_TINY['hidden_size']}"
    module = f"nn.{kind}({sizes})" if kind else f"a tiny module of the kind ({sizes})"
    return f"{module}, not the configuration in the code"


class _Unconfirmable(Exception):
    pass


_WHY_UNCONFIRMABLE = {
    "HS3": "a state's lifetime across batches and epochs is a property of the whole training run; no single call "
           "of torch shows it (the runtime guard `hs_lint.runtime.watch` watches the real run)",
    "HS5": "gradient clipping is judged over a whole training step of the real model, which --confirm never runs",
    **dict.fromkeys(("HS213", "HS214"), "which batches a loop skips is decided by the data loader and the loop, "
                    "which --confirm never runs"),
}


def confirm_findings(findings: Sequence[Finding], show_refuted: bool = False) -> list[Finding]:
    """Attach torch's verdict to every finding; drop the refuted ones unless asked to show them."""
    load_torch()
    judged = []
    for finding in findings:
        if finding.code in _TOOL_CODES:
            judged.append(finding)
            continue
        verdict = confirm(finding.code, finding.data)
        if verdict.status != REFUTED or show_refuted:
            judged.append(replace(finding, confirmation=verdict))
    return judged


_TOOL_CODES = frozenset({"HS001", "HS002"})
# Judged on a tiny CPU module of the kind rather than on the configuration the code builds.
_GRAPH_CODES = frozenset({"HS101", "HS103", "HS104", "HS105"})
_STAND_IN_CODES = _GRAPH_CODES | {"HS102", "HS401", *effects.CHECKS}


def _torch_message(exc: BaseException) -> str:
    """The first sentence of torch's message: what a person needs, without torch's essay."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if len(text) > 160:
        sentence, stop, _ = text.partition(". ")
        text = f"{sentence}{stop.strip()}"
    return f"{type(exc).__name__}: {text}"


# -- graph findings: a minimal training loop with a tiny CPU module of the same class ----------

_TINY = {"input_size": 3, "hidden_size": 4}


def _tiny_module(torch: Any, data: Mapping[str, Any]) -> tuple[Any, str, dict[str, object]]:
    kind = data.get("kind")
    assumed: dict[str, object] = {}
    if kind is None:
        kind = "LSTM" if data.get("tuple_state") else "RNN"
        assumed["module"] = f"nn.{kind} (the module behind the call is not visible in this file)"
    module = getattr(torch.nn, kind)(**_TINY)
    return module, kind, assumed


def _step_input(torch: Any, kind: str) -> Any:
    return torch.randn(2, _TINY["input_size"]) if kind.endswith("Cell") else torch.randn(5, 2, _TINY["input_size"])


def _run(module: Any, kind: str, x: Any, state: Any) -> tuple[Any, Any]:
    """One recurrent step as the code writes it: ``out, h = rnn(x, h)`` or ``h = cell(x, h)``."""
    if kind.endswith("Cell"):
        new_state = module(x, state)
        out = new_state[0] if isinstance(new_state, tuple) else new_state
        return out, new_state
    return module(x, state)


def _graph_loop(torch: Any, data: Mapping[str, Any], cut: Callable[[Any], Any] | None,
                retain_graph: bool = False, steps: int = 2) -> tuple[BaseException | None, list[int], dict]:
    """Run ``steps`` iterations carrying the state as the code does; return torch's exception (if any)
    and the size of the autograd graph behind the state after each step."""
    module, kind, assumed = _tiny_module(torch, data)
    state = None
    sizes = []
    try:
        for _ in range(steps):
            if cut is not None and state is not None:
                state = cut(state)
            out, state = _run(module, kind, _step_input(torch, kind), state)
            out.sum().backward(retain_graph=retain_graph)
            sizes.append(_graph_size(state))
    except RuntimeError as exc:
        return exc, sizes, assumed
    return None, sizes, assumed


def _graph_size(state: Any) -> int:
    """Autograd nodes reachable from the state: grows every step when history is carried."""
    tensors = state if isinstance(state, tuple) else (state,)
    seen, stack = set(), [t.grad_fn for t in tensors if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return len(seen)


def _confirm_carried(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    error, _, assumed = _graph_loop(torch, data, cut=None)
    if error is not None:
        return Confirmation(CONFIRMED, _torch_message(error), assumed)
    return Confirmation(REFUTED, "two steps with the state carried ran through backward() without error", assumed)


def _confirm_partial_detach(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    def detach_first(state: Any) -> Any:
        return (state[0].detach(), *state[1:]) if isinstance(state, tuple) else state.detach()

    error, _, assumed = _graph_loop(torch, {**data, "tuple_state": True, "kind": data.get("kind") or "LSTM"},
                                    cut=detach_first)
    if error is not None:
        return Confirmation(CONFIRMED, f"{_torch_message(error)} (only h was detached; c still carries the graph)",
                            assumed)
    return Confirmation(REFUTED, "detaching one element was enough for this module", assumed)


def _confirm_retain_graph(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    if data.get("old_spelling"):
        return _measured(effects.retain_variables)(torch, data)
    error, sizes, assumed = _graph_loop(torch, data, cut=None, retain_graph=True, steps=4)
    if error is not None:
        return Confirmation(CONFIRMED, _torch_message(error), assumed)
    if sizes == sorted(sizes) and sizes[-1] > sizes[0]:
        growth = " -> ".join(str(s) for s in sizes)
        return Confirmation(CONFIRMED, f"the autograd graph behind the state grows every step: {growth} nodes",
                            assumed)
    return Confirmation(REFUTED, f"the graph stayed the same size ({sizes})", assumed)


def _confirm_method_on_tuple(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    kind = data.get("kind") or "LSTM"
    module = getattr(torch.nn, kind)(**_TINY)
    _, state = _run(module, kind, _step_input(torch, kind), None)
    method = data.get("method", "detach")
    try:
        getattr(state, method)
    except AttributeError as exc:
        return Confirmation(CONFIRMED, _torch_message(exc))
    return Confirmation(REFUTED, f"the state of nn.{kind} has a .{method} attribute")


# -- shape findings: the real module on the meta device, fed the shapes the code builds -------------

_SIZE_REFERENCE = re.compile(r"^(?:(?P<name>[\w.]+)\.(?:size\((?P<a>-?\d+)\)|shape\[(?P<b>-?\d+)\])|len\((?P<c>[\w.]+)\))$")
_SYMBOL_VALUES = (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73)
_SEQ_LEN = "sequence length"
# torch's complaints about the input itself: for a claim about the state, the replay is wrong, not the code
_REJECTS_INPUT = re.compile(r"input\.size\(-1\) must be equal to input_size|\binput must have \d+ dimensions")


class _Sizes:
    """Values for the sizes a finding names: ints as written, every symbol a distinct small prime that
    no literal of the finding uses, so two unknown sizes never coincide by accident."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._taken = set(_ints(data))
        self._symbols: dict[str, int] = {}
        self.input: list[int] | None = None

    def symbol(self, text: str) -> int:
        if text not in self._symbols:
            self._symbols[text] = next(v for v in _SYMBOL_VALUES if v not in self._taken)
            self._taken.add(self._symbols[text])
        return self._symbols[text]

    def assume(self, label: str, value: int) -> int:
        """A size chosen by the checker rather than read from the code; it shows in ``assumed``."""
        self._symbols[label] = value
        self._taken.add(value)
        return value

    def value(self, dim: Any) -> int:
        """An int, or the text of a symbolic size: ``2*cfg.layers``, ``x.size(1)``, ``len(x)``."""
        if isinstance(dim, bool) or dim is None:
            raise _Unconfirmable("a size the finding depends on is unknown")
        if isinstance(dim, int):
            return dim
        product = 1
        for factor in str(dim).replace(" ", "").split("*"):
            product *= int(factor) if factor.lstrip("-").isdigit() else self._factor(factor)
        return product

    def _factor(self, text: str) -> int:
        if text in self._symbols:
            return self._symbols[text]
        match = _SIZE_REFERENCE.match(text)
        if match and self.input is not None:
            axis = int(match["a"] or match["b"] or 0)
            if -len(self.input) <= axis < len(self.input):
                return self.input[axis]
        return self.symbol(text)

    @property
    def assumed(self) -> dict[str, int]:
        return dict(self._symbols)


def _ints(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _ints(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _ints(item)


def _build_module(torch: Any, config: Mapping[str, Any], sizes: _Sizes) -> tuple[Any, str, dict[str, Any]]:
    """The real ``torch.nn`` module of that class and configuration, on the meta device."""
    kind = config["kind"]
    kwargs = {}
    for name, value in config.items():
        if name == "kind" or value is None:
            continue
        if name in ("input_size", "hidden_size", "num_layers", "proj_size"):
            value = sizes.value(value)
        elif isinstance(value, str) and name != "nonlinearity":
            raise _Unconfirmable(f"{name}={value} is not known statically")
        kwargs[name] = value
    if kwargs.get("num_layers", 1) > MAX_LAYERS or any(
        kwargs.get(n, 0) > MAX_SIZE for n in ("input_size", "hidden_size", "proj_size")
    ):
        raise _Unconfirmable(f"the configuration is too large to build on purpose ({kwargs})")
    try:
        module = getattr(torch.nn, kind)(**kwargs, device="meta")
    except (ValueError, TypeError, RuntimeError) as exc:
        raise _Unconfirmable(f"torch rejects the configuration itself: {_torch_message(exc)}") from None
    return module, kind, kwargs


def _input(torch: Any, data: Mapping[str, Any], kind: str, kwargs: Mapping[str, Any], sizes: _Sizes,
           batch: int) -> Any:
    """The input as the code builds it when visible; else the module's own layout with that batch."""
    if data.get("input"):
        feature = data["input"][-1]
        if isinstance(feature, str) and "*" not in feature and feature not in sizes.assumed:
            sizes.assume(feature, kwargs["input_size"])  # a feature size the code does not show: the module's own
        sizes.input = [sizes.value(d) for d in data["input"]]
    else:
        feature = sizes.value(data["input_feature"]) if data.get("input_feature") is not None else kwargs["input_size"]
        if kind in CELL_KINDS:
            sizes.input = [batch, feature]
        else:
            seq = sizes.symbol(_SEQ_LEN)
            sizes.input = [batch, seq, feature] if kwargs.get("batch_first") else [seq, batch, feature]
    return torch.empty(sizes.input, device="meta")


def _batch_hint(code: str, data: Mapping[str, Any], kind: str, sizes: _Sizes) -> int:
    """The input batch to run with: the one the state names (so that only the claimed mistake differs);
    for a batch mismatch with a fixed-size state and no visible input, a smaller last batch."""
    state = data.get("state") or []
    first = state[0] if state else None
    if code == "HS204":
        if first and isinstance(first[1 if kind not in CELL_KINDS else 0], int):
            fixed = first[1 if kind not in CELL_KINDS else 0]
            return sizes.assume(f"last batch (the DataLoader's batch_size is {fixed})", max(fixed - 1, 1))
        return sizes.symbol("batch")
    index = 0 if (code == "HS201" or kind in CELL_KINDS) else 1
    if first and len(first) > index:
        return sizes.value(first[index])
    return sizes.symbol("batch")


def _state(torch: Any, data: Mapping[str, Any], sizes: _Sizes) -> Any:
    parts = [torch.empty([sizes.value(d) for d in dims], device="meta") for dims in data["state"]]
    return tuple(parts) if data.get("state_is_tuple") else parts[0]


def _confirm_shape(code: str) -> Callable[[Any, Mapping[str, Any]], Confirmation]:
    def check(torch: Any, data: Mapping[str, Any]) -> Confirmation:
        if "module" not in data:
            raise _Unconfirmable("the module's configuration was not read out of the code")
        sizes = _Sizes(data)
        module, kind, kwargs = _build_module(torch, data["module"], sizes)
        x = _input(torch, data, kind, kwargs, sizes, _batch_hint(code, data, kind, sizes))
        state = _state(torch, data, sizes) if data.get("state") else None
        try:
            result = module(x, state) if state is not None else module(x)
            if code == "HS205" and state is None:
                h_n = result if kind in CELL_KINDS else result[1]
                _, _ = h_n
                return Confirmation(CONFIRMED, f"unpacking splits h_n of shape {tuple(h_n.shape)} along its first "
                                    "dimension: the two names get two layers (or directions), not (h, c)",
                                    sizes.assumed)
        except (RuntimeError, ValueError, TypeError, IndexError, AttributeError) as exc:
            if code != "HS206" and _REJECTS_INPUT.search(str(exc)):
                raise _Unconfirmable(f"torch rejected the replayed input before the state: {_torch_message(exc)}") \
                    from None
            return Confirmation(CONFIRMED, _torch_message(exc), sizes.assumed)
        shown = f"{tuple(x.shape)}" + (f" and state {_shapes_of(state)}" if state is not None else "")
        return Confirmation(REFUTED, f"torch accepted input {shown} for nn.{kind}({_kwargs_text(kwargs)})",
                            sizes.assumed)

    return check


def _confirm_batch(code: str) -> Callable[[Any, Mapping[str, Any]], Confirmation]:
    """A shuffled DataLoader batch (``batch_of``) run as the finding says torch reads it: a 2-D batch with a state
    without batch axis (HS211) is one sequence; a 3-D batch in a time-major module (HS206) has its samples as
    time steps. Any other finding of the code is replayed as the code builds it."""
    replay = _confirm_shape(code)

    def check(torch: Any, data: Mapping[str, Any]) -> Confirmation:
        if "batch_of" not in data:
            return replay(torch, data)
        sizes = _Sizes(data)
        module, kind, kwargs = _build_module(torch, data["module"], sizes)
        batch = sizes.symbol(f"samples in a batch of {data['batch_of']}")
        if code == "HS206":
            steps = sizes.symbol(_SEQ_LEN)
            out, h_n = module(torch.empty([batch, steps, kwargs["input_size"]], device="meta"))
            h_n = h_n[0] if isinstance(h_n, tuple) else h_n
            return Confirmation(CONFIRMED, f"{batch} samples ran as {batch} steps: h_n is {tuple(h_n.shape)}, a state "
                                f"per position ({steps}), none per sample", sizes.assumed)
        try:
            out, h_n = module(torch.empty([batch, kwargs["input_size"]], device="meta"), _state(torch, data, sizes))
        except (RuntimeError, ValueError, TypeError) as exc:
            return Confirmation(CONFIRMED, _torch_message(exc), sizes.assumed)
        if kind in CELL_KINDS:
            raise _Unconfirmable(f"torch accepted a batch of {batch} for nn.{kind}")
        h_n = h_n[0] if isinstance(h_n, tuple) else h_n
        return Confirmation(CONFIRMED, f"a 2-D batch of {batch} samples ran as one sequence of {batch} steps: "
                            f"output {tuple(out.shape)}, h_n {tuple(h_n.shape)}", sizes.assumed)

    return check


def _shapes_of(state: Any) -> str:
    return str(tuple(tuple(t.shape) for t in state)) if isinstance(state, tuple) else str(tuple(state.shape))


def _kwargs_text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items())


def _confirm_last_step(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    """Silent: run the module and show which slice ``out[-1]`` / ``h_n[-1]`` really is."""
    sizes = _Sizes(data)
    module, kind, kwargs = _build_module(torch, data["module"], sizes)
    x = _input(torch, data, kind, kwargs, sizes, 0 if data.get("input") else sizes.symbol("batch"))
    out, h_n = module(x)
    if isinstance(h_n, tuple):
        h_n = h_n[0]
    expression = str(data.get("expression", ""))
    if x.dim() == 2 and kind not in CELL_KINDS:
        return Confirmation(REFUTED, f"the input is unbatched {tuple(x.shape)}, so out is {tuple(out.shape)} = "
                            f"(sequence, features) and `{expression}` is the last time step, as intended",
                            sizes.assumed)
    taken = _index(out if data.get("of") != "h_n" else h_n, expression)
    batch, seq = (out.shape[0], out.shape[1]) if kwargs.get("batch_first") else (out.shape[1], out.shape[0])
    hidden = out.shape[-1] // (2 if kwargs.get("bidirectional") else 1)
    if taken is None:
        raise _Unconfirmable(f"cannot replay the indexing `{expression}`")
    if taken.shape[0] == seq and len(taken.shape) == 2:
        effect = f"is {tuple(taken.shape)} = (sequence, features): every time step of the last batch element"
    elif taken.shape[0] == batch and kwargs.get("bidirectional") and data.get("of") == "h_n":
        effect = (f"is {tuple(taken.shape)}: the last layer's backward direction alone; its forward direction "
                  f"is h_n[-2] (h_n is {tuple(h_n.shape)})")
    elif taken.shape[0] == batch and kwargs.get("bidirectional"):
        effect = (f"is {tuple(taken.shape)} = (batch, features), but with bidirectional=True its features "
                  f"{hidden}:{2 * hidden} are the backward direction after reading only the last token")
    elif taken.shape[0] == batch:
        return Confirmation(REFUTED, f"`{expression}` is {tuple(taken.shape)} = (batch, features) here", sizes.assumed)
    else:
        effect = f"is {tuple(taken.shape)}, not (batch={batch}, features)"
    layout = "batch_first=True" if kwargs.get("batch_first") else "batch_first=False"
    return Confirmation(CONFIRMED, f"with {layout}, out is {tuple(out.shape)} and `{expression}` {effect}",
                        sizes.assumed)


def _index(tensor: Any, expression: str) -> Any:
    """Replay a constant subscript like ``[-1]`` or ``[:, -1]`` (parsed, never evaluated)."""
    match = re.search(r"\[([^\]]*)\]\s*$", expression)
    if match is None:
        return None
    index: list[Any] = []
    for part in match.group(1).split(","):
        part = part.strip()
        if part == ":":
            index.append(slice(None))
        elif part.lstrip("-").isdigit():
            index.append(int(part))
        else:
            return None
    return tensor[tuple(index)]


def _confirm_view(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    """Silent: label every entry of h_n with its batch item and show the reshaped rows mixing them."""
    sizes = _Sizes(data)
    _, kind, kwargs = _build_module(torch, data["module"], sizes)
    batch = sizes.symbol("batch")
    directions = (2 if kwargs.get("bidirectional") else 1) * kwargs.get("num_layers", 1)
    hidden = kwargs.get("proj_size") or kwargs["hidden_size"]
    if directions == 1:
        return Confirmation(REFUTED, "with one layer and one direction, h_n[0] is already (batch, hidden)",
                            sizes.assumed)
    labels = torch.arange(batch).view(1, batch, 1).expand(directions, batch, hidden).contiguous()
    rows = labels.reshape(batch, -1)
    mixed = next((i for i in range(batch) if rows[i].unique().numel() > 1), None)
    if mixed is None:
        return Confirmation(REFUTED, "every reshaped row holds a single batch item", sizes.assumed)
    items = ", ".join(str(int(v)) for v in rows[mixed].unique())
    return Confirmation(CONFIRMED, f"h_n is ({directions}, {batch}, {hidden}); reshaped to ({batch}, -1) "
                        f"without a transpose, row {mixed} holds batch items {items}", sizes.assumed)


def _confirm_view_axes(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    """Silent: label each value with its index on the moved axis, view as the code does, and look for a slice of
    the target's axis that holds several labels."""
    sizes = _Sizes(data)
    source = [sizes.value(dim) for dim in data["source"]]
    axis, position = data["moved"][0], data["positions"][0]
    identified = dict(data["axes"])
    rest = data.get("rest", False)  # the axes after these are unknown: one axis of 1 stands for them
    if rest:
        source.append(sizes.assume("the axes after the named ones", 1))
    target = [source[identified[p]] if p in identified else -1 if dim == -1 else 1 if rest else sizes.value(dim)
              for p, dim in enumerate(data["target"])]
    shape = [1] * len(source)
    shape[axis] = source[axis]
    labels = torch.arange(source[axis]).view(shape).expand(source).contiguous()
    rows = labels.reshape(target).movedim(position, 0).reshape(source[axis], -1)
    mixed = next((i for i in range(source[axis]) if bool((rows[i] != i).any())), None)
    if mixed is None:
        return Confirmation(REFUTED, f"viewed as {tuple(target)}, every slice of axis {position} holds one "
                            f"index of axis {axis}", sizes.assumed)
    found = ", ".join(str(int(v)) for v in rows[mixed].unique()[:4])
    return Confirmation(CONFIRMED, f"a {tuple(source)} tensor viewed as {tuple(target)}: index {mixed} of the new "
                        f"axis {position} holds indices {found} of axis {axis}", sizes.assumed)


def _confirm_dropout(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    caught: list[str] = []
    with _recorded_warnings(caught):
        _build_module(torch, data["module"], _Sizes(data))
    message = next((w for w in caught if "dropout" in w), None)
    if message is None:
        return Confirmation(REFUTED, "torch built the module without a dropout warning")
    return Confirmation(CONFIRMED, f"UserWarning: {message}")


def _confirm_discarded(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    """Call the method as the code does, drop the result, and look at the state afterwards."""
    rnn = torch.nn.GRU(3, 4)
    _, h = rnn(torch.randn(5, 2, 3))
    method = data.get("method", "detach")
    before = (h.grad_fn, h.device, h.dtype, h.is_contiguous())
    {"to": lambda: h.to("meta"), "cuda": lambda: h.to("meta")}.get(method, lambda: getattr(h, method)())()
    if (h.grad_fn, h.device, h.dtype, h.is_contiguous()) != before:
        return Confirmation(REFUTED, f"h.{method}() changed h in place")
    return Confirmation(CONFIRMED, f"after the dropped h.{method}(), h is unchanged: grad_fn={type(h.grad_fn).__name__}, "
                        f"device={h.device}, dtype={h.dtype}")


def _confirm_device(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    """The module on ``meta`` stands in for the GPU; the state is created where the code creates it (CPU)."""
    kind = data.get("kind") or "GRU"
    assumed = {} if data.get("kind") else {"module": "nn.GRU (a device mismatch fails the same way for every kind)"}
    module = getattr(torch.nn, kind)(3, 4, device="meta")
    x = torch.empty(2, 3, device="meta") if kind in CELL_KINDS else torch.empty(5, 2, 3, device="meta")
    h0 = torch.zeros(2, 4) if kind in CELL_KINDS else torch.zeros(1, 2, 4)
    state = (h0, h0.clone()) if kind in ("LSTM", "LSTMCell") else h0
    try:
        module(x, state)
    except RuntimeError as exc:
        return Confirmation(CONFIRMED, f"{_torch_message(exc)} (module on the meta device standing in for the GPU, "
                            "state on the CPU)", assumed)
    return Confirmation(REFUTED, "torch accepted a CPU state for a module on another device", assumed)


def _confirm_variable_idiom(torch: Any, data: Mapping[str, Any]) -> Confirmation:
    from torch.autograd import Variable

    if type(torch.zeros(1)) == Variable:  # noqa: E721 - the comparison the rule is about
        return Confirmation(REFUTED, f"type(tensor) == Variable is True on torch {torch.__version__}")
    return Confirmation(CONFIRMED, f"on torch {torch.__version__}, type(torch.zeros(1)) is {type(torch.zeros(1)).__name__}, "
                        "so `type(h) == Variable` is False for every tensor")


def _measured(check: Callable[[Any, Mapping[str, Any]], tuple[bool, str]]) -> Callable[..., Confirmation]:
    """An ``effects`` check as a verdict: what it measured, confirmed or refuted."""
    def run(torch: Any, data: Mapping[str, Any]) -> Confirmation:
        confirmed, detail = check(torch, data)
        return Confirmation(CONFIRMED if confirmed else REFUTED, detail)

    return run


CHECKS: dict[str, Callable[[Any, Mapping[str, Any]], Confirmation]] = {
    "HS101": _confirm_carried,
    "HS103": _confirm_method_on_tuple,
    "HS104": _confirm_partial_detach,
    "HS105": _confirm_retain_graph,
    **{code: _confirm_shape(code) for code in ("HS201", "HS202", "HS203", "HS204", "HS205")},
    **{code: _confirm_batch(code) for code in ("HS206", "HS211")},
    "HS207": _confirm_last_step,
    "HS208": _confirm_view,
    "HS212": _confirm_view_axes,
    "HS209": _confirm_dropout,
    "HS102": _confirm_discarded,
    "HS106": _confirm_variable_idiom,
    "HS401": _confirm_device,
    **{code: _measured(check) for code, check in effects.CHECKS.items()},
}


@contextlib.contextmanager
def _recorded_warnings(caught: list[str]) -> Iterator[None]:
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield
    caught.extend(str(r.message) for r in records)
