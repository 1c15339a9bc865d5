"""--confirm for HS107, HS306, HS308, HS402 and HS6xx: run the mistake on a tiny CPU module and measure it.

Each check takes torch and the finding's data and returns ``(confirmed, detail)``: whether torch
raised or did the silent wrong thing the rule claims, and torch's message or the measured effect.
``confirm.py`` turns that into a Confirmation; this module knows nothing about findings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_IN, _HID = 3, 4


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}" if str(exc).strip() else type(exc).__name__


def numpy_round_trip(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    """HS107: the head trains, the recurrent layer gets no gradient at all."""
    kind = data.get("kind") or "LSTM"
    if kind.endswith("Cell"):
        kind = kind[: -len("Cell")]
    rnn, head = getattr(torch.nn, kind)(_IN, _HID), torch.nn.Linear(_HID, 1)
    out, _ = rnn(torch.randn(5, 2, _IN))
    rebuilt = torch.tensor(out.detach().tolist()[-1])  # the same copy as .numpy(), without needing numpy
    head(rebuilt).sum().backward()
    untouched = all(p.grad is None for p in rnn.parameters())
    trained = head.weight.grad is not None
    return untouched and trained, (
        f"after backward() through torch.tensor(out.detach().tolist()), every parameter of nn.{kind} has .grad "
        f"{'None' if untouched else 'set'} while the head's weight has a gradient"
    )


def retain_variables(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    """HS105 (old spelling): current torch rejects the keyword."""
    loss = (torch.ones(1, requires_grad=True) * 2).sum()
    try:
        loss.backward(retain_variables=True)
    except TypeError as exc:
        return True, _message(exc)
    return False, f"torch {torch.__version__} accepted retain_variables=True"


def _token_steps(torch: Any, carry: bool) -> Any:
    torch.manual_seed(0)
    gru = torch.nn.GRU(_IN, _HID)
    tokens = torch.randn(3, 1, 1, _IN)
    h0, h, out = torch.zeros(1, 1, _HID), None, None
    for token in tokens:
        out, new = gru(token, h if carry and h is not None else h0)
        h = new
    return out


def dropped_state(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    """HS306: with the state dropped, the third step's output is that of the third token alone."""
    with torch.no_grad():
        dropped, carried = _token_steps(torch, carry=False), _token_steps(torch, carry=True)
        torch.manual_seed(0)
        gru = torch.nn.GRU(_IN, _HID)
        alone, _ = gru(torch.randn(3, 1, 1, _IN)[2])
    same_as_alone = torch.allclose(dropped, alone)
    differs = not torch.allclose(dropped, carried)
    return same_as_alone and differs, (
        "fed three tokens with the returned state dropped, the third output equals that of the third token fed "
        f"alone ({same_as_alone}) and differs from the carried run by {float((dropped - carried).abs().max()):.3g}"
    )


def refed_window(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    """HS308: a window fed again on top of a carried state is not the sequence read once."""
    torch.manual_seed(0)
    gru = torch.nn.GRU(_IN, _HID)
    sequence = torch.randn(6, 1, _IN)
    with torch.no_grad():
        once, _ = gru(sequence)
        h, out = None, None
        for end in range(3, 7):
            out, h = gru(sequence[end - 3:end], h)
    gap = float((out[-1] - once[-1]).abs().max())
    return gap > 1e-6, (f"re-feeding a 3-step window on the carried state, the last output differs from the "
                        f"sequence read once by {gap:.3g}")


def _pack(torch: Any, x: Any, lengths: Any, **kwargs: Any) -> Any:
    return torch.nn.utils.rnn.pack_padded_sequence(x, lengths, **kwargs)


def unsorted_lengths(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    try:
        _pack(torch, torch.randn(5, 2, _IN), torch.tensor([3, 5]))
    except RuntimeError as exc:
        return True, f"{_message(exc)} (lengths [3, 5])"
    return False, "torch packed lengths [3, 5] with enforce_sorted=True"


def lengths_on_gpu(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    try:
        _pack(torch, torch.randn(5, 2, _IN), torch.tensor([5, 3], device="meta"))
    except (RuntimeError, NotImplementedError) as exc:
        return True, f"{_message(exc)} (the meta device standing in for the GPU)"
    return False, "torch packed lengths held off the CPU"


def batch_first_mismatch(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    """The batch (2 sequences of up to 5 steps) laid out for the module, packed with the other layout."""
    module_first = bool(data.get("expected", True))
    x = torch.randn(2, 5, _IN) if module_first else torch.randn(5, 2, _IN)
    lengths = torch.tensor([5, 3])
    right = _pack(torch, x, lengths, batch_first=module_first)
    try:
        wrong = _pack(torch, x, lengths, batch_first=not module_first)
    except RuntimeError as exc:
        return True, _message(exc)
    same = wrong.data.shape == right.data.shape and torch.equal(wrong.data, right.data)
    return not same, (f"packed with batch_first={not module_first}, the sequence data differ from the batch's own "
                      f"layout: shape {tuple(wrong.data.shape)} vs {tuple(right.data.shape)}")


def packed_output_use(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    gru = torch.nn.GRU(_IN, _HID)
    out, _ = gru(_pack(torch, torch.randn(5, 2, _IN), torch.tensor([5, 3])))
    method = data.get("method")
    try:
        out[:, 0] if method is None else getattr(out, method)(-1)
    except (TypeError, AttributeError) as exc:
        return True, _message(exc)
    return False, "torch accepted the PackedSequence as a tensor"


def padded_last_step(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    lstm = torch.nn.LSTM(_IN, _HID, batch_first=True)
    if data.get("packed") is False:  # an end-padded batch run as it is
        short, long = torch.randn(3, _IN), torch.randn(5, _IN)
        out, _ = lstm(torch.nn.utils.rnn.pad_sequence([short, long], batch_first=True))
        alone, _ = lstm(short.unsqueeze(0))
        ran_on = not torch.allclose(out[0, -1], alone[0, -1], atol=1e-4)
        return ran_on and torch.allclose(out[0, 2], alone[0, -1], atol=1e-4), (
            f"for the sequence of length 3 in a batch padded to 5, out[:, -1] is "
            f"{'its state after two padding steps' if ran_on else 'its own last step'}, not its output at step 3")
    out, (h, _) = lstm(_pack(torch, torch.randn(2, 5, _IN), torch.tensor([5, 3]), batch_first=True))
    padded, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
    last = padded[:, -1]
    zero = bool((last[1] == 0).all())
    return zero and not bool((h[-1][1] == 0).all()), (
        f"for the sequence of length 3 in a batch padded to 5, out[:, -1] is {'all zeros' if zero else 'not zero'} "
        "while h_n[-1] holds its state at its own last step"
    )


def state_device_split(torch: Any, data: Mapping[str, Any]) -> tuple[bool, str]:
    """Weights on the CPU, state (and input) where CUDA would put them: the meta device stands in."""
    gru = torch.nn.GRU(_IN, _HID)
    try:
        gru(torch.empty(5, 2, _IN, device="meta"), torch.empty(1, 2, _HID, device="meta"))
    except RuntimeError as exc:
        return True, f"{_message(exc)} (weights on the CPU, state and input on the meta device standing in for CUDA)"
    return False, "torch ran CPU weights on a state held elsewhere"


CHECKS: dict[str, Callable[[Any, Mapping[str, Any]], tuple[bool, str]]] = {
    "HS107": numpy_round_trip,
    "HS306": dropped_state,
    "HS308": refed_window,
    "HS402": state_device_split,
    "HS601": unsorted_lengths,
    "HS602": lengths_on_gpu,
    "HS603": batch_first_mismatch,
    "HS604": packed_output_use,
    "HS605": padded_last_step,
}
