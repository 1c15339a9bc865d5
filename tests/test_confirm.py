"""--confirm: torch's own verdict, and the messages are torch's, not ours."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from hs_lint.runtime.confirm import PLAUSIBLE, REPRODUCED, UNCONFIRMABLE, confirm  # noqa: E402


def torch_error_of(run) -> str:
    """Run a snippet with real torch and return the first sentence of what it raised."""
    with pytest.raises(Exception) as info:
        run()
    return str(info.value).splitlines()[0].partition(". ")[0]


def carried_gru_loop():
    rnn, h = torch.nn.GRU(2, 3), None
    for _ in range(2):
        out, h = rnn(torch.randn(4, 1, 2), h)
        out.sum().backward()


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell", None])
def test_carried_state_is_reproduced_on_a_stand_in_with_torchs_message(kind):
    result = confirm("HS101", {"kind": kind})
    # a tiny module of the kind is a stand-in, never the code's own module: only a shape run confirms
    assert result.status == (REPRODUCED if kind is not None else PLAUSIBLE)
    assert torch_error_of(carried_gru_loop) in result.detail
    assert ("module" in result.assumed) == (kind is None)
    if kind is not None:
        assert result.assumed["stand-in"].startswith(f"nn.{kind}(input_size=3, hidden_size=4)")


def test_method_on_state_tuple_is_torchs_attribute_error():
    result = confirm("HS103", {"kind": "LSTM", "method": "detach"})
    expected = torch_error_of(lambda: torch.nn.LSTM(2, 3)(torch.randn(4, 1, 2))[1].detach())
    assert result.status == REPRODUCED and expected in result.detail


def test_partial_detach_still_fails_the_second_backward():
    result = confirm("HS104", {"kind": "LSTM"})
    assert result.status == REPRODUCED
    assert torch_error_of(carried_gru_loop) in result.detail


def test_retain_graph_shows_the_graph_growing():
    result = confirm("HS105", {"kind": "GRU"})
    sizes = [int(n) for n in result.detail.split(": ")[1].split(" nodes")[0].split(" -> ")]
    assert result.status == REPRODUCED and len(sizes) == 4 and sizes == sorted(set(sizes))


def test_lifetime_rules_are_unconfirmable_with_a_reason():
    result = confirm("HS301", {})
    assert result.status == UNCONFIRMABLE and "lifetime" in result.detail


_GRU = {"kind": "GRU", "input_size": 40, "hidden_size": 128, "num_layers": 2, "batch_first": True}


def test_a_replay_torch_refuses_is_no_verdict_and_never_ends_the_run():
    """``out[-1]`` replayed on an input whose width the module refuses: torch raises where the checker does not
    expect it; the finding stays, unconfirmed, with torch's reason."""
    result = confirm("HS207", {"module": _GRU, "input": [16, 100, 12], "expression": "out[-1]"})
    assert result.status == UNCONFIRMABLE
    assert "input.size(-1) must be equal to input_size" in result.detail


def test_a_state_claim_is_not_confirmed_by_torch_refusing_the_input():
    data = {"module": _GRU, "state": [[16, 2, 128]], "input": [16, 100, 12]}
    result = confirm("HS201", data)
    assert result.status == UNCONFIRMABLE and "replayed input" in result.detail


def test_an_input_width_the_code_does_not_show_is_the_modules_own():
    data = {"module": _GRU, "state": [[16, 2, 128]], "input": [16, 100, "N_MELS"]}
    result = confirm("HS201", data)
    assert result.status == "confirmed" and "Expected hidden size (2, 16, 128), got [16, 2, 128]" in result.detail
    assert result.assumed["N_MELS"] == 40
