"""HS601 on torchtext's legacy iterators (hs_lint.torch_api): a training iterator's batches are shuffled and, unless
``sort_within_batch`` (or ``sort``) says so, not sorted longest first, so packing their lengths with the default
``enforce_sorted=True`` raises. An evaluation iterator (``train=False``, or any but the first of ``splits``) sorts,
as does one told to; lengths that cannot be followed to the iterator stay unjudged."""

from __future__ import annotations

import pytest

from conftest import lint

_SCRIPT = """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence
{imports}

TEXT = data.Field(include_lengths=True)


class Classifier(nn.Module):
    def __init__(self, vocab, dim=100, hidden=256):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.rnn = nn.LSTM(dim, hidden)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, text, lengths):
        packed = pack_padded_sequence(self.embedding(text), lengths.cpu(){enforce})
        _, (hidden, _) = self.rnn(packed)
        return self.fc(hidden[-1])


def run(train_data, valid_data, device):
    {build}
    model = Classifier(len(TEXT.vocab))
    optimizer = torch.optim.Adam(model.parameters())
    for {target} in {iterated}:
        {unpack}
        loss = nn.functional.binary_cross_entropy_with_logits(model(text, lengths).squeeze(1), batch.label)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
"""

_IMPORTS = {
    "legacy": "from torchtext.legacy import data",
    "old path": "from torchtext import data",
    "the class": "import torchtext.legacy.data as data\nfrom torchtext.legacy.data import BucketIterator",
}

_SPLITS = "train_iter, valid_iter = {cls}.splits((train_data, valid_data), batch_size=64, device=device{more})"
_DIRECT = "train_iter = {cls}(train_data, 64, device=device{more})"


def _script(imports="legacy", build=_SPLITS, more="", target="batch", iterated="train_iter",
            unpack="text, lengths = batch.text", enforce="") -> str:
    cls = "BucketIterator" if imports == "the class" else "data.BucketIterator"
    return _SCRIPT.format(imports=_IMPORTS[imports], build=build.format(cls=cls, more=more), target=target,
                          iterated=iterated, unpack=unpack, enforce=enforce)


@pytest.mark.parametrize("imports", sorted(_IMPORTS))
@pytest.mark.parametrize(("build", "target", "iterated"), [
    (_SPLITS, "batch", "train_iter"),
    (_DIRECT, "batch", "train_iter"),
    (_SPLITS, "i, batch", "enumerate(train_iter)"),
    (_SPLITS.replace("train_iter, valid_iter = ", "iterators = ") + "\n    train_iter = iterators[0]", "batch",
     "train_iter"),
])
def test_the_lengths_of_a_training_iterator_s_batches_are_not_sorted(imports, build, target, iterated):
    found = lint(_script(imports, build, target=target, iterated=iterated))
    assert [f.code for f in found] == ["HS601"]
    assert "`train_iter`" in found[0].message


@pytest.mark.parametrize("kwargs", [
    dict(more=", sort_within_batch=True"),  # sorted longest first within each batch
    dict(more=", sort=True"),  # sort_within_batch defaults to sort
    dict(build=_DIRECT, more=", train=False"),  # an evaluation iterator sorts
    dict(iterated="valid_iter"),  # splits makes only the first a training iterator
    dict(enforce=", enforce_sorted=False"),
    dict(more=", sort_within_batch=flags.sort"),  # not a literal: not judged
])
def test_lookalikes_are_silent(kwargs):
    assert lint(_script(**kwargs)) == []


def test_the_fix_turns_enforce_sorted_off():
    from hs_lint.engine import Linter

    analysis = Linter(["HS601"]).analyse(_script(), "example.py")
    assert len(analysis.findings) == 1 and analysis.findings[0].fix
