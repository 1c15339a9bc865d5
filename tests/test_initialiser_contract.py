"""A model file on its own (the training script is another module, or not in view): the state its
``init_hidden``-style method builds is judged against the recurrent module its ``forward`` hands that state to,
since that is what such a method is for. Silent when forward has callers here (they say what it is given),
when there are two initialisers, or when the state goes to a hand-written cell."""

from __future__ import annotations

import pytest

from conftest import lint

MODEL = """\
import torch
import torch.nn as nn


class CharModel(nn.Module):
    def __init__(self, vocab, hidden=256, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, 64)
        self.lstm = nn.LSTM(64, hidden, layers, batch_first=True)
        self.hidden, self.layers = hidden, layers

    def init_hidden(self, batch):
        return (torch.zeros({shape}), torch.zeros(self.layers, batch, self.hidden))

    def forward(self, tokens, state):
        out, state = self.lstm(self.embed(tokens), state)
        return out, state
"""
WRONG = {
    "HS201": "batch, self.layers, self.hidden",
    "HS202": "1, batch, self.hidden",
    "HS203": "self.layers, batch, 64",
}


@pytest.mark.parametrize("code", sorted(WRONG))
def test_the_initialisers_state_is_judged_against_the_module_forward_feeds(code):
    found = [(f.line, f.code) for f in lint(MODEL.format(shape=WRONG[code]))]
    assert found == [(13, code)]


def test_the_right_state_is_silent():
    assert lint(MODEL.format(shape="self.layers, batch, self.hidden")) == []


def test_callers_here_decide_what_forward_gets():
    """forward is called here with a state of its own making: that state, not the initialiser's, is judged."""
    source = MODEL.format(shape="1, batch, self.hidden") + (
        "\n\nmodel = CharModel(100)\n"
        "out, state = model(torch.zeros(4, 7, dtype=torch.long), (torch.zeros(2, 4, 256), torch.zeros(2, 4, 256)))\n")
    assert [f.code for f in lint(source)] == []


def test_two_initialisers_are_silent():
    source = MODEL.format(shape="1, batch, self.hidden").replace(
        "    def forward", "    def zero_state(self, batch):\n        return None\n\n    def forward")
    assert [f.code for f in lint(source)] == []


def test_a_state_for_a_hand_written_cell_is_silent():
    source = MODEL.format(shape="1, batch, self.hidden").replace(
        "out, state = self.lstm(self.embed(tokens), state)", "out, state = self.cell(self.embed(tokens), state)")
    assert [f.code for f in lint(source)] == []
