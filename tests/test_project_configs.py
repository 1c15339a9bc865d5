"""A class built only in other modules is configured by those constructions, in the default run."""

from __future__ import annotations

import libcst as cst
import pytest

from conftest import codes_in, hs_lint
from hs_lint.engine import Linter
from hs_lint.facts import FileFacts
from hs_lint.project.index import Projects
from hs_lint.rules import all_rules

# The recurrent module's configuration rests on __init__'s parameters; nothing in this file builds the class.
_MODEL = """\
import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, vocab, hidden, layers=2, dropout=0.5):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.rnn = nn.GRU(hidden, hidden, layers, dropout=dropout)

    def forward(self, tokens, state=None):
        return self.rnn(self.embed(tokens), state)
"""
_OPTIONS = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--layers", type=int, default=1)
parser.add_argument("--dropout", type=float, default=0.3)
args = parser.parse_args()
"""
_SETTINGS = "VOCAB = 100\nLAYERS = 1\n"


@pytest.mark.parametrize("script", [
    # argparse defaults passed by position from another module
    "from model import Encoder\n" + _OPTIONS + "encoder = Encoder(100, 64, args.layers, args.dropout)\n",
    # by keyword, the dropout left to its default
    "from model import Encoder\n" + _OPTIONS + "encoder = Encoder(vocab=100, hidden=64, layers=args.layers)\n",
    # a module constant of the script
    "import model\nLAYERS = 1\nencoder = model.Encoder(100, 64, LAYERS)\n",
    # constants of a third module, imported by name and through the module
    "from model import Encoder\nfrom settings import VOCAB, LAYERS\nencoder = Encoder(VOCAB, 64, LAYERS)\n",
    "import settings\nfrom model import Encoder\nencoder = Encoder(settings.VOCAB, 64, settings.LAYERS)\n",
    # a dict of parsed options, spread into the call
    "from model import Encoder\n" + _OPTIONS + "params = dict(vocab=100, hidden=64, layers=args.layers)\n"
    "encoder = Encoder(**params)\n",
    "from model import Encoder\n" + _OPTIONS + "encoder = Encoder(**{'vocab': 100, 'hidden': 64, 'layers': 1})\n",
    # built inside main(), chained with .to()
    "import torch\nfrom model import Encoder\n\n\ndef main():\n" + "".join(f"    {line}\n" for line in
        _OPTIONS.splitlines()) + "    return Encoder(100, 64, args.layers).to(torch.device('cpu'))\n",
])
def test_a_configuration_passed_in_from_another_module_reaches_the_class(tmp_path, script):
    files = {"model.py": _MODEL, "settings.py": _SETTINGS, "train.py": script}
    assert codes_in(tmp_path, files, "model.py") == [(8, "HS209")]


@pytest.mark.parametrize("script", [
    # every construction passes two layers: the signature's default is not what runs
    "from model import Encoder\nencoder = Encoder(100, 64, layers=2)\n",
    # two constructions disagree: which one a finding would be about is unknown
    "from model import Encoder\na = Encoder(100, 64, 1, 0.0)\nb = Encoder(100, 64, 2)\n",
    # spread from a mapping that cannot be followed
    "import json\nfrom model import Encoder\nencoder = Encoder(**json.loads(input()))\n",
    # a construction the default run does not reach (--arch defaults to "cnn")
    "import argparse\nfrom model import Encoder\nparser = argparse.ArgumentParser()\n"
    "parser.add_argument('--arch', default='cnn')\nargs = parser.parse_args()\n"
    "if args.arch == 'rnn':\n    encoder = Encoder(100, 64, 1)\n",
    # a class of the same name in another module, built with one layer: not this class
    "import torch.nn as nn\n\n\nclass Encoder(nn.Module):\n    def __init__(self, vocab, hidden, layers, p=0.5):\n"
    "        super().__init__()\n        self.proj = nn.Linear(vocab, hidden)\n\n\nencoder = Encoder(100, 64, 1)\n",
    # a parameter of a function nobody calls: unknown
    "from model import Encoder\n\n\ndef build(layers):\n    return Encoder(100, 64, layers)\n",
])
def test_a_configuration_that_cannot_be_followed_or_is_right_keeps_the_rule_silent(tmp_path, script):
    files = {"model.py": _MODEL, "settings.py": _SETTINGS, "train.py": script}
    assert codes_in(tmp_path, files, "model.py") == []


_SWITCHED = """\
import argparse
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, cell, hidden, layers, dropout):
        super().__init__()
        if cell in ["LSTM", "GRU"]:
            self.rnn = getattr(nn, cell)(hidden, hidden, layers, dropout=dropout)
        else:
            self.rnn = nn.RNN(hidden, hidden, layers, nonlinearity="tanh", dropout=dropout)


parser = argparse.ArgumentParser()
parser.add_argument("--cell", default={cell!r})
parser.add_argument("--layers", type=int, default=1)
args = parser.parse_args()
net = Net(args.cell, 32, args.layers, 0.2)
"""


@pytest.mark.parametrize(("cell", "expected"), [("LSTM", []), ("RNN_TANH", [(11, "HS209")])])
def test_a_module_built_in_a_branch_the_default_run_does_not_take_makes_no_certain_claim(tmp_path, cell, expected):
    assert codes_in(tmp_path, {"train.py": _SWITCHED.format(cell=cell)}, "train.py") == expected


@pytest.mark.parametrize(("test", "expected"), [
    ("layers > 1", True), ("layers >= 3", False), ("1 < layers < 3", True), ("cell == 'gru'", True),
    ("cell != 'gru'", False), ("cell not in ('lstm', 'rnn')", True), ("cell in ['lstm']", False),
    ("layers > 1 and cell == 'gru'", True), ("not bidirectional", True), ("bidirectional or layers == 1", False),
    ("cell == layers", None), ("cell in options", None), ("layers > width", None),
])
def test_a_condition_over_known_values_is_decided(test, expected):
    module = cst.parse_module(f"layers = 2\ncell = 'gru'\nbidirectional = False\nresult = {test}\n")
    facts = FileFacts(module)
    value = module.body[-1].body[0].value
    assert facts.shapes.value(value, facts.module_scope) is expected


def test_a_cached_result_is_redone_when_the_module_that_builds_the_class_changes(tmp_path):
    script = "from model import Encoder\n" + _OPTIONS + "encoder = Encoder(100, 64, args.layers, args.dropout)\n"
    codes_in(tmp_path, {"model.py": _MODEL, "train.py": script}, "train.py")
    first = hs_lint("check", "model.py", cwd=tmp_path)
    assert first.returncode == 1 and "HS209" in first.stdout, first.stdout + first.stderr
    (tmp_path / "train.py").write_text(script.replace("default=1", "default=2"))
    second = hs_lint("check", "model.py", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (tmp_path / ".hs_lint_cache").is_dir()  # the second answer came through the cache


def test_a_cached_result_is_redone_when_a_module_that_builds_the_class_is_added(tmp_path):
    script = "from model import Encoder\n" + _OPTIONS + "encoder = Encoder(100, 64, args.layers, args.dropout)\n"
    codes_in(tmp_path, {"model.py": _MODEL, "train.py": script}, "train.py")
    assert "HS209" in hs_lint("check", "model.py", cwd=tmp_path).stdout
    (tmp_path / "evaluate.py").write_text("from model import Encoder\nother = Encoder(100, 64, 2)\n")
    second = hs_lint("check", "model.py", cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr  # the two constructions disagree now


def test_the_message_names_the_file_that_builds_the_class(tmp_path):
    script = "from model import Encoder\n" + _OPTIONS + "encoder = Encoder(100, 64, args.layers, args.dropout)\n"
    codes_in(tmp_path, {"model.py": _MODEL, "scripts/train.py": script}, "model.py")
    path = tmp_path / "model.py"
    [found] = Linter(sorted(all_rules())).check_source(path.read_text(), str(path), Projects().view(path))
    assert "num_layers=1 (as scripts/train.py builds it)" in found.message


def test_checking_a_file_never_summarises_the_file_itself(tmp_path, monkeypatch):
    """Its own facts answer for it; its summary would be rebuilt on every edit in an editor (the buffer's bytes
    change), for nothing."""
    from hs_lint.project.index import ProjectIndex

    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "other.py").write_text("import torch\n")
    path = tmp_path / "model.py"
    path.write_text("import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self, layers=1):\n"
                    "        super().__init__()\n        self.rnn = nn.GRU(4, 8, num_layers=layers, dropout=0.5)\n")
    summarised = []
    original = ProjectIndex.summary
    monkeypatch.setattr(ProjectIndex, "summary", lambda self, p: summarised.append(p) or original(self, p))
    Linter(sorted(all_rules())).check_source(path.read_text(), str(path), Projects().view(path))
    assert path not in summarised
