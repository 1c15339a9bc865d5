"""A recurrent call's results, however they are bound: unpacked, indexed at the call, or indexed from a
temporary. HS306 (the state thrown away) and HS308 (a window re-read on top of the carried state) read them alike."""

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
