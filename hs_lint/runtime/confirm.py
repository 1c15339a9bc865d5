"""``hs-lint check --confirm``: torch's own verdict on a static finding.

Never imports or runs the scanned code. From the configuration and shapes the static side read
out of it (a finding's ``data``), this builds the real ``torch.nn`` module -- on the ``meta``
device for shape checks, so any size costs nothing -- runs the forward (or, for graph findings,
a minimal two-step training loop with a tiny CPU module) and reports what torch did:

- ``confirmed``: torch raised, or did the silent wrong thing the rule claims; ``detail`` is
  torch's own message or the measured effect;
- ``refuted``: torch accepted the code as written; the finding is dropped unless asked for;
- ``unconfirmable``: the finding is not of a kind torch can judge (lifetime, leakage) or the
  module behind it is not visible; ``detail`` says why.

Unknown sizes get distinct small values so that no two coincide by accident (batch != layers !=
hidden); ``assumed`` lists them so the user can see what was run.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

CONFIRMED, REFUTED, UNCONFIRMABLE = "confirmed", "refuted", "unconfirmable"
INSTALL_HINT = "pip install 'hs-lint[runtime]'"
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
        raise TorchMissing(f"--confirm needs torch: {INSTALL_HINT}") from None
    return torch


def confirm(code: str, data: Mapping[str, Any]) -> Confirmation:
    """torch's verdict on one finding of rule ``code`` described by ``data``."""
    check = CHECKS.get(code)
    if check is None:
        return Confirmation(UNCONFIRMABLE, f"{code} is about the state's lifetime, which no single run of torch can show")
    started = time.perf_counter()
    torch = load_torch()
    try:
        result = check(torch, data)
    except _Unconfirmable as exc:
        result = Confirmation(UNCONFIRMABLE, str(exc))
    return Confirmation(result.status, result.detail, result.assumed, time.perf_counter() - started)


class _Unconfirmable(Exception):
    pass


def _torch_message(exc: BaseException) -> str:
    """The first sentence of torch's message: what a person needs, without torch's essay."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    sentence, stop, _ = text.partition(". ")
    return f"{type(exc).__name__}: {sentence}{stop.strip()}"


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


CHECKS: dict[str, Callable[[Any, Mapping[str, Any]], Confirmation]] = {
    "HS101": _confirm_carried,
    "HS103": _confirm_method_on_tuple,
    "HS104": _confirm_partial_detach,
    "HS105": _confirm_retain_graph,
}


@contextlib.contextmanager
def _quiet_torch_warnings(caught: list[str]):
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        yield
    caught.extend(str(r.message) for r in records)
