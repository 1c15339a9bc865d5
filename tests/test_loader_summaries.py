"""HS204 follows a DataLoader built by a function (of this module or another) that returns it: the function's
summary gives where its returns put the loader and its ``batch_size``/``drop_last`` in its parameters, which the
caller reads with its own arguments; and a state sized by an initialiser's parameter is sized by what the call in
the loop's function passes. Silent where the loader drops its last batch, or a size cannot be followed."""

from __future__ import annotations

import pytest

from conftest import codes_in

_MODEL = """\
import torch
import torch.nn as nn


class CharLSTM(nn.Module):
    def __init__(self, vocab=50, width=64, layers=2):
        super().__init__()
        self.layers, self.width = layers, width
        self.embed = nn.Embedding(vocab, 16)
        self.lstm = nn.LSTM(16, width, layers, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def init_hidden(self, batch):
        return (torch.zeros(self.layers, batch, self.width), torch.zeros(self.layers, batch, self.width))

    def forward(self, x, hidden):
        out, hidden = self.lstm(self.embed(x), hidden)
        return self.head(out), hidden
"""

_TRAIN = (_MODEL + """

def train(opts):
    model = CharLSTM()
    optimizer = torch.optim.Adam(model.parameters())
    {get}
    for (chunk,) in loader:
        hidden = model.init_hidden({size})
        out, hidden = model(chunk[:, :-1], hidden)
        loss = nn.functional.cross_entropy(out.flatten(0, 1), chunk[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
""").replace("import torch.nn as nn\n", "import torch.nn as nn\n\nfrom data import *\n", 1)

_DATA = """\
import torch
from torch.utils.data import DataLoader, TensorDataset

BATCH = 32


def {name}({params}):
    dataset = TensorDataset(torch.randint(0, 50, (1000, 21)))
{body}
"""

_LOADERS = {
    "a tuple, built in a name": ("make_loader", "opts", "    loader = DataLoader(dataset, batch_size=opts.batch_size, "
                                 "shuffle=True)\n    return dataset, loader", "dataset, loader = make_loader(opts)",
                                 "opts.batch_size"),
    "the whole return": ("get_loader", "batch_size, shuffle=True", "    return DataLoader(dataset, batch_size, shuffle)",
                         "loader = get_loader(opts.batch_size)", "opts.batch_size"),
    "first of a tuple": ("loaders", "bs", "    return DataLoader(dataset, batch_size=bs, shuffle=True), dataset",
                         "loader, _ = loaders(bs=opts.batch_size)", "opts.batch_size"),
    "a constant of its module": ("make_loader", "", "    return DataLoader(dataset, batch_size=BATCH, shuffle=True)",
                                 "loader = make_loader()", "32"),
    "indexed from the result": ("make_loader", "opts", "    loader = DataLoader(dataset, batch_size=opts.batch_size, "
                                "shuffle=True)\n    return dataset, loader", "made = make_loader(opts)\n    loader = made[1]",
                                "opts.batch_size"),
    "drop_last given False": ("make_loader", "opts, drop=False", "    return DataLoader(dataset, batch_size=opts.batch_size, "
                              "drop_last=drop)", "loader = make_loader(opts)", "opts.batch_size"),
}


@pytest.mark.parametrize("spelling", sorted(_LOADERS))
@pytest.mark.parametrize("where", ["from data import name", "from data import *", "import data", "this module"])
def test_a_fixed_state_meets_the_short_last_batch_of_a_loader_a_function_returns(tmp_path, spelling, where):
    name, params, body, get, size = _LOADERS[spelling]
    data = _DATA.format(name=name, params=params, body=body)
    train = _TRAIN.format(get=get, size=size)
    if where == "from data import name":
        train = train.replace("from data import *", f"from data import {name}")
    elif where == "import data":
        train = train.replace("from data import *", "import data").replace(f"= {name}(", f"= data.{name}(")
    if where == "this module":
        files = {"train.py": data + train.replace("from data import *\n", "")}
    else:
        files = {"data.py": data, "train.py": train}
    found = codes_in(tmp_path, files, "train.py")
    assert [line for line, code in found if code == "HS204"] == [_line_of(files["train.py"], "model.init_hidden(")]


@pytest.mark.parametrize("body, get, size", [
    ("    return DataLoader(dataset, batch_size=opts.batch_size, shuffle=True, drop_last=True)",
     "loader = make_loader(opts)", "opts.batch_size"),
    ("    return DataLoader(dataset, batch_size=opts.batch_size, drop_last=drop)",  # the caller drops it
     "loader = make_loader(opts, drop=True)", "opts.batch_size"),
    ("    return DataLoader(dataset, batch_size=opts.batch_size, drop_last=drop)",  # the default drops it
     "loader = make_loader(opts)", "opts.batch_size"),
    ("    return DataLoader(dataset, batch_size=opts.batch_size)",  # sized by the batch
     "loader = make_loader(opts)", "chunk.size(0)"),
    ("    return DataLoader(dataset, batch_size=opts.eval_batch_size)",  # another size than the state's
     "loader = make_loader(opts)", "opts.batch_size"),
    ("    return DataLoader(dataset, **opts.loader_args)",  # unpacked: not followed
     "loader = make_loader(opts)", "opts.batch_size"),
])
def test_lookalikes_are_silent(tmp_path, body, get, size):
    params = "opts, drop=True" if "make_loader(opts)" in get and "drop_last=drop" in body else "opts, drop=False"
    data = _DATA.format(name="make_loader", params=params, body=body)
    found = codes_in(tmp_path, {"data.py": data, "train.py": _TRAIN.format(get=get, size=size)}, "train.py")
    assert "HS204" not in [code for _, code in found]


def test_a_while_loop_that_calls_next_on_the_loader_is_followed(tmp_path):
    name, params, body, get, size = _LOADERS["a tuple, built in a name"]
    train = _TRAIN.format(get=get, size=size).replace("from data import *", f"from data import {name}").replace(
        "    for (chunk,) in loader:\n",
        "    batches = iter(loader)\n    while True:\n        try:\n            (chunk,) = next(batches)\n"
        "        except StopIteration:\n            break\n")
    data = _DATA.format(name=name, params=params, body=body)
    assert [code for _, code in codes_in(tmp_path, {"data.py": data, "train.py": train}, "train.py")].count(
        "HS204") == 1


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


# -- the model's class in another module: its summary says which parameter of init_hidden sizes the state's batch

_LOOP = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

{imports}


def train(opts):
    loader = DataLoader(TensorDataset(torch.randint(0, 50, (1000, 21))), batch_size=opts.batch_size, shuffle=True{drop})
    model = {build}
    optimizer = torch.optim.Adam(model.parameters())
{before}    for (chunk,) in loader:
{state}        out, hidden = model(chunk[:, :-1], hidden)
        hidden = tuple(h.detach() for h in hidden)
        loss = nn.functional.cross_entropy(out.flatten(0, 1), chunk[:, 1:].flatten())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""

_IMPORTS = {
    "from nets import CharLSTM": ("from nets import CharLSTM", "CharLSTM()", {"nets.py": _MODEL}),
    "import nets": ("import nets", "nets.CharLSTM()", {"nets.py": _MODEL}),
    "from nets import *": ("from nets import *", "CharLSTM()", {"nets.py": _MODEL}),
    "a package": ("from lm.nets import CharLSTM", "CharLSTM().to('cpu')",
                  {"lm/__init__.py": "", "lm/nets.py": _MODEL}),
    "re-exported by a package": ("from lm import CharLSTM", "CharLSTM()",
                                 {"lm/__init__.py": "from .nets import CharLSTM\n", "lm/nets.py": _MODEL}),
    "a subclass here": ("from nets import CharLSTM\n\n\nclass Tiny(CharLSTM):\n    pass", "Tiny()",
                        {"nets.py": _MODEL}),
    # the initialiser is inherited from a base class of another module; forward is written here
    "forward here, the rest in a base": (
        "from nets import Base\n\n\nclass CharLSTM(Base):\n    def forward(self, x, hidden):\n"
        "        out, hidden = self.lstm(self.embed(x), hidden)\n        return self.head(out), hidden",
        "CharLSTM()", {"nets.py": _MODEL[:_MODEL.index("    def forward")].replace("class CharLSTM", "class Base")}),
}

_CALLS = {
    "in the loop": ("", "        hidden = model.init_hidden({size})\n"),
    "by keyword": ("", "        hidden = model.init_hidden(batch={size})\n"),
    "before the loop": ("    hidden = model.init_hidden({size})\n", ""),
    "through a helper of a third module": (
        "", "        hidden = fresh_state(model, {size})\n"),
}

_HELPERS = "def fresh_state(model, rows):\n    return model.init_hidden(rows)\n"


def _project(imports: str, call: str, size: str = "opts.batch_size", drop: str = "") -> tuple[dict[str, str], str]:
    statement, build, others = _IMPORTS[imports]
    before, state = (part.format(size=size) for part in _CALLS[call])
    if "fresh_state" in state:
        statement += "\nfrom states import fresh_state"
    loop = _LOOP.format(imports=statement, build=build, drop=drop, before=before, state=state)
    return {**others, "states.py": _HELPERS, "train.py": loop}, (before + state).strip()


@pytest.mark.parametrize("call", sorted(_CALLS))
@pytest.mark.parametrize("imports", sorted(_IMPORTS))
def test_a_class_of_another_module_sized_by_the_loop_is_reported_at_the_call(tmp_path, imports, call):
    files, written = _project(imports, call)
    found = codes_in(tmp_path, files, "train.py")
    assert [line for line, code in found if code == "HS204"] == [_line_of(files["train.py"], written)]
    assert codes_in(tmp_path, files, "nets.py" if "nets.py" in files else "lm/nets.py") == []


@pytest.mark.parametrize("size, drop", [
    ("chunk.size(0)", ""),  # sized by the batch itself
    ("opts.batch_size", ", drop_last=True"),  # the short batch is dropped
    ("1", ""),  # another size: not the loader's (it may be a generation run)
    ("opts.eval_batch_size", ""),
])
def test_a_class_of_another_module_lookalikes_are_silent(tmp_path, size, drop):
    files, _ = _project("from nets import CharLSTM", "in the loop", size, drop)
    assert "HS204" not in [code for _, code in codes_in(tmp_path, files, "train.py")]


def test_a_method_whose_parameter_is_not_the_states_batch_is_silent(tmp_path):
    """``state_batch`` comes from the state the model is given: a parameter that sizes something else (here the
    layers) is not the batch, and a method whose result never reaches the module says nothing."""
    model = _MODEL.replace("def init_hidden(self, batch):\n        return (torch.zeros(self.layers, batch, "
                           "self.width), torch.zeros(self.layers, batch, self.width))",
                           "def init_hidden(self, batch):\n        return (torch.zeros(batch, 4, self.width), "
                           "torch.zeros(batch, 4, self.width))")
    assert model != _MODEL
    files, _ = _project("from nets import CharLSTM", "in the loop")
    files["nets.py"] = model
    assert "HS204" not in [code for _, code in codes_in(tmp_path, files, "train.py")]


@pytest.mark.parametrize("guard", [
    "        if step > len(loader.dataset) // opts.batch_size:\n            break\n",
    "        full = len(loader.dataset) // opts.batch_size\n        if step > full:\n            break\n",
    "        if chunk.size(0) < opts.batch_size:\n            continue\n",
])
@pytest.mark.parametrize("imports", ["from nets import CharLSTM", "a subclass here"])
def test_a_loop_that_may_leave_before_the_short_batch_is_silent(tmp_path, guard, imports):
    """The loop stops (or skips) before the smaller last batch, under a condition read or not: HS204 says nothing
    (HS213/HS214 judge the skips they can read)."""
    files, _ = _project(imports, "in the loop")
    files["train.py"] = files["train.py"].replace(
        "    for (chunk,) in loader:\n", "    for step, (chunk,) in enumerate(loader, 1):\n" + guard)
    assert guard.strip().splitlines()[0].strip() in files["train.py"]
    assert "HS204" not in [code for _, code in codes_in(tmp_path, files, "train.py")]


@pytest.mark.parametrize(("loader", "expected"), [
    ("DataLoader(TensorDataset(torch.randint(0, 50, (1000, 21))), batch_size=BATCH, shuffle=True)", ["HS204"]),
    ("DataLoader(TensorDataset(torch.randint(0, 50, (1000, 21))), batch_size=BATCH, drop_last=True)", []),
    ("DataLoader(TensorDataset(torch.randint(0, 50, (1000, 21))), batch_size=size_from_env())", []),  # not read
])
def test_a_loader_built_at_the_top_of_another_module_is_read(tmp_path, loader, expected):
    """``from data import loader``: the module-level loader's class and the arguments that decide its batches
    travel in its module's summary."""
    data = _DATA.format(name="unused", params="", body="    return None") + f"\nloader = {loader}\n"
    train = _TRAIN.format(get="", size="32").replace("from data import *", "from data import loader")
    found = codes_in(tmp_path, {"data.py": data, "train.py": train}, "train.py")
    assert [code for _, code in found if code == "HS204"] == expected
