"""HS206 on torchtext's legacy batches: a sequential Field lays its tensor out (seq_len, batch) unless built with
``batch_first=True``, so a module that reads the other layout takes time steps for samples (or the reverse).
Judged when every sequential Field of the file agrees and the batch is followed from the iterator to the module;
silent otherwise."""

from __future__ import annotations

import pytest

from conftest import codes_in, lint

_SCRIPT = """\
import torch
import torch.nn as nn
{imports}

TEXT = {field}
LABEL = data.LabelField(dtype=torch.float)


class Classifier(nn.Module):
    def __init__(self, vocab, dim=100, hidden=256):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim)
        self.rnn = nn.GRU(dim, hidden{module})
        self.fc = nn.Linear(hidden, 1)

    def forward(self, text):
        out, hidden = self.rnn(self.embedding(text))
        return self.fc(hidden[-1])


def train(train_data, valid_data, device):
    train_iter, valid_iter = data.BucketIterator.splits((train_data, valid_data), batch_size=64, device=device)
    model = Classifier(len(TEXT.vocab))
    optimizer = torch.optim.Adam(model.parameters())
    for {target} in {iterated}:
        loss = nn.functional.binary_cross_entropy_with_logits(model({text}).squeeze(1), batch.label)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
"""


def _script(field='data.Field(tokenize="spacy")', module="", imports="from torchtext.legacy import data",
            target="batch", iterated="train_iter", text="batch.text") -> str:
    return _SCRIPT.format(field=field, module=module, imports=imports, target=target, iterated=iterated, text=text)


@pytest.mark.parametrize(("field", "module"), [
    ('data.Field(tokenize="spacy")', ", batch_first=True"),  # (seq, batch) into a batch-first module
    ('data.Field(tokenize="spacy", batch_first=True)', ""),  # (batch, seq) into a time-major one
    ('data.Field(tokenize="spacy", batch_first=False)', ", batch_first=True"),
])
@pytest.mark.parametrize(("imports", "target", "iterated"), [
    ("from torchtext.legacy import data", "batch", "train_iter"),
    ("from torchtext import data", "batch", "train_iter"),
    ("from torchtext.legacy import data", "step, batch", "enumerate(train_iter)"),
])
def test_a_batch_laid_out_the_other_way_is_reported(field, module, imports, target, iterated):
    found = lint(_script(field, module, imports, target, iterated))
    assert [f.code for f in found] == ["HS206"]
    assert "`train_iter`" in found[0].message


@pytest.mark.parametrize("kwargs", [
    dict(module=""),  # both time-major
    dict(field='data.Field(tokenize="spacy", batch_first=True)', module=", batch_first=True"),
    dict(field='data.Field(**FIELD_ARGS)', module=", batch_first=True"),  # not read
    dict(field='data.Field(batch_first=flags.first)', module=", batch_first=True"),  # not a literal
    # two sequential Fields that disagree: which one the batch field is, is not followed
    dict(field='data.Field()\nCHARS = data.Field(batch_first=True)', module=", batch_first=True"),
    dict(text="batch.text.t()", module=", batch_first=True"),  # re-laid out on the way: not followed
])
def test_lookalikes_are_silent(kwargs):
    assert lint(_script(**kwargs)) == []


def test_a_field_that_is_not_sequential_does_not_count():
    source = _script(field='data.Field()\nIDS = data.Field(sequential=False, batch_first=True)',
                     module=", batch_first=True")
    assert [f.code for f in lint(source)] == ["HS206"]


@pytest.mark.parametrize(("field", "module", "expected"), [
    ('data.Field(tokenize="spacy")', ", batch_first=True", ["HS206"]),
    ('data.Field(tokenize="spacy", batch_first=True)', ", batch_first=True", []),
])
def test_the_model_s_module_hears_the_layout_from_the_loop_that_feeds_it(tmp_path, field, module, expected):
    """The class is in ``models.py``; the Fields and the loop that calls it with ``batch.text`` in ``train.py``."""
    script = _script(field, module)
    start, end = script.index("class Classifier"), script.index("def train")
    models = "import torch.nn as nn\n\n\n" + script[start:end]
    train = script[:start] + script[end:]
    train = train.replace("from torchtext.legacy import data\n", "from torchtext.legacy import data\n\nfrom models import Classifier\n")
    found = codes_in(tmp_path, {"models.py": models, "train.py": train}, "models.py")
    assert [code for _, code in found] == expected
    if expected:
        assert codes_in(tmp_path, {"models.py": models, "train.py": train}, "train.py") == []
