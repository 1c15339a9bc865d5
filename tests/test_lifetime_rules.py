"""Edge cases of the detach, lifetime, device and clipping rules that the fixtures do not pin down."""

from __future__ import annotations

import pytest

from conftest import lint
from hs_lint.rules import all_rules

ALL = list(all_rules())

CASES = {
    "discarded-detach-on-an-lstm-tuple-is-HS103-only": (
        """\
import torch.nn as nn

lstm = nn.LSTM(3, 4)
hidden = None
for x in batches:
    out, hidden = lstm(x, hidden)
    out.sum().backward()
    hidden.detach()
""",
        {"HS101", "HS103"},
    ),
    "discarded-detach-on-a-gru-state-is-HS102": (
        """\
import torch.nn as nn

gru = nn.GRU(3, 4)
out, hidden = gru(x)
hidden.detach()
""",
        {"HS102"},
    ),
    "lstm-or-gru-chosen-at-runtime-is-not-a-tuple-for-sure": (
        """\
import torch.nn as nn


class M(nn.Module):
    def __init__(self, kind):
        super().__init__()
        if kind == "gru":
            self.rnn = nn.GRU(3, 4)
        else:
            self.rnn = nn.LSTM(3, 4)

    def forward(self, x, hidden):
        out, hidden = self.rnn(x, hidden)
        return out, hidden.detach()
""",
        set(),
    ),
    "state-unpacked-before-the-tensor-method": (
        """\
import torch.nn as nn

lstm = nn.LSTM(3, 4)
out, hidden = lstm(x)
h, c = hidden
print(h.size(0), hidden[0].size())
""",
        set(),
    ),
    "clip-in-the-other-branch-of-step-is-not-after-it": (
        """\
import torch

for x, y in loader:
    loss(model(x), y).backward()
    if skip_clip:
        optimizer.step()
    else:
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
""",
        set(),
    ),
    "helper-that-steps-then-clips": (
        """\
import torch


def finish(optimizer, model):
    optimizer.step()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)


for x, y in loader:
    loss(model(x), y).backward()
    finish(optimizer, model)
""",
        {"HS501"},
    ),
    "eval-after-model-train-is-not-evaluation": (
        """\
import torch.nn as nn

rnn = nn.GRU(3, 4)
h = None
for x in first_half:
    h = None if h is None else h.detach()
    out, h = rnn(x, h)
    out.sum().backward()
rnn.eval()
rnn.train()
for x in second_half:
    out, h = rnn(x, h)
""",
        set(),
    ),
    "dead-reset-on-an-attribute-read-elsewhere": (
        """\
import torch.nn as nn


class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4)

    def init_hidden(self, bsz):
        return torch.zeros(1, bsz, 4)

    def forward(self, x, h):
        return self.gru(x, h)


model = M()
model.hidden = model.init_hidden(2)
out, model.hidden = model(x, model.hidden)
""",
        set(),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_case(name):
    source, expected = CASES[name]
    assert {f.code for f in lint(source, ALL)} - {"HS502"} == expected


def test_good_fixtures_are_clean_under_every_rule_including_advisory():
    from conftest import FIXTURES

    for path in sorted((FIXTURES / "good").glob("*.py")):
        assert lint(path.read_text(encoding="utf-8"), ALL) == [], path.name


_CHUNKS = """\
import torch.nn as nn


class ClipClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(12, 32)
        self.head = nn.Linear(32, 5)
        self.state = None

    def reset(self):
        self.state = None

    def forward(self, clip):
        out, self.state = self.lstm(clip, self.state)
        return self.head(out[-1])


model = ClipClassifier()
for recording in recordings:
{outer}
    for chunk, label in recording:
{inner}
        nn.functional.cross_entropy(model(chunk), label).backward()
        model.state = tuple(s.detach() for s in model.state)
"""


@pytest.mark.parametrize(("outer", "inner"), [
    ("    model.reset()", ""),  # reset per recording, carried across its chunks
    ("    model.state = None", ""),
    ("    pass", "        model.reset()"),  # reset per chunk
])
def test_a_sequence_classifier_reset_in_a_loop_around_it_walks_one_sequence(outer, inner):
    """HS307: with the reset in an enclosing loop, the inner loop reads pieces of one sequence."""
    assert lint(_CHUNKS.format(outer=outer, inner=inner or "        pass"), ["HS307"]) == []


def test_a_sequence_classifier_never_reset_in_nested_loops_is_hs307():
    found = lint(_CHUNKS.format(outer="    pass", inner="        pass"), ["HS307"])
    assert [(f.code, f.line) for f in found] == [("HS307", 24)]  # at `model(chunk)`


@pytest.mark.parametrize("outer", ["    model.reset()", "    model.state = None"])
def test_a_reset_per_epoch_does_not_make_the_batches_of_a_loader_one_sequence(outer):
    """The inner loop iterates a loader, not the outer loop's item: its batches are independent sequences."""
    source = _CHUNKS.format(outer=outer, inner="        pass").replace("in recording:", "in loader:")
    assert [(f.code, f.line) for f in lint(source, ["HS307"])] == [("HS307", 24)]
