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
