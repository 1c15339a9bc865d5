"""HS213/HS214: a batch loop that skips the batches whose size is not the one a state was built for.

The skip (``hs_lint/skips.py``) lets a state built for a fixed batch size run on a DataLoader whose last
batch is smaller, and silently leaves that batch's samples out. HS213 (on by default): the loop's function
divides by the loader's full size (``len(loader.dataset)``, or ``len`` of the dataset the loader is built on), so
a metric counts samples it never saw. HS214 (advisory): every other such skip, which drops up to
``batch_size - 1`` samples every epoch.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import FileFacts
from hs_lint.names import key_of
from hs_lint.rule import Rule, Violation
from hs_lint.skips import Skip, full_count


class _SkippedBatches(Rule):
    message = ""

    def found(self, facts: FileFacts) -> Iterator[tuple[Skip, cst.Call | None]]:
        for skip in facts.skips:
            yield skip, full_count(facts, skip)

    def fields(self, facts: FileFacts, skip: Skip) -> dict[str, str]:
        loader = key_of(skip.iterated) if skip.iterated is not None else None
        return {"test": facts.source(skip.node.test), "leave": skip.leave, "size": facts.source(skip.size),
                "fixed": facts.source(skip.fixed), "loader": f"`{loader}`" if loader else "the DataLoader"}


class MetricOverSkippedBatches(_SkippedBatches):
    code = "HS213"
    name = "metric-over-skipped-batches"
    summary = "A loop skips the smaller last batch (the state is sized for a fixed batch), yet a metric counts its samples"
    message = ("`if {test}: {leave}` skips {loader}'s smaller last batch, yet `{length}` counts its samples: "
               "build the state for `{size}` samples instead of skipping")
    rationale = (
        "A state built for a fixed batch size fails on a DataLoader's smaller last batch, and a common workaround "
        "is to skip that batch (`if x.size(0) != batch_size: continue`). The loop then never sees those samples, "
        "but an accuracy or loss divided by `len(loader.dataset)` still counts them: every metric is off by up to "
        "`batch_size - 1` samples, as if they had been wrong. Build the state from the batch instead "
        "(`model.init_hidden(x.size(0))`), or let torch build a zero state by passing none."
    )
    torch_error = "Nothing: the loop runs on, over fewer samples than the metric divides by."
    bad = (
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

BATCH = 32
lstm = nn.LSTM(8, 16, batch_first=True)
head = nn.Linear(16, 2)
test_set = TensorDataset(torch.randn(100, 12, 8), torch.randint(0, 2, (100,)))
loader = DataLoader(test_set, batch_size=BATCH)
state = (torch.zeros(1, BATCH, 16), torch.zeros(1, BATCH, 16))
correct = 0
with torch.no_grad():
    for x, y in loader:
        if x.size(0) != BATCH:
            continue
        out, _ = lstm(x, state)
        correct += (head(out[:, -1]).argmax(1) == y).sum().item()
print(correct / len(loader.dataset))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

BATCH = 32
lstm = nn.LSTM(8, 16, batch_first=True)
head = nn.Linear(16, 2)
test_set = TensorDataset(torch.randn(100, 12, 8), torch.randint(0, 2, (100,)))
loader = DataLoader(test_set, batch_size=BATCH)
correct = 0
with torch.no_grad():
    for x, y in loader:
        state = (torch.zeros(1, x.size(0), 16), torch.zeros(1, x.size(0), 16))
        out, _ = lstm(x, state)
        correct += (head(out[:, -1]).argmax(1) == y).sum().item()
print(correct / len(loader.dataset))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for skip, length in self.found(facts):
            if length is not None:
                yield self.violation(skip.node.test, data={"leave": skip.leave}, length=facts.source(length),
                                     **self.fields(facts, skip))


class SkippedShortBatch(_SkippedBatches):
    code = "HS214"
    name = "skipped-short-batch"
    summary = "A loop skips the batches smaller than a fixed state size: the last batch's samples are never used"
    message = ("`if {test}: {leave}` skips {loader}'s smaller last batch every epoch: build the state for `{size}` "
               "samples, or drop the batch openly with `drop_last=True`")
    rationale = (
        "Skipping the batches whose size differs from the one a state was built for (`if x.size(0) != batch_size: "
        "continue`) keeps a fixed-size state from failing on a DataLoader's smaller last batch, and silently "
        "drops up to `batch_size - 1` samples every epoch: with a shuffling loader, different ones each time; "
        "without, always the same ones, never trained on. Size the state from the batch "
        "(`model.init_hidden(x.size(0))`), or say that the batch is dropped with `DataLoader(..., drop_last=True)`. "
        "(Advisory: dropping a partial training batch is sometimes meant; HS213 reports the case where a metric "
        "still counts the skipped samples.)"
    )
    torch_error = "Nothing: the loop runs on without the skipped samples."
    default_enabled = False
    bad = (
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

BATCH = 32
gru = nn.GRU(8, 16, batch_first=True)
head = nn.Linear(16, 2)
optimizer = torch.optim.Adam([*gru.parameters(), *head.parameters()])
train_set = TensorDataset(torch.randn(100, 12, 8), torch.randint(0, 2, (100,)))
for x, y in DataLoader(train_set, batch_size=BATCH, shuffle=True):
    if len(x) < BATCH:
        break
    out, _ = gru(x, torch.zeros(1, BATCH, 16))
    loss = nn.functional.cross_entropy(head(out[:, -1]), y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_([*gru.parameters(), *head.parameters()], 1.0)
    optimizer.step()
""",
    )
    good = (
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

BATCH = 32
gru = nn.GRU(8, 16, batch_first=True)
head = nn.Linear(16, 2)
optimizer = torch.optim.Adam([*gru.parameters(), *head.parameters()])
train_set = TensorDataset(torch.randn(100, 12, 8), torch.randint(0, 2, (100,)))
for x, y in DataLoader(train_set, batch_size=BATCH, shuffle=True):
    if len(x) == 0:
        continue
    out, _ = gru(x, torch.zeros(1, len(x), 16))
    loss = nn.functional.cross_entropy(head(out[:, -1]), y)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_([*gru.parameters(), *head.parameters()], 1.0)
    optimizer.step()
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for skip, length in self.found(facts):
            if length is None:
                yield self.violation(skip.node.test, data={"leave": skip.leave}, **self.fields(facts, skip))
