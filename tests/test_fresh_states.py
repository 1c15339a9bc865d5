"""One fact for "a state made anew" (``FileFacts.fresh_state``): a torch factory, one moved or cast, an
``init_hidden``-style call, or a tuple or list of those. HS305 (a dead reset) and HS306 (a generation loop that
restarts from a fixed state) read it alike."""

from __future__ import annotations

import pytest

from conftest import lint

DEAD_RESET = """\
import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16)

    def forward(self, x, hidden=None):
        return self.lstm(x, hidden)


model = Model()
model.hidden = {value}
hidden = None
for x in batches:
    out, hidden = model(x, hidden)
"""
FRESH = {
    "one-factory": "torch.zeros(1, 4, 16)",
    "tuple": "(torch.zeros(1, 4, 16), torch.zeros(1, 4, 16))",
    "list": "[torch.zeros(1, 4, 16), torch.zeros(1, 4, 16)]",
    "moved": "(torch.zeros(1, 4, 16).to('cpu'), torch.zeros(1, 4, 16).float())",
}
NOT_FRESH = {
    "another-models-state": "(encoder_h, encoder_c)",
    "half-fresh": "(torch.zeros(1, 4, 16), encoder_c)",
}


@pytest.mark.parametrize("spelling", sorted(FRESH))
def test_a_dead_reset_with_a_state_made_anew(spelling):
    assert [(f.line, f.code) for f in lint(DEAD_RESET.format(value=FRESH[spelling]))] == [(15, "HS305")]


@pytest.mark.parametrize("spelling", sorted(NOT_FRESH))
def test_an_assignment_of_a_state_from_elsewhere_is_not_a_reset(spelling):
    assert [f.code for f in lint(DEAD_RESET.format(value=NOT_FRESH[spelling]))] == []
