"""HS204 on torchtext's legacy iterators (hs_lint.torch_api): a BucketIterator or Iterator never drops its short
last batch, so a state built for the full batch size fails on it, however the iterator is imported, built
(directly or by ``splits``) and its batch size given; silent where the batch size is not the state's or unknown."""

from __future__ import annotations

import pytest

from conftest import lint

_SCRIPT = """\
import torch
import torch.nn as nn
{imports}

BATCH_SIZE = 64
{build}


class Classifier(nn.Module):
    def __init__(self, vocab, embed=100, hidden=256):
        super().__init__()
        self.hidden = hidden
        self.embedding = nn.Embedding(vocab, embed)
        self.rnn = nn.GRU(embed, hidden)
        self.fc = nn.Linear(hidden, 1)

    def forward(self, text):
        h0 = torch.zeros(1, {state}, self.hidden)
        output, hidden = self.rnn(self.embedding(text), h0)
        return self.fc(hidden.squeeze(0))


model = Classifier(1000)
optimizer = torch.optim.Adam(model.parameters())
for epoch in range(5):
    for batch in train_iterator:
        optimizer.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(batch.text).squeeze(1), batch.label)
        loss.backward()
        optimizer.step()
"""

_BUILDS = {
    "legacy module": ("from torchtext.legacy import data",
                      "train_iterator = data.BucketIterator(train_data, batch_size=BATCH_SIZE, shuffle=True)"),
    "old module, positional": ("from torchtext import data",
                               "train_iterator = data.BucketIterator(train_data, BATCH_SIZE, lambda x: len(x.text))"),
    "class imported": ("from torchtext.legacy.data import Iterator",
                       "train_iterator = Iterator(train_data, batch_size=BATCH_SIZE, sort=False)"),
    "splits": ("from torchtext.legacy.data import BucketIterator",
               "train_iterator, test_iterator = BucketIterator.splits(\n"
               "    (train_data, test_data), batch_size=BATCH_SIZE, sort_within_batch=True)"),
    "indexed from splits": ("from torchtext.legacy.data import BucketIterator",
                            "iterators = BucketIterator.splits((train_data, test_data), batch_size=BATCH_SIZE)\n"
                            "train_iterator = iterators[0]"),
    "module path": ("import torchtext",
                    "train_iterator = torchtext.data.iterator.BucketIterator(train_data, batch_size=BATCH_SIZE)"),
}


@pytest.mark.parametrize("build", sorted(_BUILDS))
def test_a_fixed_state_meets_the_short_last_batch_of_a_text_iterator(build):
    imports, made = _BUILDS[build]
    source = _SCRIPT.format(imports=imports, build=made, state="BATCH_SIZE")
    findings = lint(source, ["HS204"])
    assert [f.code for f in findings] == ["HS204"]
    name = "Iterator" if "Iterator(" in made and "BucketIterator" not in made else "BucketIterator"
    assert f"is fixed, but the {name} (batch_size=64) yields a smaller last batch. Size it by `" \
        in findings[0].message


@pytest.mark.parametrize("imports, made, state", [
    ("from torchtext.legacy import data",  # sized by the batch itself
     "train_iterator = data.BucketIterator(train_data, batch_size=BATCH_SIZE)", "text.size(1)"),
    ("from torchtext.legacy.data import BucketIterator",  # one batch size per split: which one is not followed
     "train_iterator, test_iterator = BucketIterator.splits((train_data, test_data), batch_sizes=(64, 256))",
     "BATCH_SIZE"),
    ("from batching import BucketIterator",  # a class of the project with the same name
     "train_iterator = BucketIterator(train_data, batch_size=BATCH_SIZE)", "BATCH_SIZE"),
])
def test_lookalikes_are_silent(imports, made, state):
    assert lint(_SCRIPT.format(imports=imports, build=made, state=state), ["HS204"]) == []
