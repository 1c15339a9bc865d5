"""HS601 on the pipeline (``Batches.unsorted``): lengths packed with ``enforce_sorted=True`` are reported where they
can be followed back to a shuffling DataLoader whose batches nothing sorts (default-collated, or collated by a
function of the file that sorts nothing), through the loop, ``next(iter(...))``, the model's ``forward`` and
another module; wherever a step sorts them, or their origin cannot be seen, the rule is silent."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in, lint

_MODEL = """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader
from tqdm import tqdm


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, {lengths}, batch_first=True)
        _, h = self.gru(packed)
        return h[-1]


def pad(batch):
    seqs, labels = zip(*batch)
    {sort}return pad_sequence(seqs, batch_first=True), torch.tensor([len(s) for s in seqs]), torch.tensor(labels)


"""

LOOPS = {
    "tuple target": """\
        def run(data):
            model = Encoder()
            for x, lengths, y in DataLoader(data, batch_size=8, shuffle=True):
                model(x, lengths)
        """,
    "enumerate, tqdm, a bound loader": """\
        def run(data):
            loader = DataLoader(data, 8, True)
            model = Encoder()
            for step, (x, lengths, y) in enumerate(tqdm(loader)):
                model(x, lengths)
        """,
    "unpacked in the loop": """\
        def run(data):
            model = Encoder()
            for batch in DataLoader(data, batch_size=8, shuffle=True):
                x, lengths, y = batch
                model(x.float(), lengths)
        """,
    "next(iter(loader))": """\
        def run(data):
            x, lengths, y = next(iter(DataLoader(data, batch_size=8, shuffle=True)))
            model = Encoder()
            return model(x, lengths)
        """,
    "a collate function that pads and does not sort": """\
        def run(data):
            model = Encoder()
            for x, lengths, y in DataLoader(data, batch_size=8, shuffle=True, collate_fn=pad):
                model(x, lengths)
        """,
}
LENGTHS = {"as given": "lengths", "on the CPU": "lengths.cpu()", "as a list": "lengths.tolist()"}


def _source(loop: str, lengths: str = "lengths", sort: str = "") -> str:
    return _MODEL.format(lengths=lengths, sort=sort) + textwrap.dedent(loop)


@pytest.mark.parametrize("loop", LOOPS.values(), ids=LOOPS.keys())
@pytest.mark.parametrize("lengths", LENGTHS.values(), ids=LENGTHS.keys())
def test_lengths_of_a_shuffled_batch_are_reported(loop, lengths):
    findings = [f for f in lint(_source(loop, lengths)) if f.code == "HS601"]
    assert [f.line for f in findings] == [14]
    assert "shuffled batches, which nothing sorts longest first" in findings[0].message


SILENT = {
    "enforce_sorted=False": (LOOPS["tuple target"], "lengths, enforce_sorted=False", ""),
    "a collate function that sorts": (LOOPS["a collate function that pads and does not sort"], "lengths",
                                      "batch = sorted(batch, key=lambda s: len(s[0]), reverse=True)\n    "),
    "an ordered loader": (LOOPS["tuple target"].replace(", shuffle=True", ""), "lengths", ""),
    "sorted in the loop": ("""\
        def run(data):
            model = Encoder()
            for x, lengths, y in DataLoader(data, batch_size=8, shuffle=True):
                lengths, order = lengths.sort(descending=True)
                model(x[order], lengths)
        """, "lengths", ""),
    "no caller in sight": ("", "lengths", ""),
}


@pytest.mark.parametrize(("loop", "lengths", "sort"), SILENT.values(), ids=SILENT.keys())
def test_lengths_nothing_proves_unsorted_are_silent(loop, lengths, sort):
    assert "HS601" not in {f.code for f in lint(_source(loop, lengths, sort))}


def test_the_model_in_another_module(tmp_path):
    model = _MODEL.format(lengths="lengths", sort="")
    train = textwrap.dedent("""\
        from torch.utils.data import DataLoader

        from model import Encoder


        def fit(data):
            net = Encoder()
            for x, lengths, y in DataLoader(data, batch_size=8, shuffle=True):
                net(x, lengths).sum().backward()
        """)
    files = {"model.py": model, "train.py": train}
    assert (14, "HS601") in codes_in(tmp_path, files, "model.py")
    ordered = {**files, "train.py": train.replace(", shuffle=True", "")}
    assert (14, "HS601") not in codes_in(tmp_path / "ordered", ordered, "model.py")
