"""A conditional expression's value is one of its branches (``names.alternatives``): the same facts hold for
``s = s.detach() if s is not None else None`` as for the ``if`` statement it abbreviates."""

from __future__ import annotations

import pytest

from conftest import lint

_LOOP = """\
import torch
import torch.nn as nn

rnn = nn.{kind}(8, 16)
opt = torch.optim.SGD(rnn.parameters(), lr=0.1)
state = None
for x in torch.randn(10, 5, 4, 8):
{update}
    out, state = rnn(x, state)
    out.sum().backward()
    opt.step()
"""


@pytest.mark.parametrize("update", [
    "    if state is not None:\n        state = state.detach()",
    "    state = state.detach() if state is not None else None",
    "    state = None if state is None else state.detach()",
    "    state = (state.detach() if state is not None else None)",
])
def test_a_tensor_method_on_an_lstm_tuple_is_found_in_every_spelling_of_the_guard(update):
    found = [(f.line, f.code) for f in lint(_LOOP.format(kind="LSTM", update=update), ["HS103", "HS101"])]
    assert [code for _, code in found] == ["HS103"]


@pytest.mark.parametrize("update", [
    "    state = state.detach() if state is not None else None",
    "    state = None if state is None else state.detach()",
    "    state = tuple(s.detach() for s in state) if state is not None else None",
])
def test_a_detach_in_a_conditional_expression_cuts_the_carry(update):
    kind = "LSTM" if "tuple" in update else "GRU"
    assert lint(_LOOP.format(kind=kind, update=update), ["HS101", "HS103"]) == []


def test_a_branch_that_keeps_the_state_attached_is_still_a_carry():
    update = "    state = state if x.sum() > 0 else None"
    assert [f.code for f in lint(_LOOP.format(kind="GRU", update=update), ["HS101"])] == ["HS101"]
