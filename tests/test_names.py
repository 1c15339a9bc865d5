"""Import aliases and bindings resolve to the same facts however torch is imported."""

from __future__ import annotations

import libcst as cst
import pytest

from hs_lint.facts import FileFacts

SPELLINGS = [
    ("import torch.nn as nn", "nn.LSTM"),
    ("from torch import nn", "nn.LSTM"),
    ("from torch.nn import LSTM as L", "L"),
    ("import torch", "torch.nn.LSTM"),
    ("import torch.nn", "torch.nn.LSTM"),
    ("from torch.nn.modules.rnn import LSTM", "LSTM"),
    ("from torch import nn as tnn", "tnn.LSTM"),
]


def facts_for(source: str) -> FileFacts:
    return FileFacts(cst.parse_module(source))


@pytest.mark.parametrize(("imports", "spelling"), SPELLINGS)
def test_every_import_spelling_finds_the_module_and_its_call(imports, spelling):
    facts = facts_for(f"{imports}\nrnn = {spelling}(4, 8)\nout, (h, c) = rnn(x, (h, c))\n")
    assert [m.kind for m in facts.recurrent_modules] == ["LSTM"]
    (call,) = facts.recurrent_calls
    assert call.callee.recurrent_kind == "LSTM"
    assert call.carried_keys == {"h", "c"}


def test_an_unimported_name_is_not_torch():
    facts = facts_for("from mylib import nn\nrnn = nn.LSTM(4, 8)\n")
    assert facts.recurrent_modules == []


def test_module_attribute_assigned_in_init_is_resolved_in_other_methods():
    facts = facts_for(
        "import torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self):\n"
        "        self.rnn = nn.GRU(4, 8)\n"
        "    def forward(self, x, h):\n"
        "        return self.rnn(x, h)\n"
        "    def step(self, x, h):\n"
        "        out, h = self.rnn(x, h)\n"
        "        return out, h\n"
    )
    kinds = [(c.site.scope.name, c.callee.recurrent_kind) for c in facts.recurrent_calls]
    assert kinds == [("forward", "GRU"), ("step", "GRU")]
    assert facts.classes["M"].is_recurrent
    assert facts.classes["M"].methods["step"].is_recurrent_step


def test_wrapper_class_instance_is_recurrent_and_knows_its_inner_kind():
    facts = facts_for(
        "from torch import nn\n"
        "class Inner(nn.Module):\n"
        "    def __init__(self):\n"
        "        self.lstm = nn.LSTM(4, 8)\n"
        "    def forward(self, x, s):\n"
        "        y, s = self.lstm(x, s)\n"
        "        return y, s\n"
        "class Outer(nn.Module):\n"
        "    def __init__(self):\n"
        "        self.inner = Inner().to('cpu')\n"
        "    def forward(self, x, s):\n"
        "        return self.inner(x, s)\n"
        "model = Outer()\n"
        "y, s = model(x, s)\n"
    )
    assert facts.classes["Outer"].is_recurrent
    last = facts.recurrent_calls[-1]
    assert last.callee.cls is facts.classes["Outer"] and last.carried_keys == {"s"}


def test_mlp_with_hidden_attribute_is_not_recurrent():
    facts = facts_for(
        "import torch.nn as nn\n"
        "class MLP(nn.Module):\n"
        "    def __init__(self):\n"
        "        self.hidden = nn.Linear(4, 8)\n"
        "    def forward(self, x):\n"
        "        return self.hidden(x)\n"
    )
    assert not facts.classes["MLP"].is_recurrent
    assert facts.recurrent_calls == []


def test_loops_know_whether_they_call_backward_and_no_grad_regions_are_seen():
    facts = facts_for(
        "import torch\n"
        "for a in x:\n"
        "    loss.backward()\n"
        "for b in x:\n"
        "    with torch.no_grad():\n"
        "        loss.backward()\n"
        "for c in x:\n"
        "    for d in y:\n"
        "        torch.autograd.grad(l, p)\n"
        "@torch.inference_mode()\n"
        "def gen():\n"
        "    for e in x:\n"
        "        pass\n"
        "for f in x:\n"
        "    optimizer.step()\n"
    )
    loops = {facts.source(loop.node.target): loop for loop in facts.loops}
    assert loops["a"].has_backward and not loops["b"].has_backward
    assert loops["c"].has_backward and loops["d"].has_backward
    assert loops["e"].no_grad and not loops["a"].no_grad
    assert loops["f"].has_backward
