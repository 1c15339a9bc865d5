"""A state handed to a recurrent module through a temporary (``tmp = (h, c)`` then ``lstm(x, tmp)``) is the
state it holds (``FileFacts.passed_value``), when that one assignment alone reaches the call."""

from __future__ import annotations

import pytest

from conftest import lint

_TRAIN = """\
import torch
import torch.nn as nn

lstm = nn.LSTM(8, 16)
opt = torch.optim.SGD(lstm.parameters(), lr=0.1)
h, c = torch.zeros(1, 4, 16), torch.zeros(1, 4, 16)
for x in torch.randn(10, 5, 4, 8):
{feed}
    out, (h, c) = lstm(x, state)
    out.sum().backward()
    opt.step()
"""


@pytest.mark.parametrize(("feed", "expected"), [
    ("    state = (h, c)", ["HS101"]),
    ("    state = [h, c]", ["HS101"]),
    ("    state = (h.detach(), c)", ["HS101"]),  # as ``lstm(x, (h.detach(), c))``: ``c`` is carried
    ("    h = h.detach()\n    state = (h, c)", ["HS104"]),
])
def test_a_state_passed_through_a_temporary_is_the_state_it_holds(feed, expected):
    assert [f.code for f in lint(_TRAIN.format(feed=feed), ["HS101", "HS104"])] == expected


@pytest.mark.parametrize("feed", [
    "    state = (h.detach(), c.detach())",
    "    state = tuple(s.detach() for s in (h, c))",
    "    state = (h, c)\n    state = tuple(s.detach() for s in state)",  # assigned twice: the last one reaches
])
def test_a_temporary_holding_a_detached_state_cuts_the_carry(feed):
    assert lint(_TRAIN.format(feed=feed), ["HS101", "HS104"]) == []


def test_a_generation_loop_that_drops_the_state_names_what_the_temporary_holds():
    source = """\
import torch
import torch.nn as nn

lstm = nn.LSTM(8, 32, batch_first=True)
head = nn.Linear(32, 8)
h, c = torch.zeros(1, 1, 32), torch.zeros(1, 1, 32)
token = torch.zeros(1, 1, 8)
with torch.no_grad():
    for _ in range(3):
        state = (h, c)
        out, _ = lstm(token, state)
        token = nn.functional.one_hot(head(out[:, -1]).argmax(-1), 8).float().unsqueeze(1)
"""
    (finding,) = lint(source, ["HS306"])
    assert finding.line == 11 and "`out, (h, c) = lstm(token, state)`" in finding.message
