"""HS206 for a shuffled DataLoader's batch (samples on axis 0, ``hs_lint/batches.py``) given to a time-major
module, which reads axis 0 as time: the same loops, unpackings and hand-overs HS211 follows, an embedding in
between, and a module of another file; silent for batch-first modules, a transposed batch, an ordered loader,
and a state without batch axis (HS211's finding, not a second one)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in, lint
from test_state_rank import FED, SILENT

_MODEL = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset


class Net(nn.Module):
    def __init__(self, vocab=100, hidden=64, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, 20)
        self.lstm = nn.LSTM(20, hidden, layers{flags})

    def forward(self, x):
        {body}


"""
_PLAIN = "return self.lstm(self.embed(x))[0]"


def _source(driver: str, flags: str = "", body: str = _PLAIN) -> str:
    return _MODEL.format(flags=flags, body=body) + "from tqdm import tqdm\n\n\n" + textwrap.dedent(driver)


@pytest.mark.parametrize("driver", FED.values(), ids=FED.keys())
def test_a_shuffled_batch_in_a_time_major_module(driver):
    found = lint(_source(driver), ["HS206"])
    assert [(f.line, f.code) for f in found] == [(13, "HS206")]
    assert "reads its samples as time steps" in found[0].message


@pytest.mark.parametrize("driver", SILENT.values(), ids=SILENT.keys())
def test_inputs_that_may_be_time_major_are_left_alone(driver):
    assert lint(_source(driver), ["HS206"]) == []


@pytest.mark.parametrize(("flags", "body"), [
    (", batch_first=True", _PLAIN),
    ("", "return self.lstm(self.embed(x).transpose(0, 1))[0]"),
    ("", "return self.lstm(self.embed(x.t()))[0]"),
    ("", "e = self.embed(x)\n        return self.lstm(e.permute(1, 0, 2))[0]"),
])
def test_batch_first_or_transposed(flags, body):
    assert lint(_source(FED["tuple target"], flags, body), ["HS206"]) == []


@pytest.mark.parametrize("body", [
    "layer = self.embed\n        return self.lstm(layer(x))[0]",
    "inputs = self.embed(x.long())\n        return self.lstm(inputs)[0]",
])
def test_through_a_held_layer(body):
    assert [f.code for f in lint(_source(FED["tuple target"], "", body), ["HS206"])] == ["HS206"]


def test_a_state_without_batch_axis_is_hs211_alone():
    body = "h = torch.zeros(2, 64)\n        return self.lstm(self.embed(x), (h, h))[0]"
    found = lint(_source(FED["tuple target"], "", body), ["HS206", "HS211"])
    assert [f.code for f in found] == ["HS211"]


_TRAIN = """\
import torch
from torch.utils.data import DataLoader

from model import Net


def fit(model, data):
    for i, (x, y) in enumerate(DataLoader(data, batch_size=16, shuffle={shuffle})):
        model(x).sum().backward()


fit(Net(), torch.load("windows.pt"))
"""


@pytest.mark.parametrize(("shuffle", "expected"), [("True", [(13, "HS206")]), ("False", [])])
def test_a_batch_fed_by_another_module(tmp_path, shuffle, expected):
    files = {"model.py": _MODEL.format(flags="", body=_PLAIN), "train.py": _TRAIN.format(shuffle=shuffle)}
    assert codes_in(tmp_path, files, "model.py") == expected


_TRAINER = """\
from torch.utils.data import DataLoader


def train(dataset, model, epochs=3):
    loader = DataLoader(dataset, batch_size=16, shuffle=True)
    for _ in range(epochs):
        for x, y in loader:
            model(x).sum().backward()


def fit(model, loader):
    for step, (x, y) in enumerate(loader):
        model(x).sum().backward()
"""


@pytest.mark.parametrize(("main", "expected"), [
    ("from trainer import train\n\ntrain(torch.load('d.pt'), Net())\n", [(13, "HS206")]),
    ("import trainer\n\nnet = Net()\ntrainer.train(torch.load('d.pt'), model=net)\n", [(13, "HS206")]),
    ("from trainer import fit\n\nfit(Net(), DataLoader(torch.load('d.pt'), batch_size=8, shuffle=True))\n",
     [(13, "HS206")]),
    ("from trainer import fit\n\nloader = DataLoader(torch.load('d.pt'), batch_size=8)\nfit(Net(), loader)\n", []),
    ("from trainer import train\n\ntrain(torch.load('d.pt'), torch.nn.GRU(20, 64))\n", []),
])
def test_a_batch_fed_by_a_function_of_another_module(tmp_path, main, expected):
    """The loop is in a function of a third module, given the model (and perhaps the loader) by the script."""
    header = "import torch\nfrom torch.utils.data import DataLoader\n\nfrom model import Net\n"
    files = {"model.py": _MODEL.format(flags="", body=_PLAIN), "trainer.py": _TRAINER, "main.py": header + main}
    assert codes_in(tmp_path, files, "model.py") == expected


@pytest.mark.parametrize(("added", "expected"), [("unsqueeze(-1)", ["HS206"]), ("unsqueeze(2)", ["HS206"]),
                                                 ("unsqueeze(0)", []), ("unsqueeze(1).transpose(0, 1)", [])])
def test_an_added_feature_axis_keeps_the_samples_first(added, expected):
    body = f"return self.lstm(x.float().{added})[0]"
    source = _source(FED["tuple target"], "", body).replace("nn.LSTM(20, ", "nn.LSTM(1, ")
    assert [f.code for f in lint(source, ["HS206"])] == expected
