"""A recurrent call's results, however they are bound: unpacked, indexed at the call, or indexed from a
temporary. HS306 (the state thrown away), HS308 (a window re-read on top of the carried state) and HS604 (a packed
output used as a tensor) read them alike, as HS605 reads the padded tensor ``pad_packed_sequence`` returns (``FileFacts.output_target``, ``FileFacts.binds_result``)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import lint

GENERATE = """\
import torch
import torch.nn as nn

lstm = nn.LSTM(8, 32, batch_first=True)
head = nn.Linear(32, 8)
h0 = torch.zeros(1, 1, 32)
c0 = torch.zeros(1, 1, 32)
token = torch.zeros(1, 1, 8)
with torch.no_grad():
    for _ in range(3):
{step}
        choice = head(out[:, -1]).argmax(-1)
        token = nn.functional.one_hot(choice, 8).float().unsqueeze(1)
"""
DROPPED = {  # the spelling, and the line (from the loop body's first) where the state is thrown away
    "unpacked": ("out, _ = lstm(token, (h0, c0))", 0),
    "indexed-at-the-call": ("out = lstm(token, (h0, c0))[0]", 0),
    "indexed-from-a-temporary": ("result = lstm(token, (h0, c0))\nout = result[0]\n_ = result[1]", 2),
}
CARRIED = {
    "unpacked": "out, (h0, c0) = lstm(token, (h0, c0))",
    "indexed-from-a-temporary": "result = lstm(token, (h0, c0))\nout = result[0]\nh0, c0 = result[1]",
}


def _generation(step: str) -> str:
    return GENERATE.format(step=textwrap.indent(step, " " * 8))


@pytest.mark.parametrize("spelling", sorted(DROPPED))
def test_a_dropped_state_is_found_where_it_is_thrown_away(spelling):
    step, offset = DROPPED[spelling]
    assert [(f.line, f.code) for f in lint(_generation(step))] == [(11 + offset, "HS306")]


@pytest.mark.parametrize("spelling", sorted(CARRIED))
def test_a_carried_state_is_silent(spelling):
    assert [f.code for f in lint(_generation(CARRIED[spelling]))] == []


WINDOW = """\
import torch
import torch.nn as nn

gru = nn.GRU(8, 32, batch_first=True)
history = [0, 1, 2, 3]
h = None
for _ in range(3):
    x = nn.functional.one_hot(torch.tensor([history[-4:]]), 8).float()
{step}
    history.append(int(out[0, -1].argmax()))
"""
WINDOW_STEPS = {
    "unpacked": "out, h = gru(x, h)",
    "indexed-from-a-temporary": "result = gru(x, h)\nout = result[0]\nh = result[1]",
}


@pytest.mark.parametrize("spelling", sorted(WINDOW_STEPS))
def test_a_window_read_on_top_of_the_carried_state(spelling):
    source = WINDOW.format(step=textwrap.indent(WINDOW_STEPS[spelling], "    "))
    assert [(f.line, f.code) for f in lint(source)] == [(9, "HS308")]


@pytest.mark.parametrize("spelling", sorted(WINDOW_STEPS))
def test_a_window_read_from_a_fresh_state_is_silent(spelling):
    step = "h = None\n" + WINDOW_STEPS[spelling]
    source = WINDOW.format(step=textwrap.indent(step, "    "))
    assert [f.code for f in lint(source)] == []


PACKED = """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
{run}
        return self.head(out[:, 0])
"""
RUNS = {
    "unpacked": "out, h = self.gru(packed)",
    "indexed-at-the-call": "out = self.gru(packed)[0]",
    "indexed-from-a-temporary": "result = self.gru(packed)\nout = result[0]\nh = result[1]",
}


@pytest.mark.parametrize("spelling", sorted(RUNS))
def test_a_packed_output_indexed_as_a_tensor(spelling):
    source = PACKED.format(run=textwrap.indent(RUNS[spelling], " " * 8))
    line = source.splitlines().index("        return self.head(out[:, 0])") + 1
    assert [(f.line, f.code) for f in lint(source)] == [(line, "HS604")]


@pytest.mark.parametrize("spelling", sorted(RUNS))
def test_a_packed_output_padded_first_is_silent(spelling):
    run = RUNS[spelling] + "\nout, _ = pad_packed_sequence(out, batch_first=True)"
    assert [f.code for f in lint(PACKED.format(run=textwrap.indent(run, " " * 8)))] == []


PADDED = """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

lstm = nn.LSTM(8, 16, batch_first=True)
head = nn.Linear(16, 2)
for x, lengths in loader:
    out, _ = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
{pad}
    logits = head(out[:, {step}])
"""
PADS = {
    "unpacked": "out, _ = pad_packed_sequence(out, batch_first=True)",
    "indexed-at-the-call": "out = pad_packed_sequence(out, batch_first=True)[0]",
    "indexed-from-a-temporary": "padded = pad_packed_sequence(out, batch_first=True)\nout = padded[0]",
}


@pytest.mark.parametrize("spelling", sorted(PADS))
def test_the_last_step_of_a_padded_batch(spelling):
    source = PADDED.format(pad=textwrap.indent(PADS[spelling], "    "), step="-1")
    line = source.splitlines().index("    logits = head(out[:, -1])") + 1
    assert [(f.line, f.code) for f in lint(source)] == [(line, "HS605")]


@pytest.mark.parametrize("spelling", sorted(PADS))
def test_the_first_step_of_a_padded_batch_is_silent(spelling):
    assert [f.code for f in lint(PADDED.format(pad=textwrap.indent(PADS[spelling], "    "), step="0"))] == []


@pytest.mark.parametrize("reads", ["out[-1]", "out"], ids=["last-step", "every-step"])
def test_a_classifier_whose_output_is_read_through_a_temporary(reads):
    """HS307's classifier (forward reads its output at the last step only) with ``r = lstm(...)``, ``out = r[0]``,
    ``self.state = r[1]``; a forward that reads every step is a stream, not a classifier: silent."""
    from hs_lint.rules import all_rules

    source = all_rules()["HS307"].bad[0].replace(
        "        out, self.state = self.lstm(clip, self.state)\n        return self.head(out[-1])",
        "        result = self.lstm(clip, self.state)\n        out = result[0]\n        self.state = result[1]\n"
        f"        return self.head({reads})")
    assert "result[1]" in source
    assert ("HS307" in [f.code for f in lint(source)]) == (reads == "out[-1]")


CARRY = """\
import torch
import torch.nn as nn

encoder = nn.LSTM(64, 128, num_layers=2)
head = nn.Linear(128, 64)
optimizer = torch.optim.SGD([*encoder.parameters(), *head.parameters()], lr=0.1)

state = None
for chunk, target in chunks:
{run}
    loss = nn.functional.mse_loss(head(out), target)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    {detach}
"""
CARRY_RUNS = {
    "unpacked": "out, state = encoder(chunk, state)",
    "unpacked-from-a-temporary": "result = encoder(chunk, state)\nout, state = result",
    "indexed-from-a-temporary": "result = encoder(chunk, state)\nout = result[0]\nstate = result[1]",
}


@pytest.mark.parametrize("spelling", sorted(CARRY_RUNS))
@pytest.mark.parametrize("detach", ["state = state.detach()", "state = tuple(s.detach() for s in state)"],
                         ids=["whole-tuple", "each-tensor"])
def test_the_lstm_tuple_detached_whole(spelling, detach):
    source = CARRY.format(run=textwrap.indent(CARRY_RUNS[spelling], "    "), detach=detach)
    assert ("HS103" in [f.code for f in lint(source)]) == (detach == "state = state.detach()")
