"""A local name read from a held object (``rnn = self.rnn``, ``encoder = model.encoder``) holds that object:
every rule that follows the attribute follows the alias, and an alias assigned twice stays unknown."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in, lint

_NET = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, num_layers=2)
        self.gru = nn.GRU(8, 16, num_layers=3)

"""

_BAD = {
    "method reads self.lstm": """\
    def forward(self, x):
        rnn = self.lstm
        h0 = torch.zeros(x.size(1), 2, 16)
        return rnn(x, (h0, h0))
""",
    "typed parameter's attribute": """\

def run(net: Net, x):
    lstm = net.lstm
    h0 = torch.zeros(x.size(1), 2, 16)
    return lstm(x, (h0, h0))
""",
    "local instance's attribute": """\

def run(x):
    net = Net()
    layer = net.lstm
    h0 = torch.zeros(x.size(1), 2, 16)
    return layer(x, (h0, h0))
""",
    "alias of an alias": """\
    def forward(self, x):
        core = self.lstm
        rnn = core
        h0 = torch.zeros(x.size(1), 2, 16)
        return rnn(x, (h0, h0))
""",
}

_GOOD = {
    "right layout through the alias": """\
    def forward(self, x):
        rnn = self.lstm
        h0 = torch.zeros(2, x.size(1), 16)
        return rnn(x, (h0, h0))
""",
    # which module runs depends on ``fast``: not followed
    "alias rebound on a branch": """\
    def forward(self, x, fast):
        rnn = self.lstm
        if fast:
            rnn = self.gru
        h0 = torch.zeros(x.size(1), 2, 16)
        return rnn(x, h0)
""",
    "untyped loop variable": """\

def run(x, nets):
    for net in nets:
        lstm = net.lstm
        h0 = torch.zeros(x.size(1), 2, 16)
        lstm(x, (h0, h0))
""",
}


@pytest.mark.parametrize("body", _BAD.values(), ids=_BAD.keys())
def test_a_local_alias_of_a_held_module_is_that_module(body):
    assert [f.code for f in lint(_NET + body, ["HS201"])] == ["HS201"]


@pytest.mark.parametrize("body", _GOOD.values(), ids=_GOOD.keys())
def test_an_alias_that_cannot_be_followed_or_is_right_stays_silent(body):
    assert lint(_NET + body, ["HS201", "HS202"]) == []


def test_the_message_names_the_alias_the_code_calls():
    (finding,) = lint(_NET + _BAD["method reads self.lstm"], ["HS201"])
    assert "`rnn` (nn.LSTM)" in finding.message


_TRAIN = """\

def train(model: Net, batches, optimizer):
    h = torch.zeros(3, 4, 16)
    rnn = model.gru
    for x, y in batches:
{detach}        out, h = rnn(x, h)
        loss = out.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize(("detach", "expected"), [("", ["HS101"]), ("        h = h.detach()\n", [])])
def test_the_graph_rules_follow_an_alias_to_an_instance_attribute(detach, expected):
    assert [f.code for f in lint(_NET + _TRAIN.format(detach=detach), ["HS101"])] == expected


def test_an_alias_of_a_module_a_base_class_in_another_file_builds_is_configured_as_the_subclass_builds_it(tmp_path):
    files = {
        "base.py": textwrap.dedent("""\
            import torch.nn as nn


            class Core(nn.Module):
                def __init__(self, n_in, layers=3):
                    super().__init__()
                    self.rnn = nn.GRU(n_in, 32, num_layers=layers)
            """),
        "head.py": textwrap.dedent("""\
            import torch

            from base import Core


            class Head(Core):
                def forward(self, x):
                    rnn = self.rnn
                    h0 = torch.zeros({first}, x.size(1), 32)
                    return rnn(x, h0)


            def build():
                return Head(40, layers=2)
            """),
    }
    bad = dict(files, **{"head.py": files["head.py"].format(first=3)})
    good = dict(files, **{"head.py": files["head.py"].format(first=2)})
    assert codes_in(tmp_path / "bad", bad, "head.py") == [(9, "HS202")]
    assert codes_in(tmp_path / "good", good, "head.py") == []
