"""The screen before libcst: conservative on every example, precise on what has nothing recurrent,
and the only thing a file with nothing recurrent costs (libcst and the rules are never imported)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT, fixture_files
from hs_lint import facts, prefilter, screen_tree
from hs_lint.catalogue import rule_codes
from hs_lint.prefilter import may_have_findings
from hs_lint.rules import all_rules
from hs_lint.rules.graph import _DROPPED_EFFECT

ALL_CODES = tuple(all_rules())
# Codes another branch may add: the screen does not know them, so they must pass every file.
UNKNOWN = ("HS109", "HS399", "HS498", "HS699")


def _examples() -> list[tuple[str, str]]:
    sources = [(path.name, path.read_text(encoding="utf-8")) for path in fixture_files()]
    for code, rule in all_rules().items():
        sources += [(f"{code}-bad-{i}", s) for i, s in enumerate(rule.bad)]
        sources += [(f"{code}-good-{i}", s) for i, s in enumerate(rule.good)]
    return sources


EXAMPLES = _examples()


def test_the_catalogue_read_from_the_rule_modules_text_is_the_imported_one():
    assert rule_codes() == {code: rule.default_enabled for code, rule in all_rules().items()}


def test_the_screen_knows_torch_as_the_facts_do():
    assert screen_tree.TORCH_RECURRENT == frozenset(facts._TORCH_RECURRENT)
    assert screen_tree.DROPPED_METHODS == frozenset(_DROPPED_EFFECT)
    assert screen_tree.TENSOR_FACTORIES == facts.TENSOR_FACTORIES
    assert screen_tree.STATE_INIT_NAME.pattern == facts._STATE_INIT_NAME.pattern


@pytest.mark.parametrize(("name", "source"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_flake8s_tree_and_the_screens_own_parse_decide_alike(name, source):
    tree = ast.parse(source)
    for code in ALL_CODES:
        assert may_have_findings(source, [code], tree) == may_have_findings(source, [code]), code


@pytest.mark.parametrize(("name", "source"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_a_code_the_screen_does_not_know_passes_every_file(name, source):
    for code in UNKNOWN:
        assert may_have_findings(source, [code])
        assert may_have_findings(source, ["HS502", code])


@pytest.mark.parametrize(
    "source",
    [
        # an MLP whose layer is called "hidden", with a training loop and a state_dict
        """\
        import torch
        import torch.nn as nn

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Linear(4, 8)

            def forward(self, x):
                return self.hidden(x).relu()

        model = MLP()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            loss = (model(x) - y).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        torch.save(model.state_dict(), "mlp.pt")
        """,
        # an optimizer's own code: state, step, closures, but nothing recurrent
        """\
        import torch

        class SGD(torch.optim.Optimizer):
            def step(self, closure=None):
                loss = closure() if closure is not None else None
                for group in self.param_groups:
                    for p in group["params"]:
                        state = self.state[p]
                        p.add_(p.grad, alpha=-group["lr"])
                return loss
        """,
        # a name "LSTM" that is not torch's
        """\
        from mylib import LSTM
        for x in xs:
            y = LSTM(x)
            y.backward()
        """,
    ],
    ids=["mlp-named-hidden", "optimizer", "foreign-LSTM"],
)
def test_files_with_nothing_recurrent_are_skipped_by_every_rule(source):
    assert not may_have_findings(textwrap.dedent(source), ALL_CODES)


IMPORTS_A_SIBLING = """\
from .models import Encoder
import pkg.layers as layers

model = Encoder()
for x in loader:
    out = model(x)
    out.sum().backward()
"""


def test_the_project_index_lets_a_file_that_imports_recurrent_code_through():
    assert not may_have_findings(IMPORTS_A_SIBLING, ALL_CODES)  # on its own: nothing recurrent
    assert not may_have_findings(IMPORTS_A_SIBLING, ALL_CODES, elsewhere={"other.Encoder", "Decoder"})
    assert may_have_findings(IMPORTS_A_SIBLING, ALL_CODES, elsewhere={".models"})
    assert may_have_findings(IMPORTS_A_SIBLING, ALL_CODES, elsewhere={"Encoder"})
    assert may_have_findings(IMPORTS_A_SIBLING, ["HS101"], elsewhere=lambda name: name == "pkg.layers")
    # shape rules read configurations of modules built here or carried by another module's summary; HS209
    # judges a construction where it is written, or where another module's one-expression helper builds it
    assert may_have_findings(IMPORTS_A_SIBLING, ["HS201"], elsewhere=lambda name: name == "pkg.layers")
    assert may_have_findings(IMPORTS_A_SIBLING, ["HS209"], elsewhere=lambda name: name == "pkg.layers")
    assert not may_have_findings(IMPORTS_A_SIBLING, ["HS209"], elsewhere=lambda name: False)
    asked: list[str] = []
    may_have_findings(IMPORTS_A_SIBLING, ["HS101"], elsewhere=lambda name: asked.append(name) or False)
    assert ".models.Encoder" in asked and "pkg.layers" in asked


@pytest.mark.parametrize("source", [
    "from .rnn import LSTM, GRU\n__all__ = ['LSTM', 'GRU']\n",  # a package that re-exports its models
    "from .rnn import *\n__all__ = ['LSTM']\n",
    "import pkg.rnn as rnn\nfrom .rnn import LSTM as L\n\nSIZES = {'hidden': 3}\n",
    "from .rnn import *\n__all__ = ['LSTM']\nif __all__ != sorted(__all__):\n    raise AssertionError('sort it')\n",
])
def test_a_file_that_calls_nothing_has_nothing_to_judge_whatever_it_imports(source):
    known = {".rnn.LSTM", ".rnn.GRU", ".rnn.*", ".rnn", "pkg.rnn"}.__contains__
    assert not may_have_findings(source, ALL_CODES, elsewhere=known)
    # one call of something not a builtin is enough: the import says what the file's calls are about
    assert may_have_findings(source + "model = build(3)\n", ALL_CODES, elsewhere=known)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True)


def test_version_imports_neither_libcst_nor_the_rules():
    result = _python("""\
        import sys
        from hs_lint.cli import main
        try:
            main(["--version"])
        except SystemExit:
            pass
        print(sorted(m for m in sys.modules if m == "libcst" or m.startswith(("hs_lint.rules", "hs_lint.facts"))))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]", result.stdout


def test_checking_files_with_nothing_recurrent_never_loads_libcst(tmp_path):
    (tmp_path / "mlp.py").write_text(textwrap.dedent(EXAMPLES_MLP))
    (tmp_path / "plain.py").write_text("import os\nprint(os.getcwd())\n")
    result = _python(f"""\
        import sys
        from hs_lint.cli import main
        code = main(["check", "--no-cache", "-j", "1", {str(tmp_path)!r}])
        print(code, "libcst" in sys.modules, any(m.startswith("hs_lint.rules") for m in sys.modules))
    """)
    assert result.stdout.split() == ["0", "False", "False"], result.stderr


def test_flake8_with_the_plugin_loads_libcst_only_for_a_recurrent_file(tmp_path):
    (tmp_path / "mlp.py").write_text(textwrap.dedent(EXAMPLES_MLP))
    (tmp_path / "carry.py").write_text(CARRY)
    probe = """\
        import sys
        from flake8.main.application import Application
        app = Application()
        app.run(["--isolated", "-j", "1", "--select", "HS", {files}])
        print("RESULT", app.result_count, "libcst" in sys.modules)
    """
    clean = _python(probe.format(files=repr(str(tmp_path / "mlp.py"))))
    assert clean.stdout.splitlines()[-1] == "RESULT 0 False", clean.stderr
    dirty = _python(probe.format(files=f"{str(tmp_path / 'mlp.py')!r}, {str(tmp_path / 'carry.py')!r}"))
    # The recurrent file is analysed (one finding) in the plugin's worker process: flake8's own never loads libcst.
    assert dirty.stdout.splitlines()[-1] == "RESULT 1 False", dirty.stderr + dirty.stdout


EXAMPLES_MLP = """\
import torch.nn as nn

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 8)

    def forward(self, x):
        return self.hidden(x)
"""

CARRY = """\
import torch.nn as nn
rnn = nn.GRU(4, 8)
h = None
for x in xs:
    out, h = rnn(x, h)
    out.sum().backward()
"""


SPELLINGS = ["f(x, h)", "f(h)", "f(*h)", "f(x, *rest, h)", "f(**kw)", "f(x, hx=h)", "f(hx=h)", "f(h, x)",
             "f(x, h=h)", "f(x, *h)", "f(x, **h)", "f(hx=h, *xs)", "self.f(x, self.h)", "f(x, (h, c))"]


@pytest.mark.parametrize("call", SPELLINGS)
@pytest.mark.parametrize("target", ["out, h", "out, (h, c)", "out, self.h", "(out, h)", "out, *h"])
def test_the_carried_shape_is_screened_as_the_facts_read_it(call, target):
    source = f"def train(f, xs, h, c):\n    for x in xs:\n        {target} = {call}\n        out.backward()\n"
    from hs_lint.engine import Linter

    found = [f.code for f in Linter(["HS101"], prefilter=False).check_source(source, "x.py")]
    assert may_have_findings(source, ["HS101"]) or not found
    if call in ("f(h)", "f(*h)", "f(**kw)", "f(h, x)"):  # the state is never the first, nor starred, argument
        assert not may_have_findings(source, ["HS101"])


@pytest.mark.parametrize("call", ["f(x, h)", "f(x, hx=h)", "f(h)"])
@pytest.mark.parametrize("read_back", ["out, h = result", "out = result[0]\n        h = result[1]",
                                       "h = result[1]", "out, (h, c) = result"])
def test_a_result_held_in_a_temporary_and_read_back_is_screened_as_the_facts_read_it(call, read_back):
    """``result = f(x, h)`` then ``out, h = result`` / ``h = result[1]``: the facts' heuristic call."""
    source = f"def train(f, xs, h, c):\n    for x in xs:\n        result = {call}\n        {read_back}\n" \
             "        result.backward()\n"
    found = _unscreened(source, ["HS101"])
    assert may_have_findings(source, ["HS101"]) or not found
    if call == "f(x, h)" and read_back.startswith("out"):
        assert found == ["HS101"]  # so the screen meets files with a finding


def _unscreened(source: str, codes) -> list[str]:
    from hs_lint.engine import Linter

    return [f.code for f in Linter(list(codes), prefilter=False).check_source(source, "x.py")]


# (codes, source that the screen skips: a lookalike with nothing to find, source it must pass: it has a finding)
PRECISE = {
    "pack and pad only named in a docstring": (
        ["HS601", "HS602", "HS603", "HS604", "HS605"],
        '''\
        """Batches are packed with pack_padded_sequence(x, lengths.cuda()) and read with pad_packed_sequence."""
        import torch.nn as nn

        lstm = nn.LSTM(8, 16)
        ''',
        '''\
        import torch.nn as nn
        from torch.nn.utils.rnn import pack_padded_sequence as pack

        lstm = nn.LSTM(8, 16, batch_first=True)
        out, h = lstm(pack(x, lengths, enforce_sorted=False))
        ''',
    ),
    "lengths moved in another function": (
        ["HS602"],
        '''\
        import torch
        from torch.nn.utils.rnn import pack_padded_sequence

        def move(lengths, device):
            lengths = lengths.to(device)
            return lengths

        def pack(x, lengths):
            return pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        ''',
        '''\
        import torch
        from torch.nn.utils import rnn as rnn_utils

        device = torch.device("cuda")
        def pack(x, lengths):
            n = lengths.to(device)
            return rnn_utils.pack_padded_sequence(x, n, batch_first=True, enforce_sorted=False)
        ''',
    ),
    "type() compared with something other than Variable": (
        ["HS106"],
        '''\
        from torch.autograd import Variable

        def wrap(h):
            if type(h) == int:
                return h
            return Variable(h)
        ''',
        '''\
        import torch
        from torch.autograd import Variable as V

        def repackage(h):
            if type(h) == V:
                return V(h.data)
            return tuple(repackage(v) for v in h)
        h = torch.zeros(1).detach()
        ''',
    ),
    "a loop of builtins only, beside an imported recurrent model": (
        ["HS101", "HS306", "HS307", "HS308"],
        '''\
        from .models import *

        def checked(kwargs):
            for k in kwargs:
                if k not in ("device", "dtype"):  # no backward() or step() here
                    raise TypeError(f"unexpected {k}")
            return kwargs
        ''',
        '''\
        import torch
        import torch.nn as nn

        print = nn.LSTM(8, 16)  # a builtin's name, rebound
        h = None
        for x in torch.randn(10, 4, 3, 8):
            out, h = print(x, h)
            out.sum().backward()
        ''',
    ),
    "the carried shape on a torch function or the class's own method": (
        ["HS101", "HS104", "HS301", "HS302", "HS303", "HS304", "HS308"],
        '''\
        from torch.nn.parallel.scatter_gather import scatter_kwargs

        class Parallel:
            def split(self, inputs, kwargs):
                return inputs, kwargs

            def run(self, batches, kwargs, optimizer):
                for inputs in batches:
                    inputs, kwargs = scatter_kwargs(inputs, kwargs, [0, 1])
                    inputs, kwargs = self.split(inputs, kwargs)
                    self.loss(inputs).backward()
                    optimizer.step()
        ''',
        '''\
        from torch.utils.checkpoint import checkpoint

        def train(step, batches, optimizer, h):
            for x in batches:
                out, h = checkpoint(step, x, h)
                out.sum().backward()
                optimizer.step()
        ''',
    ),
}


@pytest.mark.parametrize("case", PRECISE, ids=list(PRECISE))
def test_the_screen_skips_lookalikes_and_passes_what_the_rules_report(case):
    codes, lookalike, real = PRECISE[case]
    lookalike, real = textwrap.dedent(lookalike), textwrap.dedent(real)
    elsewhere = {".models"}
    assert not may_have_findings(lookalike, codes, elsewhere=elsewhere)
    assert _unscreened(lookalike, codes) == []
    assert may_have_findings(real, codes, elsewhere=elsewhere)
    assert _unscreened(real, codes)


@pytest.mark.parametrize(("source", "expected"), [
    ("from torch.nn import LSTM as Recurrent\n\nclass Tagger:\n    def build(self):\n        return Recurrent(8, 16)\n", True),
    ("import torch.nn as nn\n\nrnn = getattr(nn,\n              'GRU')(8, 16)\n", True),
    ("import torch.nn as nn\r\nlayer = nn.Linear(4, 4)\r\nrnn = nn.GRU(8, 16)\r\n", True),
    ("import torch.nn as nn\n\n@nn.RNN(4, 4)\ndef f():\n    pass\n", True),
    ("import torch.nn as nn\n# an nn.LSTM would do here\nlayer = nn.Linear(4, 4)\n", False),
    ("from mylib import LSTM\nlayer = LSTM(4, 4)\n", False),
])
def test_the_screen_reads_only_the_lines_that_name_a_recurrent_module(source, expected):
    assert prefilter.Evidence(source).torch_module is expected
    assert prefilter.Evidence(source, ast.parse(source)).torch_module is expected
