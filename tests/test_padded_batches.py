"""HS605 on batches padded by ``pad_sequence`` and run without packing (``Batches.padding``): the padded batch is
followed from the training loop or a collate function of the file into ``forward`` (through an embedding), and
its output read at the last step is reported in either layout; packing, padding at the front, a gather at each
length or a loader whose collate function cannot be read keep it silent."""

from __future__ import annotations

import textwrap

import pytest

from conftest import lint

_MODEL = """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16, padding_idx=0)
        self.gru = nn.GRU(16, 32, batch_first={batch_first})

    def forward(self, tokens):
        out, h_n = self.gru(self.embed(tokens))
        return {read}


def collate(samples):
    return pad_sequence([s[0] for s in samples], batch_first={batch_first}), torch.stack([s[1] for s in samples])


"""

DRIVERS = {
    "padded in the loop": """\
        def fit(sequences):
            net = Net()
            for i in range(0, len(sequences), 8):
                batch = pad_sequence(sequences[i:i + 8], batch_first={batch_first})
                net(batch).sum().backward()
        """,
    "padded by the loader's collate function": """\
        def fit(dataset):
            net = Net()
            for step, (tokens, labels) in enumerate(DataLoader(dataset, 8, collate_fn=collate)):
                net(tokens.cuda()).sum().backward()
        """,
    "padded in a nested call": """\
        def fit(sequences):
            net = Net()
            net(pad_sequence(sequences, batch_first={batch_first}).long()).sum().backward()
        """,
}
LAST = {True: "out[:, -1]", False: "out[-1]"}


def _source(driver: str, batch_first: bool, read: str | None = None) -> str:
    text = _MODEL + textwrap.dedent(driver)
    return text.format(batch_first=batch_first, read=read or LAST[batch_first])


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("driver", DRIVERS.values(), ids=DRIVERS.keys())
def test_the_last_step_of_an_unpacked_padded_batch(driver, batch_first):
    found = lint(_source(driver, batch_first), ["HS605"])
    assert [(f.line, f.code) for f in found] == [(15, "HS605")]
    assert "Pack the batch" in found[0].message


@pytest.mark.parametrize("read", ["out[:, 0]", "out[torch.arange(out.size(0)), lengths - 1]", "out.mean(1)",
                                  "h_n[-1]"])
def test_other_reads(read):
    assert lint(_source(DRIVERS["padded in the loop"], True, read.replace("lengths", "tokens")), ["HS605"]) == []


@pytest.mark.parametrize(("old", "new"), [
    ("batch_first={batch_first})\n                net", "batch_first={batch_first}, padding_side='left')\n                net"),
    ("net(batch)", "net(batch[:, :5])"),
])
def test_front_padding_or_a_slice(old, new):
    assert lint(_source(DRIVERS["padded in the loop"].replace(old, new), True), ["HS605"]) == []


def test_a_collate_function_it_cannot_read():
    driver = DRIVERS["padded by the loader's collate function"].replace("collate_fn=collate", "collate_fn=pad_fn")
    assert lint(_source("pad_fn = make_collate()\n\n\n" + textwrap.dedent(driver), True), ["HS605"]) == []


def test_a_packed_input():
    model = _MODEL.replace("self.gru(self.embed(tokens))",
                           "self.gru(pack_padded_sequence(self.embed(tokens), [3] * 8, batch_first=True))")
    assert lint((model + textwrap.dedent(DRIVERS["padded in the loop"])).format(batch_first=True, read="h_n[-1]"),
                ["HS605"]) == []
