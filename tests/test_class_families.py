"""A recurrent class chosen when the code runs (``rnn_cell = nn.LSTM`` in one branch, ``nn.GRU`` in another) is a
family of kinds: what its members share (the state's layout, the constructor parameters in common positions) is
judged, what they do not (an LSTM's ``(h, c)`` tuple against a GRU's tensor) is not, and ``--confirm`` has no one
module to build."""

from __future__ import annotations

import pytest

from conftest import codes_in, lint
from hs_lint import torch_api

_CHOICES = {
    "if/elif on a string": (
        "        if cell == 'lstm':\n            rnn_cls = nn.LSTM\n        elif cell == 'gru':\n"
        "            rnn_cls = nn.GRU\n        else:\n            raise ValueError(cell)\n"
        "        self.rnn = rnn_cls(16, 32, layers, batch_first=True)\n"),
    "a conditional expression called": "        self.rnn = (nn.GRU if cell == 'gru' else nn.LSTM)(16, 32, layers, batch_first=True)\n",
    "a mapping indexed": "        self.rnn = {'lstm': nn.LSTM, 'gru': nn.GRU}[cell](16, 32, layers, batch_first=True)\n",
    "a module constant mapping": "        rnn_cls = CELLS[cell]\n        self.rnn = rnn_cls(16, 32, layers, batch_first=True)\n",
    "an attribute holding the class": (
        "        self.cell_class = nn.LSTM if cell == 'lstm' else nn.GRU\n"
        "        self.rnn = self.cell_class(16, 32, num_layers=layers, batch_first=True)\n"),
}

_TAGGER = """\
import torch
import torch.nn as nn

CELLS = {{"lstm": nn.LSTM, "gru": nn.GRU}}


class Tagger(nn.Module):
    def __init__(self, cell="lstm", layers=2):
        super().__init__()
        self.layers = layers
{choice}
    def forward(self, x):
        h0 = torch.zeros({dims})
        out, _ = self.rnn(x, {state})
        return out


Tagger()
"""


def _tagger(choice: str, dims: str, state: str = "h0") -> str:
    return _TAGGER.format(choice=_CHOICES[choice], dims=dims, state=state)


@pytest.mark.parametrize("choice", sorted(_CHOICES))
def test_the_layout_every_member_shares_is_judged(choice):
    source = _tagger(choice, "x.size(0), self.layers, 32")
    found = lint(source)
    assert [f.code for f in found] == ["HS201"]
    assert "(nn.GRU or nn.LSTM)" in found[0].message


@pytest.mark.parametrize("choice", sorted(_CHOICES))
def test_a_state_right_for_every_member_is_silent(choice):
    assert lint(_tagger(choice, "self.layers, x.size(0), 32")) == []


@pytest.mark.parametrize("state", ["h0", "(h0, h0)"])
def test_the_arity_the_members_disagree_on_is_not_judged(state):
    """An LSTM wants (h0, c0), a GRU h0: either may be right, depending on the run."""
    source = _tagger("if/elif on a string", "self.layers, x.size(0), 32", state)
    assert "HS205" not in [f.code for f in lint(source)]


def test_members_that_agree_on_the_arity_are_judged():
    source = _tagger("a conditional expression called", "self.layers, x.size(0), 32", "(h0, h0)").replace(
        "nn.GRU if cell == 'gru' else nn.LSTM", "nn.GRU if cell == 'gru' else nn.RNN")
    assert [f.code for f in lint(source)] == ["HS205"]


def test_a_cell_among_full_modules_is_not_followed():
    source = _tagger("a conditional expression called", "x.size(0), self.layers, 32").replace(
        "nn.GRU if cell == 'gru' else nn.LSTM", "nn.GRUCell if cell == 'gru' else nn.LSTM")
    assert lint(source) == []


def test_the_loop_of_another_module_sizes_a_family_s_state(tmp_path):
    """The initialiser returns (h, c) for one member and h for the other: its batch parameter is the same."""
    model = """\
import torch
import torch.nn as nn


class CharModel(nn.Module):
    def __init__(self, cell="LSTM", width=64):
        super().__init__()
        self.cell, self.width = cell, width
        self.embed = nn.Embedding(50, 16)
        if cell == "LSTM":
            rnn_cls = nn.LSTM
        else:
            rnn_cls = nn.GRU
        self.rnn = rnn_cls(16, width, batch_first=True)

    def init_hidden(self, batch):
        h = torch.zeros(1, batch, self.width)
        if self.cell == "LSTM":
            return h, torch.zeros(1, batch, self.width)
        return h

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.embed(x), hidden)
        return out, hidden
"""
    train = """\
import torch
from torch.utils.data import DataLoader, TensorDataset

from model import CharModel


def train(opts):
    loader = DataLoader(TensorDataset(torch.randint(0, 50, (1000, 20))), batch_size=opts.batch_size, shuffle=True)
    model = CharModel(opts.cell)
    for (x,) in loader:
        out, _ = model(x, model.init_hidden(opts.batch_size))
"""
    found = codes_in(tmp_path, {"model.py": model, "train.py": train}, "train.py")
    assert found == [(11, "HS204")]
    assert codes_in(tmp_path, {"model.py": model, "train.py": train.replace("init_hidden(opts.batch_size)",
                                                                            "init_hidden(x.size(0))")},
                    "train.py") == []


def test_families_in_the_torch_model():
    assert torch_api.family({"LSTM", "GRU"}) == "GRU|LSTM"
    assert torch_api.family({"LSTM", "LSTMCell"}) is None
    assert torch_api.holds_tuple("GRU|LSTM") is None
    assert torch_api.holds_tuple("GRU|RNN") is False
    assert torch_api.holds_tuple("LSTM") is True
    assert torch_api.is_cell("GRUCell|LSTMCell") and not torch_api.is_cell("GRU|LSTM")
    # what RNN and LSTM both take, and how many of it by position (RNN's fourth is nonlinearity, LSTM's bias)
    assert torch_api.parameters("LSTM|RNN") == ("input_size", "hidden_size", "num_layers", "bias", "batch_first",
                                                "dropout", "bidirectional")
    assert torch_api.positional("LSTM|RNN") == 3
    assert torch_api.positional("GRU|LSTM") == 7
    assert torch_api.kind_name("GRU|LSTM") == "nn.GRU or nn.LSTM"


def test_confirm_has_no_one_module_to_build():
    pytest.importorskip("torch")
    from hs_lint.runtime.confirm import UNCONFIRMABLE, confirm

    data = {"module": {"kind": "GRU|LSTM", "input_size": 16, "hidden_size": 32, "num_layers": 2,
                       "batch_first": True}, "state": [[4, 2, 32]], "state_is_tuple": False, "input": None}
    verdict = confirm("HS201", data)
    assert verdict.status == UNCONFIRMABLE and "nn.GRU or nn.LSTM" in verdict.detail


def test_a_getattr_with_a_default_is_no_class_and_no_recursion():
    """``getattr(args, "cell", None)`` (three arguments) named no class; reading it once recursed without end."""
    source = _tagger("if/elif on a string", "self.layers, x.size(0), 32").replace(
        "        self.layers = layers\n",
        "        self.layers = layers\n        builder = getattr(nn, 'LSTM', None)\n        extra = getattr(nn, 'GRU', None)(4, 4)\n")
    assert [f.code for f in lint(source)] == []
