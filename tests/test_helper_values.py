"""A same-file helper is read with its callers' values: a parameter every caller fills with the same name is
that name (its sizes are the caller's sizes), and a call's value is what the helper returns."""

from __future__ import annotations

import pytest

from conftest import codes_in, lint

_MODEL = """\
import torch
import torch.nn as nn

{helpers}

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32, num_layers=2)
        self.bi = nn.GRU(16, 32, bidirectional=True)

    def forward(self, x):
{forward}
"""

_STATE = "def initial_state(inputs):\n    return torch.zeros(2, inputs.size({axis}), 32)\n"
_STEPS = "def batch_of(inputs):\n    return inputs.size({axis})\n"


def _codes(helpers: str, forward: str, codes: list[str]) -> list[str]:
    return [f.code for f in lint(_MODEL.format(helpers=helpers, forward=forward), codes)]


@pytest.mark.parametrize(("forward", "expected"), [
    ("        h0 = initial_state(x)\n        return self.gru(x, h0)", ["HS204"]),
    ("        return self.gru(x, initial_state(x))", ["HS204"]),
    ("        seq = x\n        return self.gru(seq, initial_state(seq))", ["HS204"]),
])
def test_a_helper_sizes_the_state_by_the_argument_its_caller_passes(forward, expected):
    assert _codes(_STATE.format(axis=0), forward, ["HS204"]) == expected
    assert _codes(_STATE.format(axis=1), forward, ["HS204"]) == []


def test_a_one_line_helper_is_read_at_each_call_with_that_call_s_arguments():
    """``initial_state(x)`` sizes the state by the time axis, ``initial_state(y.transpose(0, 1))`` by the batch:
    only the first is wrong, and the finding is on the call whose value is wrong."""
    forward = ("        return self.gru(x, initial_state(x))\n\n"
               "    def again(self, y):\n        return self.gru(y, initial_state(y.transpose(0, 1)))")
    source = _MODEL.format(helpers=_STATE.format(axis=0), forward=forward)
    found = [(f.line, f.code) for f in lint(source, ["HS204"])]
    assert found == [(source.splitlines().index("        return self.gru(x, initial_state(x))") + 1, "HS204")]


def test_a_helper_of_two_statements_is_read_at_each_call_as_its_expression():
    """``batch = inputs.size(0)`` then ``return torch.zeros(2, batch, 32)`` is ``torch.zeros(2, inputs.size(0),
    32)``: as with the one-line helper, only the call that passes a time-major input is wrong."""
    helper = "def initial_state(inputs):\n    batch = inputs.size(0)\n    return torch.zeros(2, batch, 32)\n"
    forward = ("        return self.gru(x, initial_state(x))\n\n"
               "    def again(self, y):\n        return self.gru(y, initial_state(y.transpose(0, 1)))")
    source = _MODEL.format(helpers=helper, forward=forward)
    found = [(f.line, f.code) for f in lint(source, ["HS204"])]
    assert found == [(source.splitlines().index("        return self.gru(x, initial_state(x))") + 1, "HS204")]


def test_a_helper_whose_local_is_read_twice_stays_unknown():
    helper = ("def initial_state(inputs):\n    batch = inputs.size(0)\n"
              "    return torch.zeros(2, batch, 32) if batch else torch.zeros(2, batch, 32)\n")
    forward = ("        return self.gru(x, initial_state(x))\n\n"
               "    def again(self, y):\n        return self.gru(y, initial_state(y.transpose(0, 1)))")
    assert _codes(helper, forward, ["HS204"]) == []


def test_a_parameter_the_helper_reassigns_is_not_the_callers():
    helper = "def initial_state(inputs):\n    inputs = inputs.transpose(0, 1)\n    return torch.zeros(2, inputs.size(0), 32)\n"
    assert _codes(helper, "        return self.gru(x, initial_state(x))", ["HS204"]) == []


@pytest.mark.parametrize(("axis", "expected"), [(1, ["HS208"]), (None, [])])
def test_a_call_is_the_value_the_helper_returns(axis, expected):
    helper = _STEPS.format(axis=axis) if axis is not None else "def batch_of(inputs):\n    return len(inputs) or 1\n"
    forward = "        _, h_n = self.bi(x)\n        return h_n.view(batch_of(x), -1)"
    assert _codes(helper, forward, ["HS208"]) == expected


def test_a_helper_whose_returns_disagree_has_no_value():
    helper = ("def batch_of(inputs, major=False):\n    if major:\n        return inputs.size(0)\n"
              "    return inputs.size(1) + 0 * inputs.size(0)\n")
    forward = "        _, h_n = self.bi(x)\n        return h_n.view(batch_of(x), -1)"
    assert _codes(helper, forward, ["HS208"]) == []


_DEVICE = """\
import torch
import torch.nn as nn


def initial_state(x):
{body}


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)

    def forward(self, x):
        h0 = initial_state(x)
        out, h = self.gru(x, h0)
        return out


encoder = Encoder(){move}
"""


@pytest.mark.parametrize(("body", "move", "expected"), [
    ("    return torch.zeros(1, x.size(1), 16)", '.to("cuda")', ["HS401"]),
    ("    h = torch.zeros(1, x.size(1), 16)\n    return h", '.to("cuda")', ["HS401"]),
    ("    h = torch.zeros(1, x.size(1), 16)\n    h = h.to(x.device)\n    return h", '.to("cuda")', []),
    ("    return torch.zeros(1, x.size(1), 16, device=x.device)", '.to("cuda")', []),
    ("    return torch.zeros(1, x.size(1), 16)", "", []),  # nothing here runs on a GPU
])
def test_a_state_a_helper_builds_is_placed_where_the_helper_builds_it(body, move, expected):
    found = lint(_DEVICE.format(body=body, move=move), ["HS401"])
    assert [f.code for f in found] == expected
    # a helper read as one expression (its locals read once) is the caller's value (``h0 = initial_state(x)``,
    # expanded): the finding is on the call
    call = _DEVICE.splitlines().index("        h0 = initial_state(x)") + 1 + body.count("\n")
    assert all(f.line == call for f in found)


_PACKED = """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence
{imports}

{helper}

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.lstm = nn.LSTM(8, 16, batch_first=True)

    def forward(self, ids, lengths):
        emb = embedded(self, ids)
        out, _ = self.lstm(pack_padded_sequence(emb, lengths.cpu(), enforce_sorted=False))
        return out
"""


@pytest.mark.parametrize(("imports", "helper", "expected"), [
    ("", "def embedded(net, ids):\n    return net.embed(ids)\n", ["HS603"]),
    ("", "def embedded(net, ids):\n    return net.embed(ids).transpose(0, 1)\n", []),
    ("", "def embedded(net, ids):\n    out = net.embed(ids)\n    return out.permute(1, 0, 2)\n", []),
])
def test_a_pack_fed_by_a_same_file_helper_is_judged_by_what_the_helper_returns(imports, helper, expected):
    source = _PACKED.format(imports=imports, helper=helper)
    assert [f.code for f in lint(source, ["HS603"])] == expected


def test_a_pack_fed_by_a_helper_of_another_module_stays_silent(tmp_path):
    files = {"layers.py": "def embedded(net, ids):\n    return net.embed(ids).transpose(0, 1)\n",
             "model.py": _PACKED.format(imports="from layers import embedded", helper="")}
    assert codes_in(tmp_path, files, "model.py") == []
