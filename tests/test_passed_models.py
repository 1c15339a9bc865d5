"""A function of one module handed a model by another: ``def fit(net, ...)`` in ``loops.py`` whose only callers
are in the driver (``fit(WordLM(...), ...)``). The parameter holds what every such call passes (their summaries'
``calls_out``), so ``net.init_hidden(...)`` is the class's initialiser and the LSTM's ``(h, c)`` tuple it
returns is known in ``loops.py`` (HS103 on ``hidden.detach()``). Calls that disagree, or pass what cannot be
followed, leave the parameter unknown."""

from __future__ import annotations

import pytest

from conftest import codes_in

_MODELS = """\
import torch.nn as nn


class WordLM(nn.Module):
    def __init__(self, ntoken=1000, ninp=200, nhid=200, nlayers=2):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nlayers, self.nhid = nlayers, nhid

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        return self.decoder(output), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                weight.new_zeros(self.nlayers, bsz, self.nhid))


class WordGRU(nn.Module):
    def __init__(self, ntoken=1000, ninp=200, nhid=200):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.GRU(ninp, nhid)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid = nhid

    def forward(self, input, hidden):
        output, hidden = self.rnn(self.encoder(input), hidden)
        return self.decoder(output), hidden

    def init_hidden(self, bsz):
        return next(self.parameters()).new_zeros(1, bsz, self.nhid)
"""

_LOOPS = """\
import torch


def fit(net, source, criterion, optimizer, bptt=35):
    net.train()
    hidden = net.init_hidden(source.size(1))
    for i in range(0, source.size(0) - 1, bptt):
        data, targets = source[i:i + bptt], source[i + 1:i + 1 + bptt].flatten()
        hidden = hidden.detach()
        output, hidden = net(data, hidden)
        loss = criterion(output.flatten(0, 1), targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.25)
        optimizer.step()
"""

_DRIVER = """\
import torch
import torch.nn as nn

{imports}
from models import WordLM, WordGRU

corpus = torch.randint(0, 1000, (5000, 20))
{calls}
"""

_SPELLINGS = {
    "a name holding the model": ("from loops import fit",
                                 "model = WordLM()\nopt = torch.optim.SGD(model.parameters(), lr=20)\n"
                                 "for epoch in range(3):\n    fit(model, corpus, nn.CrossEntropyLoss(), opt)"),
    "built in the call": ("from loops import fit", "fit(WordLM(), corpus, nn.CrossEntropyLoss(), None)"),
    "by keyword": ("from loops import fit", "model = WordLM()\nfit(source=corpus, net=model, criterion=None, "
                   "optimizer=None)"),
    "an alias of the function": ("from loops import fit as run_epoch",
                                 "model = WordLM().to('cpu')\nrun_epoch(model, corpus, None, None)"),
    "through the module": ("import loops", "model = WordLM()\nloops.fit(model, corpus, None, None)"),
    "two calls, one class": ("from loops import fit",
                             "model = WordLM()\nfit(model, corpus, None, None)\nfit(WordLM(nhid=100), corpus, None, None)"),
}


def _found(tmp_path, imports: str, calls: str, package: bool = False) -> list[tuple[int, str]]:
    files = {"models.py": _MODELS, "main.py": _DRIVER.format(imports=imports, calls=calls)}
    if package:
        files.update({"train/__init__.py": "from .loops import fit\n", "train/loops.py": _LOOPS})
        files["main.py"] = files["main.py"].replace("from loops import", "from train import")
        return codes_in(tmp_path, files, "train/loops.py")
    files["loops.py"] = _LOOPS
    return codes_in(tmp_path, files, "loops.py")


@pytest.mark.parametrize("spelling", sorted(_SPELLINGS))
def test_a_parameter_holds_the_model_its_callers_in_other_modules_pass(tmp_path, spelling):
    imports, calls = _SPELLINGS[spelling]
    line = _LOOPS.splitlines().index("        hidden = hidden.detach()") + 1
    assert _found(tmp_path, imports, calls) == [(line, "HS103")]


def test_through_a_package_that_re_exports_the_function(tmp_path):
    imports, calls = _SPELLINGS["a name holding the model"]
    assert [code for _, code in _found(tmp_path, imports, calls, package=True)] == ["HS103"]


@pytest.mark.parametrize("calls", [
    "fit(WordGRU(), corpus, None, None)",  # a GRU's state is one tensor: .detach() is right
    "fit(WordLM(), corpus, None, None)\nfit(WordGRU(), corpus, None, None)",  # two classes: unknown
    "fit(torch.load('lm.pt'), corpus, nn.CrossEntropyLoss(), None)",  # what it passes is not followed
])
def test_lookalikes_are_silent(tmp_path, calls):
    assert _found(tmp_path, "from loops import fit", calls) == []


def test_no_caller_anywhere_leaves_the_parameter_unknown(tmp_path):
    files = {"models.py": _MODELS, "loops.py": _LOOPS, "main.py": "import loops\n"}
    assert codes_in(tmp_path, files, "loops.py") == []


def test_two_classes_whose_modules_share_an_attribute_name_keep_their_own_kinds(tmp_path):
    """``self.rnn`` is an LSTM in one class and a GRU in the other: each class's state is read with its own kind
    (once both were taken for one module built two ways, and the LSTM's tuple was not followed)."""
    files = {"lm.py": _MODELS + "\n\n" + _LOOPS + "\n\nfit(WordLM(), None, None, None)\n"}
    line = (_MODELS + "\n\n").count("\n") + _LOOPS.splitlines().index("        hidden = hidden.detach()") + 1
    assert codes_in(tmp_path, files, "lm.py") == [(line, "HS103")]
