"""HS211 and the DataLoader batches it reads (``hs_lint/batches.py``): a state without a batch axis is reported
where the module's input is a default-collated batch of a shuffling loader, however the loop, the unpacking and
the hand-over to ``forward`` are spelled, in this module or in one that imports the model; it stays silent where
the input may really be one sequence (no batching, an ordered loader, a collate function, a squeezed or indexed
batch, a loader it cannot see)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in, lint

_MODEL = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset


class Net(nn.Module):
    def __init__(self, features=20, hidden=64, layers=2):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, layers)
        self.hidden, self.layers = hidden, layers

    def forward(self, x):
        h0 = torch.zeros(self.layers, self.hidden)
        c0 = torch.zeros(self.layers, self.hidden)
        return self.lstm(x, (h0, c0))[0]


"""

FED = {
    "tuple target": """\
        def fit(data):
            model = Net()
            for x, y in DataLoader(data, batch_size=8, shuffle=True):
                model(x).sum().backward()
        """,
    "enumerate and a bound loader": """\
        def fit(data):
            loader = DataLoader(data, 8, True)
            model = Net()
            for i, (x, y) in enumerate(loader):
                model(x).sum().backward()
        """,
    "moved to the device, renamed": """\
        def fit(data, device):
            loader = DataLoader(data, batch_size=8, shuffle=True)
            model = Net().to(device)
            for features, labels in tqdm(loader):
                inputs = features.to(device).float()
                model(inputs).sum().backward()
        """,
    "unpacked in the loop": """\
        def fit(data):
            model = Net()
            for batch in DataLoader(data, batch_size=8, shuffle=True):
                x, y = batch
                model(x).sum().backward()
        """,
    "through a helper": """\
        def step(model, x):
            return model(x).sum()


        def fit(data):
            model = Net()
            for x, y in DataLoader(data, batch_size=8, shuffle=True):
                step(model, x).backward()
        """,
    "a while loop taking next()": """\
        def fit(data):
            model = Net()
            batches = iter(DataLoader(data, batch_size=8, shuffle=True))
            while True:
                try:
                    x, y = next(batches)
                except StopIteration:
                    break
                model(x).sum().backward()
        """,
    "module level": """\
        data = TensorDataset(torch.randn(40, 20), torch.zeros(40))
        loader = DataLoader(data, batch_size=8, sampler=RandomSampler(data))
        model = Net()
        for x, y in loader:
            model(x).sum().backward()
        """,
}

SILENT = {
    "no automatic batching": """\
        def fit(data):
            model = Net()
            for x, y in DataLoader(data, batch_size=None, shuffle=True):
                model(x).sum().backward()
        """,
    "an ordered loader: consecutive samples may be steps": """\
        def fit(data):
            model = Net()
            for x, y in DataLoader(data, batch_size=8):
                model(x).sum().backward()
        """,
    "a collate function": """\
        def fit(data, collate):
            model = Net()
            for x, y in DataLoader(data, batch_size=8, shuffle=True, collate_fn=collate):
                model(x).sum().backward()
        """,
    "a batch of one, squeezed": """\
        def fit(data):
            model = Net()
            for x, y in DataLoader(data, batch_size=1, shuffle=True):
                model(x.squeeze(0)).sum().backward()
        """,
    "an indexed batch": """\
        def fit(data):
            model = Net()
            for batch in DataLoader(data, batch_size=8, shuffle=True):
                model(batch[0]).sum().backward()
        """,
    "a loader handed in": """\
        def fit(loader):
            model = Net()
            for x, y in loader:
                model(x).sum().backward()
        """,
    "reassigned to something else on one path": """\
        def fit(data, single):
            model = Net()
            for x, y in DataLoader(data, batch_size=8, shuffle=True):
                if single:
                    x = x[0]
                model(x).sum().backward()
        """,
    "one sequence": """\
        model = Net()
        model(torch.randn(7, 20))
        """,
}


def _source(driver: str) -> str:
    return _MODEL + "from tqdm import tqdm\n\n\n" + textwrap.dedent(driver)


@pytest.mark.parametrize("driver", FED.values(), ids=FED.keys())
def test_a_state_without_batch_axis_meeting_a_batch_is_reported_on_each_part(driver):
    found = lint(_source(driver), ["HS211"])
    assert [(f.line, f.code) for f in found] == [(13, "HS211"), (14, "HS211")]
    assert "is a shuffled batch of" in found[0].message and "build it as (2, batch, 64)" in found[0].message


@pytest.mark.parametrize("driver", SILENT.values(), ids=SILENT.keys())
def test_an_input_that_may_be_one_sequence_is_left_alone(driver):
    assert lint(_source(driver), ["HS211"]) == []


def test_a_batch_in_one_of_two_callers_is_enough():
    """The state is wrong for the call that passes a batch, whatever the other passes."""
    driver = textwrap.dedent(SILENT["one sequence"]) + "\n\n" + textwrap.dedent(FED["tuple target"])
    assert len(lint(_source(driver), ["HS211"])) == 2


_GRU = "import torch\nimport torch.nn as nn\n\n{module} = nn.{kind}\nh = {state}\nout = {module}({x}, h)\n"


@pytest.mark.parametrize(("state", "expected"), [
    ("torch.zeros(2, 3, 20).unsqueeze(0)", "4-D"),
    ("torch.zeros(2, 20)", "without a batch axis"),
    ("torch.zeros(20)", "1-D"),
])
def test_visible_ranks(state, expected):
    source = _GRU.format(module="gru", kind="GRU(10, 20, 2)", state=state, x="torch.randn(5, 3, 10)")
    found = lint(source, ["HS211"])
    assert len(found) == 1 and expected in found[0].message


@pytest.mark.parametrize(("kind", "state", "x"), [
    ("GRU(10, 20, 2)", "torch.zeros(2, 3, 20)", "torch.randn(5, 3, 10)"),
    ("GRU(10, 20, 2)", "torch.zeros(2, 20)", "torch.randn(5, 10)"),
    ("GRU(10, 20)", "torch.zeros(3, 20).unsqueeze(0)", "torch.randn(5, 3, 10)"),
    ("GRUCell(10, 20)", "torch.zeros(3, 1, 20).squeeze(1)", "torch.randn(3, 10)"),
])
def test_ranks_that_fit_the_input(kind, state, x):
    assert lint(_GRU.format(module="rnn", kind=kind, state=state, x=x), ["HS211"]) == []


_TRAIN = """\
import torch
from torch.utils.data import DataLoader

{imports}

loader = DataLoader(torch.load("data.pt"), batch_size=16, shuffle=True)
model = {build}
for words, labels in loader:
    loss = torch.nn.functional.cross_entropy(model(words), labels)
    loss.backward()
"""


@pytest.mark.parametrize(("imports", "build"), [
    ("from model import Net", "Net()"),
    ("import model as m", "m.Net(20, 64).to('cpu')"),
    ("from model import Net as Classifier", "Classifier(layers=2)"),
])
def test_a_batch_fed_by_a_module_that_imports_the_model(tmp_path, imports, build):
    files = {"model.py": _MODEL, "train.py": _TRAIN.format(imports=imports, build=build)}
    assert codes_in(tmp_path, files, "model.py") == [(13, "HS211"), (14, "HS211")]


@pytest.mark.parametrize("train", [
    _TRAIN.format(imports="from model import Net", build="Net()").replace("batch_size=16", "batch_size=None"),
    _TRAIN.format(imports="from model import Net", build="Net()").replace("model(words)", "model(words[0])"),
    _TRAIN.format(imports="from other import Net", build="Net()"),
])
def test_an_importer_that_feeds_no_batch(tmp_path, train):
    files = {"model.py": _MODEL, "other.py": _MODEL, "train.py": train}
    assert codes_in(tmp_path, files, "model.py") == []


_HELPER = """\
import torch
import torch.nn as nn


def {name}():
    return {state}


lstm = nn.LSTM(20, 64, num_layers=2)
x = torch.randn(5, 3, 20)
h0 = {name}()
out, _ = lstm(x, (h0, torch.zeros(2, 3, 64)))
"""


@pytest.mark.parametrize(("state", "code"), [("torch.zeros(2, 64)", "HS211"), ("torch.zeros(1, 3, 64)", "HS202"),
                                             ("torch.zeros(2, 3, 32)", "HS203")])
def test_a_state_a_helper_builds_is_judged_at_the_call(state, code):
    """The helper's own text says nothing wrong by itself: the finding is on the call that uses its value."""
    found = lint(_HELPER.format(name="initial_state", state=state), [code])
    assert [(f.line, f.code) for f in found] == [(11, code)]
    assert lint(_HELPER.format(name="initial_state", state="torch.zeros(2, 3, 64)"), [code]) == []
