"""One assignment that binds several names (``enc, dec = nn.LSTM(...), nn.GRU(...)``) binds each to its own
value, as two assignments would; unpacking one value (``out, h = rnn(x)``) binds none of them to it."""

from __future__ import annotations

import pytest

from conftest import codes_in, lint

_SHAPES = """\
import torch
import torch.nn as nn

{build}
x = torch.randn(7, 4, 32)
h0 = torch.zeros(4, 1, 64)
out, h = encoder(x, h0)
"""


@pytest.mark.parametrize("build", [
    "encoder = nn.GRU(32, 64)",  # the spelling every other test uses
    "encoder, decoder = nn.GRU(32, 64), nn.LSTM(64, 64)",
    "decoder, encoder = nn.LSTM(64, 64), nn.GRU(32, 64)",
    "[encoder, decoder] = [nn.GRU(32, 64), nn.LSTM(64, 64)]",
    "(encoder, (decoder, head)) = (nn.GRU(32, 64), (nn.LSTM(64, 64), nn.Linear(64, 2)))",
    "def build():\n    return nn.GRU(32, 64)\n\n\nencoder, n = build(), 3",
])
def test_a_module_built_beside_another_in_one_assignment_has_its_configuration(build):
    assert [f.code for f in lint(_SHAPES.format(build=build), ["HS201"])] == ["HS201"]


@pytest.mark.parametrize("build", [
    "encoder, decoder = build_pair()",  # one value unpacked: what each name holds is unknown
    "*encoder, decoder = nn.GRU(32, 64), nn.LSTM(64, 64)",  # a starred name holds a list
    "encoder = decoder = nn.GRU(32, 64)",  # one object, two names: not followed
])
def test_what_one_value_unpacks_to_is_not_guessed(build):
    assert lint(_SHAPES.format(build=build), ["HS201"]) == []


_DRIVER = """\
import torch
from nets import Controller

{build}
optimizer = torch.optim.Adam(controller.parameters())
for obs in loader:
    loss = controller(obs).sum()
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(controller.parameters(), 1.0)
    optimizer.step()
"""
_NETS = """\
import torch
import torch.nn as nn


class Controller(nn.Module):
    def __init__(self, n_obs, n_act):
        super().__init__()
        self.cell = nn.GRUCell(n_obs, 64)
        self.policy = nn.Linear(64, n_act)
        self.memory = torch.zeros(1, 64)

    def forward(self, obs):
        self.memory = self.cell(obs, self.memory)
        return self.policy(self.memory)
"""


@pytest.mark.parametrize("build", [
    "controller = Controller(4, 2)",
    "model, controller = torch.nn.Linear(2, 2), Controller(4, 2)",
    "controller, steps = Controller(4, 2), 10",
])
def test_an_instance_of_another_modules_class_bound_in_a_tuple_is_followed(tmp_path, build):
    found = codes_in(tmp_path, {"nets.py": _NETS, "train.py": _DRIVER.format(build=build)}, "train.py")
    assert found == [(7, "HS303")]


def test_a_tuple_of_instances_whose_loop_resets_the_state_is_silent(tmp_path):
    driver = _DRIVER.format(build="model, controller = None, Controller(4, 2)").replace(
        "    loss = controller(obs)", "    controller.memory = torch.zeros(1, 64)\n    loss = controller(obs)")
    assert codes_in(tmp_path, {"nets.py": _NETS, "train.py": driver}, "train.py") == []


def _split(code: str) -> str:
    import libcst as cst

    from hs_lint.parallel import split_parallel

    return split_parallel(cst.parse_module(code), {}).code


@pytest.mark.parametrize(("written", "read"), [
    ("a, b = A(), B()\n", "a = A()\nb = B()\n"),
    ("[a, b] = [A(), B()]\n", "a = A()\nb = B()\n"),
    ("(a, (b, c)) = (A, (B, C))\n", "a = A\nb = B\nc = C\n"),
    ("h, c = h.detach(), c.detach()\n", "h = h.detach()\nc = c.detach()\n"),  # each value reads only its own name
    ("self.rnn, self.head = nn.GRU(8, 16), nn.Linear(16, 2)\n", "self.rnn = nn.GRU(8, 16)\nself.head = nn.Linear(16, 2)\n"),
    ("for x in xs:\n    if x:\n        a, b = 1, 2\n", "for x in xs:\n    if x:\n        a = 1\n        b = 2\n"),
    ("try:\n    pass\nexcept E:\n    a, b = 1, 2\n", "try:\n    pass\nexcept E:\n    a = 1\n    b = 2\n"),
    ("class C:\n    def f(self):\n        with g():\n            a, b = 1, 2\n",
     "class C:\n    def f(self):\n        with g():\n            a = 1\n            b = 2\n"),
    ("match v:\n    case 1:\n        a, b = 1, 2\n", "match v:\n    case 1:\n        a = 1\n        b = 2\n"),
])
def test_a_parallel_assignment_is_read_as_one_assignment_per_name(written, read):
    assert _split(written) == read


@pytest.mark.parametrize("written", [
    "a, b = b, a\n",  # a swap: the second value reads the first name
    "self.h, c = None, self.h.detach()\n",
    "self.h, c = None, self.step()\n",  # a method of self may read self.h
    "x[0], y = 1, 2\n",  # an element, not a name
    "a, *b = 1, 2\n",
    "a, b = pair\n",  # one value unpacked
    "a = b = A()\n",
    "a, b = 1, 2; c = 3\n",  # two statements on one line stay as written
])
def test_what_a_split_would_change_stays_as_written(written):
    assert _split(written) == written


def test_a_finding_on_a_split_assignment_lands_on_the_line_as_written():
    """HS305 reports the assignment itself: the made one maps back to the statement the user wrote."""
    from hs_lint.rules import all_rules

    source = all_rules()["HS305"].bad[0].replace("model.hidden = model.init_hidden(4)\nhidden = None\n",
                                                 "model.hidden, hidden = model.init_hidden(4), None\n")
    (finding,) = lint(source, ["HS305"])
    line = source.splitlines().index("model.hidden, hidden = model.init_hidden(4), None") + 1
    assert (finding.line, finding.col) == (line, 1)
