"""HS213/HS214 and the skip fact (``hs_lint/skips.py``): a loop over a DataLoader that leaves out the batches
whose size is not the one a state was built for, however the size, the comparison, the loop and the state are
spelled; HS213 when a metric still divides by every sample. Silent where nothing is dropped (``drop_last``, an
empty batch, a size no state is built with, another axis) or where the loader is not followed; and HS204 does not
report the fixed-size state such a loop guards."""

from __future__ import annotations

import textwrap

import pytest

from conftest import lint
from hs_lint.rules import all_rules

ALL = sorted(all_rules())

_SCRIPT = """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
from tqdm import tqdm

BATCH = 16
lstm = nn.LSTM(8, 32, batch_first=True)
head = nn.Linear(32, 2)


def init_hidden(batch_size):
    return torch.zeros(1, batch_size, 32), torch.zeros(1, batch_size, 32)


def evaluate(data):
    loader = {loader}
    correct = 0
    with torch.no_grad():
{loop}
            out, _ = lstm(x, {state})
            correct += (head(out[:, -1]).argmax(1) == y).sum().item()
    return {metric}
"""

LOOPS = {
    "not equal, continue": "for x, y in loader:\n    if x.size(0) != BATCH:\n        continue",
    "less than, break": "for x, y in loader:\n    if len(x) < BATCH:\n        break",
    "reversed": "for x, y in loader:\n    if BATCH > x.shape[0]:\n        continue",
    "negated equality": "for x, y in loader:\n    if not x.size(0) == BATCH:\n        continue",
    "size in a name, after a print": (
        "for x, y in loader:\n    n = x.size(0)\n    if n != BATCH:\n        print('skipping', n)\n        continue"),
    "enumerate and tqdm": "for i, (x, y) in enumerate(tqdm(loader)):\n    if x.size(0) != BATCH:\n        continue",
    "unpacked in the loop": "for batch in loader:\n    x, y = batch\n    if x.size()[0] != BATCH:\n        continue",
    "one line": "for x, y in loader:\n    if x.size(0) != BATCH: continue",
    "a while loop over next()": (
        "batches = iter(loader)\nwhile True:\n    try:\n        x, y = next(batches)\n    except StopIteration:\n"
        "        break\n    if x.size(0) != BATCH:\n        continue"),
}
STATES = {"init_hidden": "init_hidden(BATCH)", "a factory": "(torch.zeros(1, BATCH, 32), torch.zeros(1, BATCH, 32))"}
LOADER = "DataLoader(data, batch_size=BATCH)"


def script(loop: str, *, loader: str = LOADER, state: str = "init_hidden(BATCH)", metric: str = "correct") -> str:
    return _SCRIPT.format(loader=loader, loop=textwrap.indent(loop, " " * 8), state=state, metric=metric)


def codes(source: str) -> list[tuple[int, str]]:
    return [(f.line, f.code) for f in lint(source, ALL)]


def _skip_line(source: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if line.lstrip().startswith("if ") and (
        "BATCH" in line))


@pytest.mark.parametrize("loop", LOOPS.values(), ids=LOOPS.keys())
@pytest.mark.parametrize("state", STATES.values(), ids=STATES.keys())
def test_a_skip_of_the_smaller_batch_is_advised(loop, state):
    source = script(loop, state=state)
    assert codes(source) == [(_skip_line(source), "HS214")]


@pytest.mark.parametrize("metric", [
    "correct / len(loader.dataset)",
    "100.0 * correct / len(data)",
    "correct / total",
])
def test_a_metric_over_every_sample_makes_it_an_error(metric):
    source = script(LOOPS["not equal, continue"], metric=metric)
    if metric.endswith("total"):
        source = source.replace("    correct = 0\n", "    correct = 0\n    total = len(loader.dataset)\n")
    (finding,) = lint(source, ALL)
    assert (finding.line, finding.code) == (_skip_line(source), "HS213")
    assert "`if x.size(0) != BATCH: continue` skips `loader`'s smaller last batch, yet `len(" in finding.message
    assert finding.code in {f.code for f in lint(source)}  # on by default


def test_a_metric_over_the_samples_seen_is_not_one():
    source = script(LOOPS["not equal, continue"], metric="correct / seen").replace(
        "            correct +=", "            seen += len(y)\n            correct +=").replace(
        "    correct = 0\n", "    correct = seen = 0\n")
    assert [code for _, code in codes(source)] == ["HS214"]


SILENT = {
    "drop_last": script(LOOPS["not equal, continue"], loader="DataLoader(data, batch_size=BATCH, drop_last=True)"),
    "an empty batch": script("for x, y in loader:\n    if x.size(0) == 0:\n        continue",
                             state="init_hidden(x.size(0))"),
    "a size no state is built with": script(
        "for x, y in loader:\n    if x.size(0) < 2:\n        continue", state="init_hidden(x.size(0))"),
    "the time axis": script("for x, y in loader:\n    if x.size(1) != BATCH:\n        continue",
                            state="init_hidden(x.size(0))"),
    "not only leaving": script(
        "for x, y in loader:\n    if x.size(0) != BATCH:\n        state = init_hidden(x.size(0))\n        continue",
        state="init_hidden(x.size(0))"),
    "a block inside": script(
        "for x, y in loader:\n    if x.size(0) != BATCH:\n        if x.size(0) == 0:\n            continue\n"
        "        state = init_hidden(x.size(0))", state="init_hidden(x.size(0))"),
    "a collate function": script(LOOPS["not equal, continue"],
                                 loader="DataLoader(data, batch_size=BATCH, collate_fn=list)"),
    "not a DataLoader": script(LOOPS["not equal, continue"], loader="list(data)"),
}


@pytest.mark.parametrize("source", SILENT.values(), ids=SILENT.keys())
def test_lookalikes_are_silent(source):
    assert not {"HS213", "HS214"} & {code for _, code in codes(source)}


def test_the_fixed_state_a_skip_guards_is_not_also_a_batch_mismatch():
    guarded = script(LOOPS["not equal, continue"])
    unguarded = script("for x, y in loader:\n    pass")
    assert "HS204" not in {code for _, code in codes(guarded)}
    assert "HS204" in {code for _, code in codes(unguarded)}
