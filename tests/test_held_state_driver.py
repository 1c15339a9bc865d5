"""HS303 for a class of another module: the class's file cannot see the loop that runs it, so the training
script's backward loop that carries the class's self-held state, undetached and never reset, is reported at the
call."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in

_MODEL = textwrap.dedent("""\
    import torch.nn as nn


    class Stateful(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.{kind}(8, 16)
            self.hidden = None

        def reset_state(self):
            self.hidden = None

        def forward(self, x):
    {detach}        out, self.hidden = self.gru(x, self.hidden)
            return out
    """)

_TRAIN = textwrap.dedent("""\
    import torch
    from model import Stateful


    model = Stateful()
    for x in batches:
    {body}    model(x).sum().backward()
    """)

_DETACH = "        if self.hidden is not None:\n            self.hidden = self.hidden.detach()\n"


def _check(tmp_path, kind="GRU", detach="", body=""):
    files = {"model.py": _MODEL.format(kind=kind, detach=detach), "train.py": _TRAIN.format(body=body)}
    return codes_in(tmp_path, files, "train.py"), codes_in(tmp_path, files, "model.py")


def test_the_loop_that_carries_a_held_state_is_reported_where_it_runs(tmp_path):
    assert _check(tmp_path) == ([(7, "HS303")], [])


@pytest.mark.parametrize(("detach", "body"), [
    (_DETACH, ""),  # forward cuts the graph itself
    ("", "    model.reset_state()\n"),  # a reset the class defines
    ("", "    model.hidden = None\n"),  # a reset written in the loop
    ("", "    with torch.no_grad():\n        model(x)\n"),  # a call under no_grad: the one after it is reported
])
def test_a_detach_or_a_reset_anywhere_stays_silent(tmp_path, detach, body):
    train, model = _check(tmp_path, detach=detach, body=body)
    expected = [(9, "HS303")] if "no_grad" in body else []
    assert (train, model) == (expected, [])


def test_the_message_names_the_class_and_an_lstm_tuple_fix(tmp_path):
    from hs_lint.engine import Linter
    from hs_lint.project.index import Projects

    _check(tmp_path, kind="LSTM")
    path = tmp_path / "train.py"
    (finding,) = Linter(["HS303"]).check_source(path.read_text(), str(path), Projects().view(path))
    assert finding.message.startswith("`Stateful.forward` feeds `self.hidden`")
    assert "self.hidden = tuple(s.detach() for s in self.hidden)" in finding.message
    assert "`model.hidden = None`" in finding.message
