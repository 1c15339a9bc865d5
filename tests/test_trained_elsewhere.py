"""HS303 for a model whose training loop is in another module: a module that imports the class trains in a loop
(what a backward loop in the model's own file says), nothing there resets or detaches the held state, and the
loop's model is one hs-lint cannot follow to the class (handed in as a parameter, made by a class method), so
the finding is on forward, in the model's file. A module that builds the class follows its own calls (the
finding is on its call); one that resets or detaches the state in its loop, or does not train, is heard too."""

from __future__ import annotations

import pytest

from conftest import codes_in

_MODEL = """\
import torch.nn as nn


class Tracker(nn.Module):
    def __init__(self, width=32):
        super().__init__()
        self.gru = nn.GRU(6, width)
        self.head = nn.Linear(width, 1)
        self.state = None

    @classmethod
    def from_config(cls, config):
        return cls(config["width"])

    def reset_state(self):
        self.state = None

    def forward(self, x):
        out, self.state = self.gru(x, self.state)
        return self.head(out)
"""

_FIT = """\
import torch
{imports}


def fit(model, batches, optimizer):
    for x, y in batches:
{body}        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()


def main(config, batches):
{main}
"""

_FROM_CONFIG = "    model = Tracker.from_config(config)\n    fit(model, batches, torch.optim.Adam(model.parameters()))"


def _findings(tmp_path, fit: str, files: dict[str, str] | None = None) -> list[tuple[int, str]]:
    model = "tracking/model.py" if files else "model.py"
    project = {model: _MODEL, "fit.py": fit, **(files or {})}
    return [f for f in codes_in(tmp_path, project, model) if f[1] == "HS303"]


@pytest.mark.parametrize(("imports", "files"), [
    ("from model import Tracker", None),
    ("import model as m", None),
    ("from tracking import Tracker", {"tracking/__init__.py": "from .model import Tracker\n"}),
    ("from tracking.model import Tracker", {"tracking/__init__.py": ""}),
])
def test_a_model_trained_by_a_module_that_imports_it_is_hs303_on_forward(tmp_path, imports, files):
    main = _FROM_CONFIG.replace("Tracker.", "m.Tracker.") if " as m" in imports else _FROM_CONFIG
    fit = _FIT.format(imports=imports, body="", main=main)
    assert _findings(tmp_path, fit, files) == [(19, "HS303")]


@pytest.mark.parametrize("body", [
    "        model.reset_state()\n",  # a method that resets the held attribute
    "        model.state = None\n",
    "        if model.state is not None:\n            model.state = model.state.detach()\n",
])
def test_a_loop_that_resets_or_detaches_the_held_state_is_silent(tmp_path, body):
    fit = _FIT.format(imports="from model import Tracker", body=body, main=_FROM_CONFIG)
    assert _findings(tmp_path, fit) == []


def test_a_module_that_builds_the_class_judges_its_own_calls(tmp_path):
    main = "    model = Tracker(64)\n    fit(model, batches, torch.optim.Adam(model.parameters()))"
    fit = _FIT.format(imports="from model import Tracker", body="", main=main)
    assert _findings(tmp_path, fit) == []  # the model file is silent...
    assert [f for f in codes_in(tmp_path, {"model.py": _MODEL, "fit.py": fit}, "fit.py") if f[1] == "HS303"] == [
        (7, "HS303")]  # ...and the finding is on the call that runs it


def test_a_module_that_imports_the_model_but_never_trains_is_silent(tmp_path):
    """An evaluation loop (under no_grad, no backward, no step) builds no graph across batches."""
    fit = _FIT.format(imports="from model import Tracker", body="", main=_FROM_CONFIG)
    fit = fit.replace("    for x, y in batches:", "    with torch.no_grad():\n      for x, y in batches:")
    assert _findings(tmp_path, fit) == []


def test_a_training_loop_that_does_not_import_the_model_says_nothing_of_it(tmp_path):
    fit = _FIT.format(imports="", body="", main="    pass")
    assert _findings(tmp_path, fit) == []


@pytest.mark.parametrize(("trains", "expected"), [(True, [(19, "HS303")]), (False, [])])
def test_a_model_module_that_imports_its_training_loop_is_judged_by_that_loop(tmp_path, trains, expected):
    """``from fit import fit`` in the model's own module: the loop it imports trains (or, lookalike, does not)."""
    fit = _FIT.format(imports="", body="", main="    pass")
    if not trains:
        fit = fit.replace("    for x, y in batches:", "    with torch.no_grad():\n      for x, y in batches:")
    model = _MODEL + "\n\nfrom fit import fit\n"
    found = [f for f in codes_in(tmp_path, {"model.py": model, "fit.py": fit}, "model.py") if f[1] == "HS303"]
    assert found == expected


_TAGGER = """\
import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self, n_in=8, n_hidden=16):
        super().__init__()
        self.lstm = nn.LSTM(n_in, n_hidden)
        self.n_hidden = n_hidden

    def init_hidden(self, bsz):
        return torch.zeros(1, bsz, self.n_hidden), torch.zeros(1, bsz, self.n_hidden)

    def reset_state(self, bsz):
        self.hidden = self.init_hidden(bsz)

    def forward(self, x, hidden=None):
        return self.lstm(x, hidden)
"""

_TAG = """\
from tagger import Tagger


def tag(model, sentences):
    hidden = None
    for words in sentences:
        model.reset_state(words.size(1))
{step}
"""


@pytest.mark.parametrize(("step", "expected"), [
    ("        out, hidden = model(words, hidden)", [(15, "HS305")]),  # the state really used is carried
    ("        out, (h, c) = model(words, (h, c))", [(15, "HS305")]),
    ("        out, hidden = model(words, model.hidden)", []),  # the attribute is read after all
    ("        out, _ = model(words)", []),  # forward starts from zeros on every call: only dead code
])
def test_a_reset_that_forward_never_reads_is_judged_by_the_modules_that_drive_the_model(tmp_path, step, expected):
    """HS305 in the model's own file: ``self.hidden`` is set, ``forward`` takes its state from its caller."""
    found = codes_in(tmp_path, {"tagger.py": _TAGGER, "tag.py": _TAG.format(step=step)}, "tagger.py")
    assert [f for f in found if f[1] == "HS305"] == expected
