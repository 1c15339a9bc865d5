"""A ``while`` loop advances its counters the way a ``for`` does (``start = next(it)``, ``start += 50``): a
stream read window by window through one keeps its state whichever loop reads it (HS307)."""

from __future__ import annotations

import pytest

from conftest import lint

_NET = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(60, 96)
        self.cls = nn.Linear(96, 12)
        self.memory = None

    def forward(self, frames):
        seq, self.memory = self.rnn(frames, self.memory)
        return self.cls(seq[-1])


def stream(net, recording, labels):
    net.memory = None
{loop}
        net.memory = net.memory.detach()
        print(F.cross_entropy(net(recording[{window}]), labels[0]))
"""

_FOR = "    for start in range(0, len(recording), 50):\n"
_NEXT = ("    chunks = iter(range(0, len(recording), 50))\n    while True:\n        try:\n"
         "            start = next(chunks)\n        except StopIteration:\n            break\n")
_STEP = "    start = -50\n    while start + 50 < len(recording):\n        start += 50\n"


@pytest.mark.parametrize("loop", [_FOR, _NEXT, _STEP], ids=["for", "while-next", "while-step"])
def test_a_window_of_one_stream_keeps_its_state_in_any_loop(loop):
    assert lint(_NET.format(loop=loop, window="start:start + 50"), ["HS307"]) == []


@pytest.mark.parametrize("loop", [_FOR, _NEXT, _STEP], ids=["for", "while-next", "while-step"])
def test_independent_clips_carry_a_state_in_any_loop(loop):
    found = lint(_NET.format(loop=loop, window="0:50"), ["HS307"])  # the same clip, not the next window
    assert [f.code for f in found] == ["HS307"]


_SHUFFLED = """\
import torch.nn as nn
from torch.utils.data import DataLoader

rnn = nn.GRU(8, 16)
loader = DataLoader(dataset, batch_size=32, shuffle={shuffle})
h = None
batches = iter(loader)
{again}while True:
    try:
        x, y = next(batches)
    except StopIteration:
        break
    if h is not None:
        h = h.detach()
    out, h = rnn(x, h)
    out.sum().backward()
"""


@pytest.mark.parametrize(("shuffle", "again", "expected"), [
    ("True", "", ["HS304"]),
    ("False", "", []),
    ("True", "batches = iter(other)\n", []),  # which iterator the loop reads is not one assignment: unknown
])
def test_a_while_loop_over_next_of_a_loader_iterates_that_loader(shuffle, again, expected):
    source = _SHUFFLED.format(shuffle=shuffle, again=again)
    assert [f.code for f in lint(source, ["HS304"])] == expected
