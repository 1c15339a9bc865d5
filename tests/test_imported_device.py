"""A device made in another module of the project (``from config import device``) is a value the summaries
carry: where it is ("accelerator", "cuda-if-available", "cpu"), so HS401 and HS402 judge a file that imports it
as they judge one that makes it."""

from __future__ import annotations

import pytest

from conftest import codes_in

_DRIVER = """\
import torch
import torch.nn as nn
from config import {name}

rnn = nn.GRU(8, 16).to({name})
for x in batches:
    h0 = torch.zeros(1, x.size(1), 16{placed})
    out, h = rnn(x.to({name}), h0)
"""


@pytest.mark.parametrize(("device", "expected"), [
    ('torch.device("cuda")', [(7, "HS401")]),
    ('torch.device("cuda:1")', [(7, "HS401")]),
    ('torch.device("cuda" if torch.cuda.is_available() else "cpu")', [(7, "HS401")]),
    ('torch.device("cpu")', []),  # the state is where the model is
    ("torch.device(args.device)", []),  # not known: silent
])
@pytest.mark.parametrize("name", ["device", "DEVICE"])
def test_a_device_imported_from_another_module_places_the_model(tmp_path, device, expected, name):
    files = {"config.py": f"import torch\n\n{name} = {device}\n", "train.py": _DRIVER.format(name=name, placed="")}
    assert codes_in(tmp_path, files, "train.py") == expected


def test_a_state_built_on_the_imported_device_is_silent(tmp_path):
    files = {"config.py": 'import torch\n\ndevice = torch.device("cuda")\n',
             "train.py": _DRIVER.format(name="device", placed=", device=device")}
    assert codes_in(tmp_path, files, "train.py") == []


_POEM = """\
import torch
import torch.nn as nn
from config import DEVICE


class PoemNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(32, 64, batch_first=True)

    def forward(self, x, hidden):
        return self.rnn(x, hidden)

    def begin_state(self, batch):
        return torch.zeros(1, batch, 64).to(DEVICE)


def restore(path):
    net = PoemNet()
    net.load_state_dict(torch.load(path, map_location="cpu"))
    return net{move}


def write(path, x):
    net = restore(path)
    return net(x.to(DEVICE), net.begin_state(1))
"""


@pytest.mark.parametrize(("device", "move", "expected"), [
    ('torch.device("cuda" if torch.cuda.is_available() else "cpu")', "", [(15, "HS402")]),
    ('torch.device("cuda" if torch.cuda.is_available() else "cpu")', ".to(DEVICE)", []),
    ('torch.device("cpu")', "", []),
])
def test_a_state_that_follows_an_imported_device_the_model_never_takes(tmp_path, device, move, expected):
    files = {"config.py": f"import torch\n\nDEVICE = {device}\n", "poem.py": _POEM.format(move=move)}
    assert [f for f in codes_in(tmp_path, files, "poem.py") if f[1] == "HS402"] == expected
