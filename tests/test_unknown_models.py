"""An unknown model (``net``, a parameter) run in a file whose recurrent code is a class of another module, or
one whose layers a base class of another module builds: HS306 and HS105 judge it as in a file that builds a
torch recurrent module."""

from __future__ import annotations

import pytest

from conftest import codes_in

MODEL = """\
import torch.nn as nn


class CharModel(nn.Module):
    def __init__(self, vocab, width):
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        self.rnn = nn.LSTM(16, width, batch_first=True)
        self.out = nn.Linear(width, vocab)

    def forward(self, ids, state):
        seq, state = self.rnn(self.embed(ids), state)
        return self.out(seq), state
"""
BASE = MODEL.split("    def forward")[0].replace("CharModel", "CharBase")
SUBCLASS = """\
from base import CharBase


class CharModel(CharBase):
    def forward(self, ids, state):
        seq, state = self.rnn(self.embed(ids), state)
        return self.out(seq), state
"""
SAMPLER = """\
import torch
import torch.nn.functional as F

from {module} import CharModel


def babble(net, start, steps, width):
    h0 = torch.zeros(1, 1, width)
    c0 = torch.zeros(1, 1, width)
    current = torch.tensor([[start]])
    produced = [start]
    for _ in range(steps):
        {call}
        pick = torch.multinomial(F.softmax(logits[0, -1], dim=-1), 1).item()
        current.fill_(pick)
        produced.append(pick)
    return produced
"""
DROPS = "logits, _ = net(current, (h0, c0))"
CARRIES = "logits, (h0, c0) = net(current, (h0, c0))"
LAYOUTS = {
    "imported": {"model.py": MODEL},
    "layers-in-a-base-class": {"base.py": BASE, "model.py": SUBCLASS},
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_sampler_that_drops_the_state_of_an_imported_recurrent_model(tmp_path, layout):
    files = {**LAYOUTS[layout], "sample.py": SAMPLER.format(module="model", call=DROPS)}
    assert ("sample.py", 13, "HS306") in [("sample.py", *f) for f in codes_in(tmp_path, files, "sample.py")]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_sampler_that_carries_it_is_silent(tmp_path, layout):
    files = {**LAYOUTS[layout], "sample.py": SAMPLER.format(module="model", call=CARRIES)}
    assert "HS306" not in [code for _, code in codes_in(tmp_path, files, "sample.py")]


def test_a_sampler_of_a_model_with_no_recurrent_layer_is_silent(tmp_path):
    """A model of the project that runs no recurrent module: nothing says its second argument is a state."""
    model = MODEL.replace("nn.LSTM(16, width, batch_first=True)", "nn.Linear(16, width)").replace(
        "seq, state = self.rnn(self.embed(ids), state)", "seq = self.rnn(self.embed(ids)) + state")
    files = {"model.py": model, "sample.py": SAMPLER.format(module="model", call=DROPS)}
    assert "HS306" not in [code for _, code in codes_in(tmp_path, files, "sample.py")]


FIT = """\
import torch.nn.functional as F

from {module} import CharModel


def fit(net, batches, optimizer):
    for ids, targets in batches:
        logits, _ = net(ids, None)
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        loss.backward({keyword}=True)
        optimizer.step()
"""


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_pre_04_retain_variables_keyword_beside_an_imported_recurrent_model(tmp_path, layout):
    files = {**LAYOUTS[layout], "fit.py": FIT.format(module="model", keyword="retain_variables")}
    assert (10, "HS105") in codes_in(tmp_path, files, "fit.py")


def test_retain_graph_with_no_state_carried_is_silent(tmp_path):
    files = {**LAYOUTS["imported"], "fit.py": FIT.format(module="model", keyword="retain_graph")}
    assert "HS105" not in [code for _, code in codes_in(tmp_path, files, "fit.py")]
