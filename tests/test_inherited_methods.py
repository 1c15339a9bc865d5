"""A method a class inherits is its method wherever the base class is (``FileFacts.method_of``): ``model.init_hidden``
on a subclass is the base's initialiser, in this file or in another module."""

from __future__ import annotations

import pytest

from conftest import codes_in

BASE = """\
import torch
import torch.nn as nn


class TaggerBase(nn.Module):
    def __init__(self, n_in, n_hidden, n_tags):
        super().__init__()
        self.lstm = nn.LSTM(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, n_tags)
        self.n_hidden = n_hidden

    def init_hidden(self, bsz):
        return (torch.zeros(1, bsz, self.n_hidden), torch.zeros(1, bsz, self.n_hidden))
"""
TAGGER = """\
class Tagger(TaggerBase):
    def forward(self, x, hidden=None):
        {body}


def train(model: Tagger, sentences, optimizer):
    hidden = None
    for words, tags in sentences:
        model.hidden = model.init_hidden(words.size(1))
        scores, hidden = model(words, hidden)
        hidden = tuple(h.detach() for h in hidden)
        optimizer.zero_grad()
        scores.sum().backward()
        optimizer.step()
"""
IGNORES = "y, hidden = self.lstm(x, hidden)\n        return self.out(y), hidden"
READS = "y, hidden = self.lstm(x, self.hidden if hidden is None else hidden)\n        return self.out(y), hidden"


def _files(layout: str, body: str) -> tuple[dict[str, str], str, int]:
    """The files, the one checked, and the line of ``model.hidden = ...`` in it."""
    tagger = TAGGER.format(body=body)
    files = {"tagger.py": BASE + "\n\n" + tagger} if layout == "same-file" else {
        "base.py": BASE, "tagger.py": "from base import TaggerBase\n\n\n" + tagger}
    line = files["tagger.py"].splitlines().index("        model.hidden = model.init_hidden(words.size(1))") + 1
    return files, "tagger.py", line


@pytest.mark.parametrize("layout", ["same-file", "other-module"])
def test_a_dead_reset_through_an_inherited_initialiser(tmp_path, layout):
    files, checked, line = _files(layout, IGNORES)
    assert (line, "HS305") in codes_in(tmp_path, files, checked)


@pytest.mark.parametrize("layout", ["same-file", "other-module"])
def test_a_reset_that_forward_reads_is_silent(tmp_path, layout):
    files, checked, _ = _files(layout, READS)
    assert "HS305" not in [code for _, code in codes_in(tmp_path, files, checked)]
