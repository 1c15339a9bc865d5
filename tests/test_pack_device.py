"""HS602 knows a device by what it is, not by its name: ``lengths.to(where)`` with ``where = torch.device(...)``
of a GPU is a move to the GPU whatever the name says; a CPU device is not."""

from __future__ import annotations

import pytest

from conftest import lint

SOURCE = """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

{name} = torch.device({where})
lstm = nn.LSTM(8, 16, batch_first=True).to({name})


def encode(x, lengths):
    packed = pack_padded_sequence(x, lengths.to({name}), batch_first=True, enforce_sorted=False)
    return lstm(packed)
"""
GPU = '"cuda" if torch.cuda.is_available() else "cpu"'


@pytest.mark.parametrize("name", ["device", "state", "target"])
@pytest.mark.parametrize("where", [GPU, '"cuda:0"'], ids=["if-available", "cuda"])
def test_lengths_moved_to_a_gpu_device_whatever_its_name(name, where):
    assert [(f.line, f.code) for f in lint(SOURCE.format(name=name, where=where))] == [(10, "HS602")]


@pytest.mark.parametrize("name", ["state", "target"])
def test_lengths_moved_to_the_cpu_are_silent(name):
    assert [f.code for f in lint(SOURCE.format(name=name, where='"cpu"'))] == []
