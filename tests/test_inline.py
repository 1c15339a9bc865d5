"""One-expression helpers are read at their call sites (``hs_lint.inline``): the same mistake is found however
the code splits it, and a call stays as written whenever the helper's expression could mean something else there."""

from __future__ import annotations

import json
import shutil
import textwrap

import libcst as cst
import pytest

from conftest import FIXTURES, codes_in, hs_lint, lint
from hs_lint.inline import expand
from hs_lint.project.summary import ModuleSummary

HELPERS = """\
import torch
import torch.nn as nn


def last(out):
    return out[-1]


def pair(a, b):
    return a, b


def twice(x):
    return x + x


def first(a, b):
    return a


def chained(out):
    return last(out)


def loop(x):
    return loop(x)


def longer(out):
    step = out[-1]
    return step


def straight(x, n):
    '''A docstring, then assignments of locals each read once.'''
    scaled = x * 2
    state = torch.zeros(n, scaled.size(0))
    return state, n + 1


def reread(out):
    step = out[-1]
    return step, step


def rebinds(out):
    out = out[-1]
    return out


def shadowed(out):
    step = late
    late = out
    return step


def build(n):
    return nn.LSTM(n, 64)


def head(out):
    return torch.relu(out[-1])


def inline_def(out): return out[0]


LAYERS = 2


def stacked(n, layers=LAYERS, state=None):
    return nn.LSTM(n, 64, layers), state
"""


def _expanded(body: str) -> str:
    """The expanded code from the first line of ``body`` on (the helpers above it are expanded too)."""
    body = textwrap.dedent(body)
    code = expand(cst.parse_module(HELPERS + body)).module.code
    return code[code.index(body.splitlines()[0]):]


@pytest.mark.parametrize(("call", "expected"), [
    ("y = last(out)", "y = out[-1]"),
    ("y = chained(out)", "y = out[-1]"),
    ("y = f(pair(a, b))", "y = f((a, b))"),
    ("y = twice(z)", "y = (z + z)"),
    ("y = first(a, 1)", "y = a"),
    ("y = build(32)", "y = nn.LSTM(32, 64)"),
    ("y = (last(out))", "y = (out[-1])"),
    ("y = inline_def(out)", "y = out[0]"),
    ("y = stacked(32)", "y = (nn.LSTM(32, 64, LAYERS), None)"),
    ("y = stacked(32, state=a)", "y = (nn.LSTM(32, 64, LAYERS), a)"),
    ("y = stacked(32, 3)", "y = (nn.LSTM(32, 64, 3), None)"),
    ("y = longer(out)", "y = out[-1]"),  # a local read once is its value
    ("y = straight(z, 2)", "y = (torch.zeros(2, (z * 2).size(0)), 2 + 1)"),
])
def test_a_call_becomes_the_expression_its_helper_returns(call, expected):
    assert _expanded(f"def run(out, a, b, z, f):\n    {call}\n").strip().splitlines()[-1].strip() == expected


@pytest.mark.parametrize("call", [
    "y = reread(out)",  # a local read twice: its value would be evaluated twice
    "y = rebinds(out)",  # a parameter re-bound
    "y = shadowed(out)",  # a local read before it is bound
    "y = loop(out)",  # itself, forever
    "y = twice(make())",  # an argument evaluated twice
    "y = first(a, make())",  # an argument never evaluated
    "y = last(*outs)",  # unpacked arguments
    "y = last(out, 1)",  # too many
    "y = last(x=out)",  # no such parameter
])
def test_a_call_stays_as_written_when_its_expression_would_change_what_runs(call):
    body = f"def run(out, outs, a, make):\n    {call}\n"
    assert _expanded(body) == textwrap.dedent(body)


def test_a_name_the_caller_rebinds_keeps_the_call():
    body = "def run():\n    nn = None\n    return build(32)\n"
    assert _expanded(body) == body
    body = "def run(last):\n    return last(out)\n"
    assert _expanded(body) == body


def test_a_method_expands_only_inside_its_own_class():
    source = textwrap.dedent("""\
        class A:
            def step(self, x, h):
                return self.rnn(x, h)

            def forward(self, x, h):
                return self.step(x, h)


        class B:
            def forward(self, x, h):
                return self.step(x, h)
        """)
    code = expand(cst.parse_module(source)).module.code
    assert code.count("return self.rnn(x, h)") == 2 and code.count("return self.step(x, h)") == 1


def test_untouched_nodes_are_shared_and_made_nodes_point_at_the_code_as_written():
    module = cst.parse_module(HELPERS + "def run(out):\n    keep = 1\n    return head(out)\n")
    expansion = expand(module)
    run, written = expansion.module.body[-1], module.body[-1]
    assert run.body.body[0] is written.body.body[0]  # ``keep = 1``: the same node
    value = run.body.body[1].body[0].value  # ``torch.relu(out[-1])``
    call = written.body.body[1].body[0].value  # ``head(out)``
    helper = next(s for s in module.body if isinstance(s, cst.FunctionDef) and s.name.value == "head")
    assert expansion.original(value) is call  # the call's value: at the call
    assert expansion.original(value.args[0].value) is helper.body.body[0].body[0].value.args[0].value  # ``out[-1]``
    assert value.args[0].value.value is call.args[0].value  # the argument itself, shared
    assert call in expansion.replaced


@pytest.mark.parametrize(("imports", "expected"), [
    ("import torch.nn as nn", "nn.LSTM(32, 64)"),
    ("import torch.nn as tnn", "tnn.LSTM(32, 64)"),
    ("import torch", "torch.nn.LSTM(32, 64)"),
    ("import numpy", "_hs_0_nn.LSTM(32, 64)"),  # nothing here names torch.nn: the expansion imports it
])
def test_a_helper_of_another_module_is_spelled_with_the_callers_names(tmp_path, imports, expected):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "layers.py").write_text("import torch.nn as nn\n\n\ndef build(n):\n    return nn.LSTM(n, 64)\n")
    script = tmp_path / "train.py"
    script.write_text(f"{imports}\nfrom layers import build\n\nrnn = build(32)\n")
    from hs_lint.project.index import Projects

    expansion = expand(cst.parse_module(script.read_text()), Projects().view(script))
    assert expansion.module.code.splitlines()[-1] == f"rnn = {expected}"
    assert expansion.imports == ({"_hs_0_nn": "torch.nn"} if expected.startswith("_hs") else {})


@pytest.mark.parametrize("outer", [
    "from inner import build\n\n\ndef make(n):\n    return build(n)\n",
    "import inner\n\n\ndef make(n):\n    return inner.build(n)\n",
    "from inner import build as construct\n\n\ndef make(n):\n    return construct(n)\n",
])
def test_a_helper_of_a_helper_is_expanded_though_the_file_never_calls_it(tmp_path, outer):
    """``make`` (module ``outer``) calls ``build`` (module ``inner``); the script calls only ``make``: the expansion
    reaches ``build``'s expression all the same, as it does for helpers of one module."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "inner.py").write_text("import torch.nn as nn\n\n\ndef build(n):\n    return nn.LSTM(n, 64)\n")
    (tmp_path / "outer.py").write_text(outer)
    script = tmp_path / "train.py"
    script.write_text("from outer import make\n\nrnn = make(32)\n")
    from hs_lint.project.index import Projects
    expansion = expand(cst.parse_module(script.read_text()), Projects().view(script))
    last = expansion.module.code.splitlines()[-1]
    assert last.startswith("rnn = _hs_") and last.endswith(".LSTM(32, 64)")
    assert expansion.imports[last[len("rnn = "):-len(".LSTM(32, 64)")]] == "torch.nn"


def test_a_helper_module_s_own_names_are_read_as_imports_of_it(tmp_path):
    """``nn.LSTM(n, 64, batch_first=args.batch_first)`` in ``layers``: ``args`` is ``layers.args``, whose default
    run the project knows (batch_first False), so a (2, 8, 64) state for a one-layer LSTM is wrong either way."""
    (tmp_path / "pyproject.toml").write_text("")
    layers = ("import argparse\nimport torch.nn as nn\n\nparser = argparse.ArgumentParser()\n"
              "parser.add_argument('--batch-first', action='store_true')\nargs = parser.parse_args()\n\n\n"
              "def build(n):\n    return nn.LSTM(n, 64, batch_first=args.batch_first)\n")
    script = ("import torch\nfrom layers import build\n\nargs = None\nrnn = build(32)\nh0 = torch.zeros(2, 8, 64)\n"
              "c0 = torch.zeros(2, 8, 64)\nout, _ = rnn(torch.randn(20, 8, 32), (h0, c0))\n")
    assert codes_in(tmp_path, {"layers.py": layers, "train.py": script}, "train.py") == [(6, "HS202"), (7, "HS202")]


def test_a_builtin_the_caller_shadows_keeps_the_call(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "sizes.py").write_text("def count(xs):\n    return len(xs)\n")
    script = tmp_path / "train.py"
    script.write_text("from sizes import count\n\n\ndef run(xs, len):\n    return count(xs)\n")
    from hs_lint.project.index import Projects

    assert expand(cst.parse_module(script.read_text()), Projects().view(script)).module.code == script.read_text()


def test_a_template_survives_the_summary_store():
    from hs_lint.facts import FileFacts
    from hs_lint.project.summarise import summarise

    summary = summarise(FileFacts(cst.parse_module(HELPERS)), "helpers")
    assert summary.functions["build"].template == ("nn.LSTM(n, 64)", {"nn": "torch.nn"}, {})
    assert summary.functions["stacked"].template == ("nn.LSTM(n, 64, layers), state", {
        "nn": "torch.nn", "LAYERS": "helpers.LAYERS", "None": "builtins.None"}, {"layers": "LAYERS", "state": "None"})
    assert summary.functions["longer"].template == ("out[-1]", {}, {})
    assert summary.functions["reread"].template is None
    assert ModuleSummary.from_json(json.loads(json.dumps(summary.as_json()))) == summary


@pytest.mark.parametrize("spelling", [
    "logits, state = run_step(model, inputs, state)",
    "logits, state = steps.run_step(model, inputs, state)",
    "logits, state = run_step(model, inputs=inputs, state=state)",
])
def test_a_state_carried_through_another_module_s_helper_is_found(tmp_path, spelling):
    helper = "def run_step(model, inputs, state):\n    return model(inputs, state)\n"
    script = textwrap.dedent(f"""\
        import torch
        import torch.nn as nn
        import steps
        from steps import run_step

        model = nn.GRU(8, 16)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        state = torch.zeros(1, 4, 16)
        for inputs in torch.randn(10, 5, 4, 8):
            {spelling}
            loss = logits.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        """)
    found = codes_in(tmp_path, {"steps.py": helper, "train.py": script}, "train.py")
    assert [f for f in found if f[1] == "HS101"] == [(10, "HS101")]
    detached = helper.replace("model(inputs, state)", "model(inputs, state.detach())")
    assert [f for f in codes_in(tmp_path / "ok", {"steps.py": detached, "train.py": script}, "train.py")
            if f[1] == "HS101"] == []


def test_a_finding_inside_a_helper_s_expression_is_placed_there_and_one_on_its_value_at_the_call():
    source = HELPERS + textwrap.dedent("""\
        rnn = nn.LSTM(8, 16, batch_first=True)
        out, _ = rnn(torch.randn(4, 5, 8))
        y = head(out)
        z = last(out)
        """)
    lines = source.splitlines()
    expected = [(lines.index("    return torch.relu(out[-1])") + 1, "HS207"), (lines.index("z = last(out)") + 1, "HS207")]
    assert [(f.line, f.code) for f in lint(source, ["HS207"])] == expected


def test_fixing_a_project_never_writes_a_helper_into_its_callers(tmp_path):
    project = tmp_path / "step_helpers"
    shutil.copytree(FIXTURES / "projects" / "step_helpers", project)
    before = {p.name: p.read_text() for p in project.glob("*.py")}
    result = hs_lint("check", "--fix", "--unsafe-fixes", "--no-cache", ".", cwd=project)
    assert result.returncode in (0, 1), result.stderr
    after = {p.name: p.read_text() for p in project.glob("*.py")}
    assert "utils.run_step(model, inputs, state)" in after["train.py"]
    assert "final_step(outputs)" in after["model.py"] and "outputs[-1]" not in after["model.py"]
    assert after["utils.py"] == before["utils.py"]


def test_a_default_of_another_module_s_helper_is_read_from_that_module(tmp_path):
    """``build(32)`` leaves ``layers`` at ``LAYERS = 2`` of ``layers.py``: a one-layer h0 is wrong."""
    layers = "import torch.nn as nn\n\nLAYERS = 2\n\n\ndef build(n, layers=LAYERS):\n    return nn.LSTM(n, 64, layers)\n"
    script = ("import torch\nfrom layers import build\n\nrnn = build(32)\nh0 = torch.zeros(1, 8, 64)\n"
              "out, _ = rnn(torch.randn(20, 8, 32), (h0, h0))\n")
    assert [f for f in codes_in(tmp_path, {"layers.py": layers, "train.py": script}, "train.py")] == [(5, "HS202")]
    passed = script.replace("build(32)", "build(32, 1)")
    assert codes_in(tmp_path / "ok", {"layers.py": layers, "train.py": passed}, "train.py") == []


_PACKING = """\
import torch.nn as nn
from helpers import packed


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x, lengths):
        out, h = self.gru(packed(x, lengths))
        return self.head(out[:, 0])
"""


@pytest.mark.parametrize("body", [
    "    return pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)\n",
    "    batch = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)\n    return batch\n",
])
def test_a_call_the_screen_needs_may_be_in_a_helper_of_another_module(tmp_path, body):
    """HS604's screen asks for a call of ``pack_padded_sequence``: in the helper's lines, it is there."""
    helpers = "from torch.nn.utils.rnn import pack_padded_sequence\n\n\ndef packed(x, lengths):\n" + body
    assert codes_in(tmp_path, {"helpers.py": helpers, "model.py": _PACKING}, "model.py") == [(13, "HS604")]


@pytest.mark.parametrize("factory", [
    "def make_rnn(n_in, width):\n    return nn.LSTM(n_in, width, batch_first=True)\n",
    'def make_rnn(n_in, width):\n    return getattr(nn, "LSTM")(n_in, width, batch_first=True)\n',
    "Cell = nn.LSTM\n\n\ndef make_rnn(n_in, width):\n    return Cell(n_in, width, batch_first=True)\n",
])
def test_a_module_built_by_another_module_s_helper_passes_the_screen_however_the_class_is_named(tmp_path, factory):
    """The screen asks whether an imported module may build a recurrent layer, from its text alone."""
    utils = "import torch.nn as nn\n\n" + factory
    probe = ("import torch\n\nfrom utils import make_rnn\n\nencoder = make_rnn(32, 64)\n"
             "h0 = torch.zeros(2, 8, 64)\nc0 = torch.zeros(2, 8, 64)\nout, _ = encoder(torch.randn(8, 20, 32), (h0, c0))\n")
    assert codes_in(tmp_path, {"utils.py": utils, "probe.py": probe}, "probe.py") == [(6, "HS202"), (7, "HS202")]


@pytest.mark.parametrize("probe", [
    "from utils import Cell\n\nencoder = Cell(32, 64, batch_first=True)\n",
    "import utils\n\nencoder = utils.Cell(32, 64, batch_first=True)\n",
    "from utils import Cell as Recurrent\n\nencoder = Recurrent(32, 64, batch_first=True)\n",
])
def test_a_name_another_module_gives_a_recurrent_class_is_that_class(tmp_path, probe):
    utils = "import torch.nn as nn\n\nCell = nn.LSTM\n"
    probe = ("import torch\n" + probe + "h0 = torch.zeros(2, 8, 64)\nout, _ = encoder(torch.randn(8, 20, 32), "
             "(h0, torch.zeros(1, 8, 64)))\n")
    line = probe.splitlines().index("h0 = torch.zeros(2, 8, 64)") + 1
    assert codes_in(tmp_path, {"utils.py": utils, "probe.py": probe}, "probe.py") == [(line, "HS202")]


def test_a_name_another_module_sets_to_two_classes_is_a_family(tmp_path):
    """``Cell`` is nn.LSTM or nn.GRU: a two-layer h0 is wrong for either one-layer module (HS202); whether the state
    should be a tuple depends on the run (no HS205)."""
    utils = "import torch.nn as nn\n\nCell = nn.LSTM\nif FAST:\n    Cell = nn.GRU\n"
    probe = ("import torch\nfrom utils import Cell\n\nencoder = Cell(32, 64, batch_first=True)\n"
             "h0 = torch.zeros(2, 8, 64)\nout, _ = encoder(torch.randn(8, 20, 32), (h0, torch.zeros(1, 8, 64)))\n")
    assert codes_in(tmp_path, {"utils.py": utils, "probe.py": probe}, "probe.py") == [(5, "HS202")]
    probe = probe.replace("torch.zeros(2, 8, 64)", "torch.zeros(1, 8, 64)")
    assert codes_in(tmp_path, {"utils.py": utils, "probe.py": probe}, "probe.py") == []
