"""HS309: a model that keeps its state on self, run again on the same input with nothing resetting the state
between: reported however the second call is spelled or placed after the first (a print, a branch that always
follows, ``torch.no_grad()``, ``model.forward``); silent after a reset, on another input or another version of it,
in exclusive branches, and for a model that keeps no state."""

from __future__ import annotations

import textwrap

import pytest

from conftest import lint

_MODEL = """\
import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16)
        self.head = nn.Linear(16, 4)
        self.hidden = None

    def reset_state(self):
        self.hidden = None

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        self.hidden = self.hidden.detach()
        return self.head(out)


def train(model, chunks, optimizer, log_every=10):
    for step, (x, y) in enumerate(chunks):
{body}
"""


def _source(body: str) -> str:
    return _MODEL.format(body=textwrap.indent(textwrap.dedent(body), " " * 8)) + "\n\ntrain(Tagger(), [], None)\n"


RERUN = {
    "a metric after the step": """\
        loss = nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        loss.backward()
        optimizer.step()
        accuracy = (model(x).argmax(-1) == y).float().mean()
    """,
    "a print": """\
        logits = model(x)
        print(model(x).argmax(-1))
    """,
    "in a branch after the first": """\
        logits = model(x)
        if step % log_every == 0:
            print("prediction", model(x).argmax(-1))
    """,
    "under no_grad": """\
        logits = model(x)
        with torch.no_grad():
            predicted = model(x).argmax(-1)
    """,
    "forward called by name": """\
        logits = model(x)
        again = model.forward(x)
    """,
}

SILENT = {
    "reset between": """\
        logits = model(x)
        model.hidden = None
        again = model(x)
    """,
    "a resetting method between": """\
        logits = model(x)
        model.reset_state()
        again = model(x)
    """,
    "another input": """\
        logits = model(x)
        other = model(y)
    """,
    "the input changed between": """\
        logits = model(x)
        x = x.flip(0)
        again = model(x)
    """,
    "exclusive branches": """\
        if step % 2:
            logits = model(x)
        else:
            logits = model(x)
    """,
    "one call": """\
        logits = model(x)
        print(logits.argmax(-1))
    """,
}


@pytest.mark.parametrize("body", RERUN.values(), ids=RERUN.keys())
def test_a_second_run_on_the_same_input_is_reported(body):
    source = _source(body)
    findings = [f for f in lint(source) if f.code == "HS309"]
    assert len(findings) == 1, findings
    second = [n for n, line in enumerate(source.splitlines(), 1) if "model(x)" in line or "forward(x)" in line][-1]
    assert findings[0].line == second
    assert "runs `Tagger.forward` on `x` again" in findings[0].message


@pytest.mark.parametrize("body", SILENT.values(), ids=SILENT.keys())
def test_lookalikes_are_silent(body):
    assert "HS309" not in {f.code for f in lint(_source(body))}


def test_a_model_that_keeps_no_state_may_run_twice():
    source = _source(RERUN["a print"]).replace("out, self.hidden = self.gru(x, self.hidden)", "out, _ = self.gru(x)")
    source = source.replace("        self.hidden = self.hidden.detach()\n", "")
    assert "HS309" not in {f.code for f in lint(source)}
