"""HS206 on batches padded by ``pad_sequence``: its ``batch_first`` (False unless given) lays the batch out, and a
module that reads the other layout takes time steps for samples. Followed from the collate function of the file
or a padding in the loop to the module; silent when a step re-lays the batch out or packs it."""

from __future__ import annotations

import pytest

from conftest import codes_in, lint

_SCRIPT = """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader


def collate(batch):
    seqs, labels = zip(*batch)
{collate}


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 32{module})
        self.fc = nn.Linear(32, 2)

    def forward(self, x):
{forward}
        return self.fc(out.mean(1))


def train(dataset):
    loader = DataLoader(dataset, batch_size=16, shuffle=True, collate_fn=collate)
    model = Tagger()
    opt = torch.optim.Adam(model.parameters())
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
"""

_DIRECT = "    return pad_sequence(seqs{pad}), torch.tensor(labels)"
_NAMED = "    padded = pad_sequence(list(seqs){pad})\n    return padded, torch.tensor(labels)"
_FORWARD = "        out, _ = self.lstm(self.embed(x))"


def _script(collate=_DIRECT, pad="", module=", batch_first=True", forward=_FORWARD) -> str:
    return _SCRIPT.format(collate=collate.format(pad=pad), module=module, forward=forward)


@pytest.mark.parametrize("collate", [_DIRECT, _NAMED])
@pytest.mark.parametrize(("pad", "module"), [
    ("", ", batch_first=True"),  # padded time-major, read batch-major
    (", batch_first=False", ", batch_first=True"),
    (", batch_first=True", ""),  # padded batch-major, read time-major
])
def test_a_padded_batch_laid_out_the_other_way_is_reported(collate, pad, module):
    found = lint(_script(collate, pad, module))
    assert [f.code for f in found] == ["HS206"]
    assert "pad_sequence" in found[0].message


@pytest.mark.parametrize("kwargs", [
    dict(pad=", batch_first=True"),  # both batch first
    dict(module=""),  # both time-major
    dict(pad=", batch_first=flags.first"),  # not a literal
    dict(forward="        out, _ = self.lstm(self.embed(x).transpose(0, 1))"),  # re-laid out on the way
])
def test_lookalikes_are_silent(kwargs):
    assert lint(_script(**kwargs)) == []


def test_the_model_s_module_hears_the_layout_from_the_loop_that_feeds_it(tmp_path):
    """The class is in ``models.py``; the collate function and the loop in ``train.py``: their summary says how
    the batch the loop hands to the class is laid out."""
    script = _script()
    start, end = script.index("class Tagger"), script.index("def train")
    models = "import torch.nn as nn\n\n\n" + script[start:end]
    train = script[:start] + script[end:]
    train = train.replace("from torch.utils.data import DataLoader\n",
                          "from torch.utils.data import DataLoader\n\nfrom models import Tagger\n")
    files = {"models.py": models, "train.py": train}
    found = codes_in(tmp_path, files, "models.py")
    assert [code for _, code in found] == ["HS206"]
    files["train.py"] = train.replace("pad_sequence(seqs)", "pad_sequence(seqs, batch_first=True)")
    assert codes_in(tmp_path, files, "models.py") == []
