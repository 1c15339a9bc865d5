"""The shape facts as data: configurations in torch's argument order, symbolic sizes, traced states."""

from __future__ import annotations

import inspect

import libcst as cst
import pytest

from conftest import lint
from hs_lint.engine import Linter
from hs_lint.facts import FileFacts
from hs_lint.rules import all_rules
from hs_lint.shapes import Dim, Sym
from hs_lint.torch_api import PARAMETERS


def shapes(source: str):
    return FileFacts(cst.parse_module(source)).shapes


def only_config(source: str) -> dict:
    (module,) = shapes(source).modules.values()
    return module.as_data()


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("nn.RNN(4, 8, 2, 'relu', False, True, 0.5, True)",
         {"num_layers": 2, "nonlinearity": "relu", "bias": False, "batch_first": True, "dropout": 0.5,
          "bidirectional": True}),
        ("nn.LSTM(4, 8, 2, True, True, 0.1, True, 3)",
         {"num_layers": 2, "batch_first": True, "dropout": 0.1, "bidirectional": True, "proj_size": 3}),
        ("nn.GRU(4, 8, 3, True, False, 0.2, True)", {"num_layers": 3, "dropout": 0.2, "bidirectional": True}),
        ("nn.RNNCell(4, 8, False, 'relu')", {"bias": False, "nonlinearity": "relu"}),
        ("nn.LSTMCell(4, 8, False)", {"bias": False}),
    ],
)
def test_positional_arguments_follow_torchs_order(call, expected):
    data = only_config(f"import torch.nn as nn\nm = {call}\n")
    assert {k: data[k] for k in expected} == expected
    assert (data["input_size"], data["hidden_size"]) == (4, 8)


def test_parameter_orders_match_the_installed_torch():
    torch = pytest.importorskip("torch")
    rnn = inspect.getsource(torch.nn.modules.rnn)
    for kind, names in PARAMETERS.items():
        if kind in ("RNNCell", "LSTMCell", "GRUCell"):
            signature = inspect.signature(getattr(torch.nn, kind).__init__)
            actual = [n for n in signature.parameters if n not in ("self", "device", "dtype")]
        else:  # the full modules take *args; their typed overload documents the order
            start = rnn.index(f"class {kind}(RNNBase)")
            overload = rnn[rnn.index("def __init__(", start):rnn.index(") -> None: ...", start)]
            actual = [line.strip().split(":")[0] for line in overload.splitlines()[1:] if ":" in line]
            actual = [n for n in actual if n not in ("self", "device", "dtype")]
        assert list(names) == actual, kind


def test_defaults_unknown_kwargs_and_constants():
    data = only_config("import torch.nn as nn\nH = 32\nm = nn.LSTM(8, H * 2, batch_first=flag, **extra)\n")
    assert data["hidden_size"] == 64
    assert data["batch_first"] is None  # a non-literal flag stays unknown
    assert data["num_layers"] is None  # anything not given may be in **extra


def test_symbols_are_shared_through_self_attributes_and_config_objects():
    facts = shapes(
        """\
import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = cfg.layers
        self.rnn = nn.GRU(8, 16, num_layers=cfg.layers, bidirectional=True)

    def forward(self, x):
        return self.rnn(x, torch.zeros(self.layers * 2, x.size(1), 16))
"""
    )
    (use,) = facts.uses
    layers = use.module.dim("num_layers")
    assert layers is not None and layers.sym is not None and layers.sym.text == "cfg.layers"
    (form,) = use.forms
    first, batch, size = form.parts[0].dims
    assert first == use.module.state_layers == layers * Dim(2)
    assert batch.sym.axis == 1 and batch.sym.tensor == use.input_key
    assert size == Dim(16)


def test_provable_difference_needs_the_same_symbols():
    n = Dim(1, (Sym("s:n", "n"),))
    m = Dim(1, (Sym("s:m", "m"),))
    assert (n * Dim(2)).differs(n)
    assert not n.differs(m)  # unknown, not different
    assert Dim(3).differs(Dim(2)) and not Dim(3).differs(None)


def test_config_class_attributes_and_dataclass_overrides():
    source = """\
import torch.nn as nn
from dataclasses import dataclass

@dataclass
class Config:
    hidden: int = 128
    layers: int = 1

cfg = Config(layers=3)
m = nn.LSTM(10, cfg.hidden, cfg.layers)
"""
    data = only_config(source)
    assert (data["hidden_size"], data["num_layers"]) == (128, 3)


def test_a_parameter_takes_its_only_callers_argument_before_its_default():
    source = """\
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, hidden=128):
        super().__init__()
        self.rnn = nn.GRU(8, hidden)

model = Model(hidden=256)
"""
    assert only_config(source)["hidden_size"] == 256
    assert only_config(source.replace("model = Model(hidden=256)\n", ""))["hidden_size"] == 128


def test_shape_facts_are_built_only_when_a_shape_rule_runs():
    module = cst.parse_module("import torch.nn as nn\nrnn = nn.GRU(8, 16, dropout=0.5)\n")
    facts = FileFacts(module)
    for code in ("HS101", "HS102"):
        list(all_rules()[code]().check(facts))
    assert "shapes" not in vars(facts)
    assert [v.code for v in all_rules()["HS209"]().check(facts)] == ["HS209"]
    assert "shapes" in vars(facts)


def test_violations_carry_the_case_as_data():
    source = all_rules()["HS202"].bad[0]
    module = cst.parse_module(source)
    (violation,) = all_rules()["HS202"]().check(FileFacts(module))
    assert violation.data["module"] == {
        "kind": "GRU", "input_size": 10, "hidden_size": 20, "num_layers": 2, "bias": True, "batch_first": False,
        "dropout": 0.0, "bidirectional": True,
    }
    assert violation.data["state"] == [[2, 3, 20]]
    assert violation.data["input"] == [5, 3, 10]


@pytest.mark.parametrize(
    "source",
    [
        # the module kind is chosen at run time: no configuration, no claim
        "import torch, torch.nn as nn\nrnn = getattr(nn, kind)(8, 16, 2)\nrnn(x, torch.zeros(1, 4, 16))\n",
        # a subclass of nn.LSTM may reinterpret its arguments
        "import torch, torch.nn as nn\nclass My(nn.LSTM):\n    pass\nm = My(8, 16, 2)\nm(x, torch.zeros(1, 4, 16))\n",
        # the same name rebound to another tensor in a branch: both branches must be wrong
        "import torch, torch.nn as nn\nrnn = nn.GRU(8, 16, 2)\nif deep:\n    h = torch.zeros(2, 4, 16)\n"
        "else:\n    h = torch.zeros(1, 4, 16)\nrnn(x, h)\n",
        # torch.zeros(shape) with a tuple variable is not a 1-D tensor
        "import torch, torch.nn as nn\nrnn = nn.GRU(8, 16, 2)\nshape = (2, 4, 16)\nrnn(x, torch.zeros(shape))\n",
        # hidden states of an unrelated module named like one
        "import torch\nhidden = torch.zeros(4, 1, 16)\nout = mlp(x, hidden)\n",
    ],
)
def test_unresolvable_or_unrelated_code_stays_silent(source):
    assert lint(source, [c for c in all_rules() if c.startswith("HS2")]) == []


def test_linter_runs_shape_rules_on_a_real_message():
    (finding,) = Linter(["HS202"]).check_source(all_rules()["HS202"].bad[0], "train.py")
    assert "wants (2*2, 3, 20)" in finding.message  # (num_layers * num_directions, batch, hidden_size)
    assert "bidirectional=True doubles it" in finding.message


def test_configuration_only_claims_do_not_rest_on_defaults_nobody_passes():
    wrapper = """\
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self, size, layers=1, dropout=0.2):
        super().__init__()
        self.rnn = nn.GRU(size, size, layers, dropout=dropout)
"""
    assert lint(wrapper, ["HS209"]) == []  # another file may build Encoder(8, layers=2)
    assert [f.code for f in lint(wrapper + "encoder = Encoder(8)\n", ["HS209"])] == ["HS209"]
    assert lint(wrapper + "encoder = Encoder(8, layers=2)\n", ["HS209"]) == []


HEADER = "import torch\nimport torch.nn as nn\n"


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("HS204", "gru = nn.GRU(4, 8)\nx = torch.randn(5, 3, 4)\nout, h = gru(x, torch.zeros(1, 6, 8))\n"),
        ("HS206", "gru = nn.GRU(4, 8)\nx = flat.view(5, 3, 6)\nout, h = gru(x)\n"),
        ("HS206", "gru = nn.GRU(4, 8, batch_first=True)\nx = torch.randn(3, 5, 4).transpose(0, 1)\n"
                  "out, h = gru(x, torch.zeros(1, 3, 8))\n"),
        ("HS207", "gru = nn.GRU(4, 8, bidirectional=True)\nout, h_n = gru(x)\nsummary = h_n[-1]\n"),
    ],
)
def test_more_bad_shapes(code, body):
    assert [f.code for f in lint(HEADER + body, [code])] == [code]


@pytest.mark.parametrize(
    "body",
    [
        # the input is re-laid out after h0 was sized from it: x.size(0) was the batch then
        "gru = nn.GRU(4, 8)\ndef f(x):\n    h0 = torch.zeros(1, x.size(0), 8)\n    x = x.transpose(0, 1)\n"
        "    return gru(x, h0)\n",
        # one direction each from h_n[0] and h_n[-1] of a one-layer bidirectional module
        "gru = nn.GRU(4, 8, bidirectional=True)\nout, h_n = gru(x)\nsummary = torch.cat([h_n[0], h_n[-1]], 1)\n",
        # a batchify-style stream: fixed batch, no DataLoader
        "gru = nn.GRU(4, 8)\nh = torch.zeros(1, 20, 8)\nfor i in range(0, data.size(0), 35):\n"
        "    out, h = gru(data[i:i + 35], h.detach())\n",
    ],
)
def test_more_lookalikes_stay_silent(body):
    assert lint(HEADER + body, [c for c in all_rules() if c.startswith("HS2")]) == []


def test_batch_axis_is_followed_through_an_embedding():
    source = HEADER + """\
class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 8)
        self.gru = nn.GRU(8, 16)

    def forward(self, tokens):
        h0 = torch.zeros(1, tokens.size({axis}), 16)
        return self.gru(self.embed(tokens), h0)
"""
    assert [f.code for f in lint(source.format(axis=0), ["HS204"])] == ["HS204"]
    assert lint(source.format(axis=1), ["HS204"]) == []


@pytest.mark.parametrize(
    "body",
    [
        # no input_size
        "rnn = nn.LSTM(hidden_size=8)\nout, h = rnn(x, (torch.zeros(1, 2, 8), torch.zeros(1, 2, 8)))\n",
        "rnn = nn.GRU(*sizes, dropout=0.5)\nout, h_n = rnn(x)\nh_n.view(b, -1)\n",
        "cell = nn.GRUCell()\nh = cell(x, torch.zeros(shape))\n",
    ],
)
def test_incomplete_constructions_do_not_crash_and_stay_silent(body):
    assert lint(HEADER + body, [c for c in all_rules() if c.startswith("HS2")]) == []


_CLASS_ATTRIBUTE = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    rnn_class = nn.{kind}

    def __init__(self):
        super().__init__()
        self.rnn = {call}(10, 20, batch_first=True)

    def forward(self, x):
        h0 = torch.zeros(x.size(0), 1, 20)
        return self.rnn(x, h0)
{more}"""


@pytest.mark.parametrize(("call", "more", "expected"), [
    ("self.rnn_class", "", ["HS201"]),
    ("Net.rnn_class", "", ["HS201"]),
    ("type(self).rnn_class", "", []),  # not followed: silent
    # a subclass rebinds it to another kind: either may run, and a batch-first h0 is wrong for both
    ("self.rnn_class", "\n\nclass Other(Net):\n    rnn_class = nn.LSTM\n", ["HS201"]),
    # another class's attribute of the same name holds something else
    ("self.rnn_class", "\n\nclass Other(nn.Module):\n    rnn_class = make_rnn\n", []),
])
def test_a_recurrent_class_held_in_a_class_attribute_is_that_class(call, more, expected):
    source = _CLASS_ATTRIBUTE.format(kind="GRU", call=call, more=more)
    assert [f.code for f in lint(source, ["HS201"])] == expected
