"""Autofix: every fixable finding in every bad fixture and rule example is repaired into code that
parses, that the rule then finds clean, and that a second --fix leaves alone; formatting, comments,
encoding, line endings and permissions survive; files are replaced atomically."""

from __future__ import annotations

import ast
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import libcst as cst
import pytest

from conftest import FIXTURES, codes_for, fixture_files, hs_lint, lint
from hs_lint.engine import Linter
from hs_lint.fix import (
    Fix,
    FixError,
    _verify,
    apply,
    fix_source,
    insert_before,
    move_statement,
    remove_statement,
    replace,
    replace_statement,
    write_atomically,
)
from hs_lint.rule import Rule
from hs_lint.rules import all_rules

BAD_FIXTURES = [p for p in fixture_files() if p.parent.name == "bad"]
FIXABLE = {code for code, rule in all_rules().items() if rule.fix is not Rule.fix}


def _fixable_findings(source: str, codes) -> list:
    return [f for f in lint(source, codes) if f.fix]


@pytest.mark.parametrize("path", BAD_FIXTURES, ids=[p.name for p in BAD_FIXTURES])
def test_fix_over_a_bad_fixture_parses_is_idempotent_and_clears_the_fixed_rules(tmp_path, path):
    codes = codes_for(path)
    source = path.read_text(encoding="utf-8")
    fixable = _fixable_findings(source, codes)
    if not fixable:
        pytest.skip(f"no fixable finding in {path.name} (codes without a fix: {sorted(codes - FIXABLE)})")
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    select = ["--select", ",".join(sorted(codes))]
    first = hs_lint("check", "--fix", "--unsafe-fixes", *select, copy.name, cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr
    fixed = copy.read_text(encoding="utf-8")
    assert fixed != source
    ast.parse(fixed)
    cst.parse_module(fixed)
    second = hs_lint("check", "--fix", "--unsafe-fixes", *select, copy.name, cwd=tmp_path)
    assert copy.read_text(encoding="utf-8") == fixed, "a second --fix changed the file again"
    assert "fixed 0 findings" in second.stderr
    remaining = lint(fixed, codes)
    assert not [f for f in remaining if f.fix], "a fixable finding survived --fix"
    fixed_codes = {f.code for f in fixable}
    unfixable_before = {(f.code, f.message) for f in lint(source, codes) if not f.fix}
    assert {(f.code, f.message) for f in remaining if f.code in fixed_codes} <= unfixable_before


RULE_EXAMPLES = [(code, i, src) for code, rule in all_rules().items() if code in FIXABLE
                 for i, src in enumerate(rule.bad)]


@pytest.mark.parametrize(("code", "index", "source"), RULE_EXAMPLES, ids=[f"{c}-bad{i}" for c, i, _ in RULE_EXAMPLES])
def test_fix_of_a_rule_example_clears_that_rule(code, index, source):
    linter = Linter([code])
    fixed, remaining = fix_source(linter, source, "example.py", unsafe=True)
    cst.parse_module(fixed)
    assert [f for f in remaining if f.fix] == []
    if any(f.fix for f in linter.check_source(source, "example.py")):
        assert fixed != source
    assert fix_source(linter, fixed, "example.py", unsafe=True)[0] == fixed


@pytest.mark.parametrize("code", list(all_rules()))
def test_a_rule_with_a_fix_documents_it(code):
    rule = all_rules()[code]
    assert (code in FIXABLE) == bool(rule.fix_summary)


def _fix(tmp_path, source: str, *args: str, name: str = "train.py"):
    (tmp_path / name).write_text(source)
    result = hs_lint("check", "--fix", *args, name, cwd=tmp_path)
    return result, (tmp_path / name).read_text()


def test_hs101_fix_is_tuple_aware_none_aware_and_keeps_comments(tmp_path):
    source = textwrap.dedent(
        """\
        import torch.nn as nn

        lstm = nn.LSTM(8, 16)
        h = None
        for x in stream:  # one chunk per step
            # forward
            out, h = lstm(x, h)
            out.sum().backward()   # keep this spacing
        """
    )
    result, fixed = _fix(tmp_path, source)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fixed == source.replace(
        "    # forward\n",
        "    if h is not None:\n        h = tuple(s.detach() for s in h)\n    # forward\n",
    )
    assert "fixed 1 finding; left: 0 findings" in result.stderr


def test_hs101_fix_detaches_each_name_of_an_unpacked_state_at_the_carrying_loop(tmp_path):
    source = textwrap.dedent(
        """\
        import torch.nn as nn

        cell = nn.LSTMCell(8, 16)
        h, c = init()
        for batch in loader:
        \tfor t in range(10):
        \t\th, c = cell(batch[t], (h, c))
        \tloss(h).backward()
        """
    )
    result, fixed = _fix(tmp_path, source)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fixed == source.replace("for batch in loader:\n", "for batch in loader:\n\th, c = h.detach(), c.detach()\n")


def test_hs101_fix_for_an_unknown_module_is_unsafe(tmp_path):
    source = "for x in xs:\n    out, state = model(x, state)\n    out.sum().backward()\n"
    (tmp_path / "x.py").write_text(source)
    plain = hs_lint("check", "x.py", cwd=tmp_path)
    assert "HS101 hidden state" in plain.stdout and "[*]" not in plain.stdout
    assert "1 more fixable with --unsafe-fixes" in plain.stderr
    result, fixed = _fix(tmp_path, source)
    assert (result.returncode, fixed) == (1, source)
    result, fixed = _fix(tmp_path, source, "--unsafe-fixes")
    assert result.returncode == 0
    assert fixed == source.replace("for x in xs:\n", "for x in xs:\n    state = state.detach()\n")


def test_one_line_loop_has_no_fix_and_fix_still_exits_1(tmp_path):
    source = ("import torch.nn as nn\nrnn = nn.GRU(4, 8)\nh = f()\n"
              "for x in xs: out, h = rnn(x, h); out.sum().backward()\n")
    result, fixed = _fix(tmp_path, source)
    assert fixed == source
    assert result.returncode == 1
    assert "HS101 hidden state" in result.stdout and "[*]" not in result.stdout


def test_hs102_fix_assigns_the_result_and_an_item_target_is_unsafe(tmp_path):
    source = textwrap.dedent(
        """\
        import torch.nn as nn
        rnn = nn.GRU(4, 8)
        for x in xs:
            out, h = rnn(x)
            h.to(device)  # move it
            h[0].cpu()
        """
    )
    result, fixed = _fix(tmp_path, source)
    assert result.returncode == 1
    assert "h = h.to(device)  # move it\n    h[0].cpu()\n" in fixed
    result, fixed = _fix(tmp_path, source, "--unsafe-fixes")
    assert result.returncode == 0
    assert "h[0] = h[0].cpu()\n" in fixed


def test_noqa_findings_are_not_fixed(tmp_path):
    source = "import torch.nn as nn\nrnn = nn.GRU(4, 8)\nout, h = rnn(x)\nh.cpu()  # noqa: HS102\nh.cuda()\n"
    result, fixed = _fix(tmp_path, source)
    assert fixed == source.replace("h.cuda()", "h = h.cuda()")
    assert result.returncode == 0


def test_diff_prints_the_change_and_writes_nothing(tmp_path):
    source = "import torch.nn as nn\nrnn = nn.GRU(4, 8)\nout, h = rnn(x)\nh.cpu()\n"
    (tmp_path / "t.py").write_text(source)
    result = hs_lint("check", "--diff", "t.py", cwd=tmp_path)
    assert result.returncode == 1
    assert (tmp_path / "t.py").read_text() == source
    assert result.stdout == "--- a/t.py\n+++ b/t.py\n@@ -1,4 +1,4 @@\n import torch.nn as nn\n rnn = nn.GRU(4, 8)\n" \
                            " out, h = rnn(x)\n-h.cpu()\n+h = h.cpu()\n"
    assert "would fix 1 finding" in result.stderr
    (tmp_path / "t.py").write_text("x = 1\n")
    clean = hs_lint("check", "--diff", "t.py", cwd=tmp_path)
    assert (clean.returncode, clean.stdout) == (0, "")


def test_fix_keeps_encoding_line_endings_and_permissions(tmp_path):
    source = ("# -*- coding: latin-1 -*-\r\nimport torch.nn as nn\r\nrnn = nn.GRU(4, 8)  # état\r\n"
              "out, h = rnn(x)\r\nh.cpu()\r\n")
    path = tmp_path / "t.py"
    path.write_bytes(source.encode("latin-1"))
    path.chmod(0o751)
    result = hs_lint("check", "--fix", "t.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert path.read_bytes() == source.replace("h.cpu()", "h = h.cpu()").encode("latin-1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["t.py"], "a temporary file was left behind"


def test_fix_through_a_symlink_fixes_the_target_and_keeps_the_link(tmp_path):
    (tmp_path / "real.py").write_text("import torch.nn as nn\nrnn = nn.GRU(4, 8)\nout, h = rnn(x)\nh.cpu()\n")
    (tmp_path / "link.py").symlink_to("real.py")
    assert hs_lint("check", "--fix", "link.py", cwd=tmp_path).returncode == 0
    assert (tmp_path / "link.py").is_symlink()
    assert "h = h.cpu()" in (tmp_path / "real.py").read_text()


def test_a_file_changed_on_disk_is_not_overwritten(tmp_path):
    path = tmp_path / "t.py"
    path.write_bytes(b"edited meanwhile\n")
    with pytest.raises(FixError, match="changed on disk during the run"):
        write_atomically(path, b"what was read\n", "fixed\n")
    assert path.read_bytes() == b"edited meanwhile\n"
    assert os.listdir(tmp_path) == ["t.py"]


def test_fixed_code_that_does_not_compile_is_refused():
    _verify("x = 1\n", "ok.py")
    with pytest.raises(FixError, match="does not parse"):
        _verify("def f(:\n", "bad.py")


def test_edits_apply_in_one_pass_and_an_insert_asked_twice_is_made_once():
    module = cst.parse_module("for x in xs:\n    y = f(x)  # keep\n    g(y)\n")
    loop = module.body[0]
    first, second = loop.body.body
    detach = cst.parse_statement("y = y.detach()")
    call = second.body[0].value
    fixes = [
        Fix((insert_before(first, detach),), safe=True),
        Fix((insert_before(first.body[0].value, cst.parse_statement("y = y.detach()")),), safe=True),
        Fix((replace_statement(call, cst.Assign([cst.AssignTarget(cst.Name("z"))], call)),
             replace(first.body[0].value.args[0].value, cst.Name("x2"))), safe=True),
    ]
    assert apply(module, fixes) == "for x in xs:\n    y = y.detach()\n    y = f(x2)  # keep\n    z = g(y)\n"
    assert apply(module, [Fix((remove_statement(call),), safe=True)]) == "for x in xs:\n    y = f(x)  # keep\n"


def test_a_rule_declared_unsafe_makes_all_its_fixes_unsafe():
    from hs_lint.rules.graph import DiscardedResult

    class UnsafeDiscardedResult(DiscardedResult):  # no ``code`` of its own: not registered
        fix_safe = False

    linter = Linter([])
    linter.rules = [UnsafeDiscardedResult()]
    source = "import torch.nn as nn\nrnn = nn.GRU(4, 8)\nout, h = rnn(x)\nh.cpu()\n"
    assert [f.fix for f in linter.check_source(source, "t.py")] == ["unsafe"]
    assert [f.fix for f in Linter(["HS102"]).check_source(source, "t.py")] == ["safe"]
    assert fix_source(linter, source, "t.py", unsafe=False)[0] == source


def test_a_fix_that_does_not_clear_its_finding_is_refused_not_repeated():
    from hs_lint.rules.graph import DiscardedResult

    class StubbornFix(DiscardedResult):  # not registered: no ``code`` of its own
        def fix(self, facts, violation):
            return Fix((insert_before(violation.node, cst.parse_statement("pass")),))

    linter = Linter([])
    linter.rules = [StubbornFix()]
    source = "import torch.nn as nn\nrnn = nn.GRU(4, 8)\nout, h = rnn(x)\nh.cpu()\n"
    with pytest.raises(FixError, match="the fix for HS102 does not clear its finding"):
        fix_source(linter, source, "t.py", unsafe=False)


def test_hs101_fix_guards_an_attribute_that_init_sets_to_none(tmp_path):
    source = textwrap.dedent(
        """\
        import torch.nn as nn


        class Trainer:
            def __init__(self):
                self.rnn = nn.GRU(4, 8)
                self.hidden = None

            def fit(self, loader, opt):
                for x in loader:
                    out, self.hidden = self.rnn(x, self.hidden)
                    out.sum().backward()
                    opt.step()
        """
    )
    result, fixed = _fix(tmp_path, source)
    assert "`if self.hidden is not None: self.hidden = self.hidden.detach()`" in lint(source)[0].message
    assert result.returncode == 0, result.stdout + result.stderr
    assert fixed == source.replace(
        "for x in loader:\n",
        "for x in loader:\n"
        "            if self.hidden is not None:\n                self.hidden = self.hidden.detach()\n",
    )


def test_hs101_fix_guards_a_parameter_the_caller_may_pass_as_none(tmp_path):
    source = textwrap.dedent(
        """\
        import torch.nn as nn
        rnn = nn.GRU(4, 8)


        def train(loader, h=None):
            for x in loader:
                out, h = rnn(x, h)
                out.sum().backward()
        """
    )
    result, fixed = _fix(tmp_path, source)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "        if h is not None:\n            h = h.detach()\n        out, h = rnn(x, h)\n" in fixed


def test_fix_leaves_good_fixtures_untouched(tmp_path):
    shutil.copytree(FIXTURES / "good", tmp_path / "good")
    before = {p.name: p.read_bytes() for p in (tmp_path / "good").iterdir()}
    result = hs_lint("check", "--fix", "--unsafe-fixes", "good", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert {p.name: p.read_bytes() for p in (tmp_path / "good").iterdir()} == before
    assert "fixed 0 findings; left: 0 findings" in result.stderr


def test_move_statement_takes_its_comments_and_leaves_no_gap():
    module = cst.parse_module(
        "for batch in loader:\n    loss(batch).backward()\n    optimizer.step()\n"
        "    # keep gradients sane\n    clip_grad_norm_(params, 1.0)  # max norm\n    log()\n"
    )
    body = module.body[0].body.body
    step, clip = body[1].body[0].value, body[2].body[0].value
    assert apply(module, [Fix((move_statement(clip, before=step),))]) == (
        "for batch in loader:\n    loss(batch).backward()\n    # keep gradients sane\n"
        "    clip_grad_norm_(params, 1.0)  # max norm\n    optimizer.step()\n    log()\n"
    )


def test_hs101_fix_through_a_wrapper_class_is_unsafe():
    """The wrapper's state may be its own structure (here a list of per-layer states): no safe `.detach()`."""
    source = textwrap.dedent(
        """\
        import torch.nn as nn


        class Stacked(nn.Module):
            def __init__(self):
                super().__init__()
                self.cells = nn.ModuleList([nn.GRUCell(8, 8), nn.GRUCell(8, 8)])
                self.gru = nn.GRU(8, 8)

            def forward(self, x, states):
                out, states = self.gru(x, states)
                return out, states


        model = Stacked()
        states = None
        for x in loader:
            out, states = model(x, states)
            out.sum().backward()
        """
    )
    assert [(f.code, f.fix) for f in lint(source)] == [("HS101", "unsafe")]
    assert [(f.code, f.fix) for f in lint(source.replace("model = Stacked()", "model = nn.GRU(8, 8)"))] == [
        ("HS101", "safe")
    ]


TORCH_SCRIPTS = {
    "lstm_tuple_state_starting_as_none": """\
import torch
import torch.nn as nn

torch.manual_seed(0)
lstm = nn.LSTM(4, 8)
optimizer = torch.optim.SGD(lstm.parameters(), lr=0.1)
state = None
for step in range(3):
    out, state = lstm(torch.randn(5, 2, 4), state)
    optimizer.zero_grad()
    out.pow(2).mean().backward()
    optimizer.step()
""",
    "cell_pair_and_a_dropped_detach": """\
import torch
import torch.nn as nn

torch.manual_seed(0)
cell = nn.LSTMCell(4, 8)
h, c = torch.zeros(2, 8), torch.zeros(2, 8)
for chunk in torch.randn(3, 5, 2, 4):
    for x in chunk:
        h, c = cell(x, (h, c))
    h.sum().backward()
    h.detach()
""",
}


@pytest.mark.parametrize("name", list(TORCH_SCRIPTS))
def test_fixed_script_runs_under_real_torch(tmp_path, name):
    """The mistake raises in torch; after --fix the same script trains."""
    pytest.importorskip("torch")
    script = tmp_path / "train.py"
    script.write_text(TORCH_SCRIPTS[name])
    before = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert before.returncode != 0 and "backward through the graph a second time" in before.stderr
    result = hs_lint("check", "--fix", "train.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    after = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert after.returncode == 0, after.stderr
