"""A recurrent call's results read by index (``out = lstm(x)[0]``, or ``result = lstm(x)`` then ``result[0]`` /
``result[1]``) are its output and h_n, as when unpacked: the last-step and h_n-layout rules follow them."""

from __future__ import annotations

import pytest

from conftest import lint

_MODEL = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first={batch_first})
        self.gru = nn.GRU(8, 16, bidirectional=True)
        self.deep = nn.LSTM(8, 16, num_layers=2)
        self.fc = nn.Linear(16, 2)

    def forward(self, x):
{body}
"""

_BAD = {
    "output indexed on the call": ("        out = self.lstm(x)[0]\n        return self.fc(out[-1])", "HS207"),
    "output indexed from a temporary": (
        "        result = self.lstm(x)\n        out = result[0]\n        return self.fc(out[-1])", "HS207"),
    "GRU h_n indexed on the call": ("        h_n = self.gru(x)[1]\n        return h_n.view(x.size(1), -1)", "HS208"),
    "LSTM h_n as [1][0]": (
        "        result = self.deep(x)\n        h_n = result[1][0]\n        return h_n.view(x.size(1), -1)", "HS208"),
    "bidirectional h_n[-1]": ("        h_n = self.gru(x)[1]\n        return h_n[-1]", "HS207"),
}

_GOOD = {
    "time-major last step": "        out = self.deep(x)[0]\n        return out[-1]",
    "batch-first last step": "        out = self.lstm(x)[0]\n        return self.fc(out[:, -1])",
    "temporary rebound before the read": (
        "        result = self.gru(x)\n        result = (result[0], result[1] * 2)\n        h_n = result[1]\n"
        "        return h_n.view(x.size(1), -1)"),
    "both directions concatenated": "        h_n = self.gru(x)[1]\n        return torch.cat((h_n[-2], h_n[-1]), dim=1)",
    "h_n transposed first": "        h_n = self.gru(x)[1]\n        return h_n.transpose(0, 1).reshape(x.size(1), -1)",
}


@pytest.mark.parametrize(("body", "code"), _BAD.values(), ids=_BAD.keys())
def test_an_indexed_result_is_the_output_or_h_n(body, code):
    assert [f.code for f in lint(_MODEL.format(batch_first=True, body=body), ["HS207", "HS208"])] == [code]


@pytest.mark.parametrize("body", _GOOD.values(), ids=_GOOD.keys())
def test_an_indexed_result_read_rightly_or_rebound_is_silent(body):
    assert lint(_MODEL.format(batch_first=True, body=body), ["HS207", "HS208"]) == []


def test_the_same_read_is_right_without_batch_first():
    body = _BAD["output indexed on the call"][0]
    assert lint(_MODEL.format(batch_first=False, body=body), ["HS207"]) == []


_LOOP = """\
import torch.nn as nn

rnn = nn.{kind}(8, 16)
{before}
for epoch in range(10):
{reset}    for x in batches:
{detach}        result = rnn(x, state)
        out = result[0]
        state = result[1]
        out.sum().backward()
"""


@pytest.mark.parametrize(("kind", "before", "reset", "detach", "codes", "expected"), [
    # carried from batch to batch with its graph
    ("GRU", "", "    state = None\n", "", ["HS101"], ["HS101"]),
    ("GRU", "", "    state = None\n", "        state = state.detach() if state is not None else None\n", ["HS101"], []),
    # created once before the epochs and never reset
    ("GRU", "state = None", "", "        state = state.detach() if state is not None else None\n", ["HS301"], ["HS301"]),
    ("GRU", "state = None", "    state = None\n", "        state = state.detach() if state is not None else None\n",
     ["HS301"], []),
    # an LSTM's result[1] is the (h, c) tuple: a tensor method on it fails
    ("LSTM", "", "    state = None\n", "        if state is not None:\n            state = state.detach()\n",
     ["HS103"], ["HS103"]),
    ("LSTM", "", "    state = None\n",
     "        if state is not None:\n            state = tuple(s.detach() for s in state)\n", ["HS103"], []),
])
def test_a_state_read_back_by_index_is_carried_like_an_unpacked_one(kind, before, reset, detach, codes, expected):
    source = _LOOP.format(kind=kind, before=before, reset=reset, detach=detach)
    assert [f.code for f in lint(source, codes)] == expected
