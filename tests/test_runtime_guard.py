"""Tests for hs_lint.runtime.watch on real (tiny) torch modules."""

import logging
import math
import re
import warnings

import pytest

torch = pytest.importorskip("torch")
from hypothesis import assume, given, settings, strategies as st  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from hs_lint.runtime import GuardHandle, HiddenStateError, HiddenStateWarning, watch  # noqa: E402

BATCH_FIRST_FIX = (
    "hidden states are never batch-first, even with batch_first=True: "
    "build h0 as torch.zeros(num_layers * num_directions, batch, hidden)"
)
LAST_BATCH_FIX = "use drop_last=True or size h0 from x.size(batch_dim)"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def guard_message(model, call):
    """Run ``call`` unwatched (torch must fail on its own), then watched; return the guard's message.

    The first half proves the state is really wrong; the second that the guard's
    error, not torch's, is what the user sees.
    """
    with pytest.raises(Exception) as plain:
        call()
    assert not isinstance(plain.value, HiddenStateError)
    with watch(model):
        with pytest.raises(HiddenStateError) as caught:
            call()
    assert type(caught.value) is HiddenStateError
    return str(caught.value)


class Encoder(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn


class Seq2Seq(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.encoder = Encoder(rnn)


# --------------------------------------------------------------------------
# Shape, arity, device, dtype
# --------------------------------------------------------------------------


def test_batch_first_h0_is_explained():
    lstm = nn.LSTM(3, 4, num_layers=2, batch_first=True)
    x = torch.randn(5, 7, 3)  # batch 5, seq 7
    state = (torch.zeros(5, 2, 4), torch.zeros(5, 2, 4))
    message = guard_message(lstm, lambda: lstm(x, state))
    assert message.startswith("model (LSTM(3, 4, num_layers=2, batch_first=True)): ")
    assert "h0 has shape (5, 2, 4), expected (2, 5, 4) = (num_layers * num_directions, batch, hidden_size)" in message
    assert BATCH_FIRST_FIX in message
    assert "here torch.zeros(2, 5, 4)" in message


def test_missing_factor_two_for_bidirectional():
    gru = nn.GRU(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(6, 5, 3)
    message = guard_message(gru, lambda: gru(x, torch.zeros(2, 5, 4)))
    assert "h0 has shape (2, 5, 4), expected (4, 5, 4)" in message
    assert "the ×2 for bidirectional is missing" in message
    assert "num_layers * num_directions = 2 * 2 = 4" in message


def test_fixed_h0_meeting_smaller_last_batch():
    lstm = nn.LSTM(3, 4, batch_first=True)
    h0 = (torch.zeros(1, 8, 4), torch.zeros(1, 8, 4))  # sized for the full batch of 8
    last_batch = torch.randn(5, 7, 3)
    message = guard_message(lstm, lambda: lstm(last_batch, h0))
    assert "h0 was sized for batch 8 but this input has batch 5" in message
    assert LAST_BATCH_FIX in message
    assert "(here x.size(0))" in message  # batch_first=True


def test_batch_mismatch_on_packed_input_uses_batch_sizes():
    gru = nn.GRU(3, 4)
    padded = torch.randn(4, 3, 3)
    packed = pack_padded_sequence(padded, torch.tensor([4, 2, 1]))
    message = guard_message(gru, lambda: gru(packed, torch.zeros(1, 6, 4)))
    assert "expected (1, 3, 4)" in message
    assert "(here x.batch_sizes[0])" in message


def test_correct_state_for_packed_input_passes_unchanged():
    gru = nn.GRU(3, 4)
    packed = pack_padded_sequence(torch.randn(4, 3, 3), torch.tensor([4, 2, 1]))
    h0 = torch.randn(1, 3, 4)
    out_plain, h_plain = gru(packed, h0)
    with watch(gru):
        out_watched, h_watched = gru(packed, h0)
    assert torch.equal(out_plain.data, out_watched.data)
    assert torch.equal(h_plain, h_watched)


def test_proj_size_lstm_with_correct_state_passes():
    lstm = nn.LSTM(3, 6, num_layers=2, proj_size=2)
    x = torch.randn(5, 4, 3)
    state = (torch.randn(2, 4, 2), torch.randn(2, 4, 6))
    expected_out, _ = lstm(x, state)
    with watch(lstm):
        out, (h, c) = lstm(x, state)
    assert torch.equal(out, expected_out)
    assert h.shape == (2, 4, 2) and c.shape == (2, 4, 6)


def test_proj_size_lstm_given_hidden_size_h0():
    lstm = nn.LSTM(3, 6, num_layers=2, proj_size=2)
    x = torch.randn(5, 4, 3)
    state = (torch.zeros(2, 4, 6), torch.zeros(2, 4, 6))
    message = guard_message(lstm, lambda: lstm(x, state))
    assert "h0 has shape (2, 4, 6), expected (2, 4, 2) = (num_layers * num_directions, batch, proj_size)" in message
    assert "h0 uses hidden_size (6) instead of proj_size" in message
    assert "only c0 keeps hidden_size" in message


def test_proj_size_lstm_given_proj_size_c0():
    lstm = nn.LSTM(3, 6, proj_size=2)
    x = torch.randn(5, 4, 3)
    message = guard_message(lstm, lambda: lstm(x, (torch.zeros(1, 4, 2), torch.zeros(1, 4, 2))))
    assert "c0 has shape (1, 4, 2), expected (1, 4, 6)" in message
    assert "c0's last dim stays hidden_size (6)" in message


def test_lstm_given_a_single_tensor():
    lstm = nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    message = guard_message(lstm, lambda: lstm(x, torch.zeros(1, 2, 4)))
    assert "got a single tensor of shape (1, 2, 4) as the state, but LSTM takes a tuple (h0, c0)" in message
    assert "Pass (h0, c0) with h0 = torch.zeros(1, 2, 4) and c0 = torch.zeros(1, 2, 4)" in message


def test_gru_given_an_lstm_style_tuple():
    gru = nn.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    state = (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))
    message = guard_message(gru, lambda: gru(x, state))
    assert "got a tuple of 2 ((1, 2, 4), (1, 2, 4)) as the state, but GRU takes a single tensor h0" in message
    assert "If this (h, c) pair comes from LSTM code, pass only h" in message


def test_state_passed_as_hx_keyword_is_checked():
    lstm = nn.LSTM(3, 4, batch_first=True)
    x = torch.randn(5, 7, 3)
    message = guard_message(lstm, lambda: lstm(x, hx=(torch.zeros(5, 1, 4), torch.zeros(5, 1, 4))))
    assert BATCH_FIRST_FIX in message


def test_input_and_state_both_as_keywords_are_checked():
    gru = nn.GRU(3, 4)
    message = guard_message(gru, lambda: gru(input=torch.randn(5, 2, 3), hx=torch.zeros(1, 1, 4)))
    assert "h0 has batch 1 but this input has batch 2: size h0 from x.size(batch_dim) (here x.size(1))" in message


def test_unbatched_input_needs_unbatched_state():
    rnn = nn.RNN(3, 4, num_layers=2)
    x = torch.randn(5, 3)  # unbatched: (seq, features)
    message = guard_message(rnn, lambda: rnn(x, torch.zeros(2, 1, 4)))
    assert "h0 has shape (2, 1, 4), expected (2, 4) = (num_layers * num_directions, hidden_size)" in message
    assert "the input is unbatched, so h0 must be unbatched too: build it as torch.zeros(2, 4)" in message


@pytest.mark.parametrize(
    ("cell", "x", "state", "fragments"),
    [
        (
            nn.RNNCell(3, 4),
            torch.randn(5, 3),
            torch.zeros(8, 4),
            [
                "hx has shape (8, 4), expected (5, 4) = (batch, hidden_size)",
                "use drop_last=True or size hx from x.size(batch_dim) (here x.size(0))",
            ],
        ),
        (
            nn.LSTMCell(3, 4),
            torch.randn(5, 3),
            torch.zeros(5, 4),
            ["LSTMCell takes a tuple (hx, cx) of two tensors"],
        ),
        (
            nn.GRUCell(3, 4),
            torch.randn(5, 3),
            (torch.zeros(5, 4), torch.zeros(5, 4)),
            ["GRUCell takes a single tensor hx"],
        ),
        (
            nn.GRUCell(3, 4),
            torch.randn(5, 3),
            torch.zeros(5, 6),
            ["hx has shape (5, 6), expected (5, 4)", "Fix: build hx as torch.zeros(5, 4)."],
        ),
        (
            nn.LSTMCell(3, 4),
            torch.randn(3),  # unbatched
            (torch.zeros(1, 4), torch.zeros(1, 4)),
            ["hx has shape (1, 4), expected (4,) = (hidden_size)", "must be unbatched too"],
        ),
    ],
    ids=["rnncell-last-batch", "lstmcell-single", "grucell-tuple", "grucell-hidden", "lstmcell-unbatched"],
)
def test_cells(cell, x, state, fragments):
    message = guard_message(cell, lambda: cell(x, state))
    for fragment in fragments:
        assert fragment in message


def test_nested_submodule_path_is_named():
    model = Seq2Seq(nn.LSTM(3, 4, batch_first=True))
    x = torch.randn(5, 7, 3)
    state = (torch.zeros(5, 1, 4), torch.zeros(5, 1, 4))
    message = guard_message(model, lambda: model.encoder.rnn(x, state))
    assert message.startswith("model.encoder.rnn (LSTM(3, 4, batch_first=True)): h0 has shape (5, 1, 4)")


def test_cpu_state_for_model_on_meta_device():
    model = Seq2Seq(nn.LSTM(3, 4, device="meta"))
    x = torch.randn(5, 2, 3, device="meta")
    state = (torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))  # on cpu
    message = guard_message(model, lambda: model.encoder.rnn(x, state))
    assert message.startswith("model.encoder.rnn (LSTM(3, 4)): ")
    assert "h0 is on cpu, the module's weights on meta → create it with device=x.device" in message


def test_dtype_mismatch():
    gru = nn.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    message = guard_message(gru, lambda: gru(x, torch.zeros(1, 2, 4, dtype=torch.float64)))
    assert "h0 has dtype torch.float64, the module's weights torch.float32" in message
    assert "h0.to(torch.float32)" in message


def test_dtype_difference_under_autocast_is_left_alone():
    gru = nn.GRU(3, 4)
    x, h0 = torch.randn(5, 2, 3), torch.zeros(1, 2, 4, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        expected, _ = gru(x, h0)  # torch casts the state itself here
        with watch(gru):
            out, _ = gru(x, h0)
    assert torch.equal(out, expected)


def test_disabled_checks_leave_errors_to_torch():
    lstm = nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with watch(lstm, check_shapes=False, check_device=False):
        with pytest.raises(RuntimeError) as shape_error:
            lstm(x, (torch.zeros(1, 3, 4), torch.zeros(1, 3, 4)))
        with pytest.raises(RuntimeError) as dtype_error:
            lstm(x, (torch.zeros(1, 2, 4, dtype=torch.float64), torch.zeros(1, 2, 4)))
    assert not isinstance(shape_error.value, HiddenStateError)
    assert not isinstance(dtype_error.value, HiddenStateError)


def test_model_without_recurrent_modules_is_rejected():
    with pytest.raises(ValueError, match="found no nn.RNN/LSTM/GRU"):
        watch(nn.Sequential(nn.Linear(3, 3)))


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from([nn.RNN, nn.GRU, nn.LSTM]),
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    batch=st.integers(1, 3),
    offsets=st.lists(st.integers(-1, 1), min_size=3, max_size=3),
    swap=st.booleans(),
)
def test_guard_rejects_exactly_what_torch_rejects(kind, layers, bidirectional, batch_first, batch, offsets, swap):
    """For any h0 shape near the right one, the guard errs iff torch errs, and passes outputs through."""
    rnn = kind(2, 3, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    x = torch.randn(batch, 2, 2) if batch_first else torch.randn(2, batch, 2)
    shape = [layers * (2 if bidirectional else 1) + offsets[0], batch + offsets[1], 3 + offsets[2]]
    if swap:
        shape[0], shape[1] = shape[1], shape[0]
    assume(min(shape) >= 1)
    h0 = torch.randn(*shape)
    state = (h0, torch.randn(*shape)) if kind is nn.LSTM else h0
    try:
        expected = rnn(x, state)
    except Exception:
        expected = None
    handle = watch(rnn)
    try:
        if expected is None:
            with pytest.raises(HiddenStateError):
                rnn(x, state)
        else:
            assert torch.equal(rnn(x, state)[0], expected[0])
    finally:
        handle.remove()


# --------------------------------------------------------------------------
# Untouched correct states, removal
# --------------------------------------------------------------------------


def flat_outputs(outputs):
    """Tensors of a list of module outputs: cells return a tensor, full layers (out, (h, c))."""
    return [t for o in outputs for t in (o if isinstance(o, torch.Tensor) else [o[0], *o[1]])]


def test_correct_states_pass_untouched():
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    cell = nn.GRUCell(3, 4)
    x = torch.randn(2, 5, 3)
    state = (torch.randn(4, 2, 4), torch.randn(4, 2, 4))
    h = torch.randn(2, 4)
    plain = [lstm(x, state), lstm(x), cell(x[:, 0], h), cell(x[:, 0])]
    with watch(nn.ModuleList([lstm, cell])):
        watched = [lstm(x, state), lstm(x, None), cell(x[:, 0], hx=h), cell(x[:, 0])]
    for a, b in zip(flat_outputs(plain), flat_outputs(watched), strict=True):
        assert torch.equal(a, b)


def test_remove_takes_every_hook_off():
    lstm = nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    bad_state = (torch.zeros(2, 1, 4), torch.zeros(2, 1, 4))
    handle = watch(lstm)
    assert isinstance(handle, GuardHandle)
    lstm(x)[0].sum().backward()
    handle.remove()
    handle.remove()  # idempotent
    assert not lstm._forward_pre_hooks and not lstm._forward_hooks
    with pytest.raises(RuntimeError) as error:
        lstm(x, bad_state)
    assert not isinstance(error.value, HiddenStateError)
    out, state = lstm(x)
    out.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        lstm(x, state)  # carried graph, but nobody is watching any more
    assert handle.report().steps == 1


def test_context_manager_removes_hooks():
    gru = nn.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    with watch(gru) as handle:
        with pytest.raises(HiddenStateError):
            gru(x, torch.zeros(1, 3, 4))
    assert not gru._forward_pre_hooks and not gru._forward_hooks
    with pytest.raises(RuntimeError) as error:
        gru(x, torch.zeros(1, 3, 4))
    assert not isinstance(error.value, HiddenStateError)
    gru(x)[0].sum().backward()
    assert handle.report().steps == 0


# --------------------------------------------------------------------------
# Carried graph
# --------------------------------------------------------------------------


def test_carried_graph_warns_before_torchs_second_backward_error():
    lstm = nn.LSTM(3, 4)
    x = torch.randn(5, 2, 3)
    with watch(lstm):
        out, state = lstm(x)
        out.sum().backward()
        with pytest.warns(HiddenStateWarning) as record:
            out, state = lstm(x, state)
        with pytest.raises(RuntimeError, match="backward through the graph a second time"):
            out.sum().backward()
    message = str(record[0].message)
    assert "still carries the autograd graph of an earlier forward that backward() has already run through" in message
    assert "state = tuple(s.detach() for s in state)" in message
    assert record[0].filename == __file__  # points at the user's lstm(x, state) line, not torch


def test_carried_graph_through_a_masked_state_warns():
    gru = nn.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    keep = torch.tensor([1.0, 0.0]).view(1, 2, 1)  # e.g. reset finished episodes
    with watch(gru):
        out, h = gru(x)
        out.sum().backward()
        with pytest.warns(HiddenStateWarning, match=re.escape("h = h.detach()")):
            gru(x, h * keep)


def test_carried_graph_when_loss_reads_only_the_final_state():
    cell = nn.GRUCell(3, 4)
    x = torch.randn(2, 3)
    with watch(cell):
        h = cell(x)
        h.sum().backward()
        with pytest.warns(HiddenStateWarning):
            cell(x, h)


def test_carried_graph_warns_once_per_module():
    rnn = nn.RNN(3, 4)
    x = torch.randn(5, 2, 3)
    with watch(rnn), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        h = None
        for _ in range(3):
            out, h = rnn(x, h)
            out.sum().backward(retain_graph=True)
    assert [w.category for w in caught] == [HiddenStateWarning]


def test_no_warning_for_detached_tbptt():
    lstm = nn.LSTM(3, 4, num_layers=2)
    optimizer = torch.optim.SGD(lstm.parameters(), lr=0.1)
    chunks = torch.randn(4, 5, 2, 3)
    with watch(lstm) as handle, warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        state = None
        for x in chunks:
            optimizer.zero_grad()
            out, state = lstm(x, state)
            out.pow(2).mean().backward()
            optimizer.step()
            state = tuple(s.detach() for s in state)
    assert handle.report().steps == 4


def test_no_warning_for_decoder_loop_with_one_backward():
    encoder, decoder = nn.GRU(3, 4), nn.LSTMCell(3, 4)
    model = nn.ModuleDict({"encoder": encoder, "decoder": decoder})
    with watch(model) as handle, warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        for _ in range(2):  # two batches
            _, h = encoder(torch.randn(6, 2, 3))
            state = (h[0], torch.zeros(2, 4))
            loss = 0
            for _ in range(5):
                state = decoder(torch.randn(2, 3), state)
                loss = loss + state[0].sum()
            loss.backward()
    assert handle.report().steps == 2


def test_no_warning_when_an_unrelated_graph_through_the_module_was_backwarded():
    lstm = nn.LSTM(3, 4)
    with watch(lstm), warnings.catch_warnings():
        warnings.simplefilter("error", HiddenStateWarning)
        _, kept = lstm(torch.randn(5, 2, 3))  # graph A, not backwarded
        lstm(torch.randn(5, 2, 3))[0].sum().backward()  # graph B
        out, _ = lstm(torch.randn(5, 2, 3), kept)
        out.sum().backward()  # legal: A's nodes were never freed


# --------------------------------------------------------------------------
# Gradient norms
# --------------------------------------------------------------------------


class TwoRecurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4)
        self.cell = nn.LSTMCell(4, 4)

    def forward(self, x, use_cell=True):
        out, _ = self.rnn(x)
        return self.cell(out[-1])[0] if use_cell else out


def total_norm(tensors):
    return torch.linalg.vector_norm(torch.stack([t.norm() for t in tensors])).item()


def grad_norm(module):
    return total_norm([p.grad for p in module.parameters()])


def test_grad_norm_report_matches_norms_computed_by_hand():
    model = TwoRecurrent()
    scales = [1e-9, 1.0, 1e7, 1.0]  # vanishing, normal, exploding, normal
    uses_cell = [True, True, True, False]
    rnn_norms, cell_norms, totals = [], [], []
    with watch(model, explode_threshold=1e3, vanish_threshold=1e-6) as handle:
        for scale, use_cell in zip(scales, uses_cell):
            model.zero_grad(set_to_none=True)
            (model(torch.randn(5, 2, 3), use_cell).sum() * scale).backward()
            rnn_norms.append(grad_norm(model.rnn))
            step = [rnn_norms[-1]]
            if use_cell:
                cell_norms.append(grad_norm(model.cell))
                step.append(cell_norms[-1])
            totals.append(math.hypot(*step))
    report = handle.report()
    assert report.steps == 4
    assert report.min_norm == pytest.approx(min(totals), rel=1e-5)
    assert report.max_norm == pytest.approx(max(totals), rel=1e-5)
    assert report.median_norm == pytest.approx(sorted(totals)[1] / 2 + sorted(totals)[2] / 2, rel=1e-5)
    assert (report.exploded, report.vanished) == (1, 1)
    rnn_stats, cell_stats = report.per_module["model.rnn"], report.per_module["model.cell"]
    assert rnn_stats.steps == 4 and cell_stats.steps == 3
    assert rnn_stats.max_norm == pytest.approx(max(rnn_norms), rel=1e-5)
    assert cell_stats.min_norm == pytest.approx(min(cell_norms), rel=1e-5)
    assert "model.cell" in str(report) and "exploded: > 1000 or non-finite" in str(report)


def test_grad_norms_are_per_backward_even_when_gradients_accumulate():
    gru = nn.GRU(3, 4)
    with watch(gru) as handle:
        gru(torch.randn(5, 2, 3))[0].sum().backward()
        first = [p.grad.clone() for p in gru.parameters()]
        gru(torch.randn(5, 2, 3))[0].sum().backward()  # no zero_grad: .grad accumulates
        second = [p.grad - g for p, g in zip(gru.parameters(), first)]
    expected = sorted(total_norm(grads) for grads in (first, second))
    report = handle.report()
    assert [report.min_norm, report.max_norm] == pytest.approx(expected, rel=1e-5)


def test_nan_gradients_count_as_exploded():
    rnn = nn.RNN(3, 4)
    with watch(rnn) as handle:
        (rnn(torch.randn(5, 2, 3))[0].sum() * float("nan")).backward()
    report = handle.report()
    assert report.exploded == 1 and math.isnan(report.max_norm)


def test_log_every_writes_one_line_per_window(caplog):
    rnn = nn.RNN(3, 4)
    with caplog.at_level(logging.INFO, logger="hs_lint.runtime.guard"), watch(rnn, log_every=2):
        for _ in range(5):
            rnn(torch.randn(5, 2, 3))[0].sum().backward()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("hs-lint: step 2, recurrent grad norm ")
    assert lines[1].startswith("hs-lint: step 4, ") and "(last 2 steps: min " in lines[1]


def test_grad_norms_off_records_nothing():
    rnn = nn.RNN(3, 4)
    with watch(rnn, grad_norms=False) as handle:
        rnn(torch.randn(5, 2, 3))[0].sum().backward()
    assert handle.report().steps == 0
    assert "no backward pass" in str(handle.report())
