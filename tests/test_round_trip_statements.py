"""HS107 follows a numpy round trip spelled over several statements: the temporaries a rebuilt tensor reads
(``FileFacts.temporary_value``), and a rebuilt tensor that reaches the return inside a larger expression."""

from __future__ import annotations

import pytest

from conftest import lint

_MODEL = """\
import numpy as np
import torch
import torch.nn as nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 16, batch_first=True)
        self.head = nn.Linear(16, 1)

    def forward(self, x):
        out, (h, c) = self.lstm(x)
{body}
"""


@pytest.mark.parametrize("body", [
    "        arr = h.detach().numpy()\n        last = torch.tensor(arr[-1])\n        return self.head(last)",
    "        values = out[:, -1].tolist()\n        return self.head(torch.tensor(values))",
    "        host = h.detach().cpu()\n        arr = host.numpy()\n        return self.head(torch.from_numpy(arr[-1]))",
    "        pooled = out.mean(dim=1)\n        y = self.head(torch.FloatTensor(pooled.data.numpy()))\n        return y",
    # one name rebound step by step: each read sees the assignment that reaches it
    "        arr = h.detach().cpu().numpy()\n        arr = arr[-1]\n        return self.head(torch.tensor(arr))",
    "        h = h.detach().numpy()\n        h = torch.FloatTensor(h)\n        return self.head(h[-1])",
    "        if x.is_cuda:\n            x = x.cpu()\n        arr = out.detach().numpy()\n        arr = arr.mean(1)\n"
    "        return self.head(torch.from_numpy(arr))",
    # items gathered in a loop over the host copy
    "        vals = []\n        for row in out.tolist():\n            vals.append(row[-1])\n"
    "        return self.head(torch.tensor(vals))",
    "        rows = []\n        for step in out.detach().numpy():\n            rows.extend(step)\n"
    "        return self.head(torch.Tensor(rows))",
])
def test_a_round_trip_over_several_statements_is_found(body):
    assert [f.code for f in lint(_MODEL.format(body=body), ["HS107"])] == ["HS107"]


@pytest.mark.parametrize("body, fix", [
    ("        arr = h.detach().cpu().numpy()\n        arr = arr[-1]\n        return self.head(torch.tensor(arr))",
     "`h[-1]`"),
    ("        vals = []\n        for row in out.tolist():\n            vals.append(row[-1])\n"
     "        return self.head(torch.tensor(vals))", "`out`"),
])
def test_the_fix_names_the_tensor_the_temporaries_stood_for(body, fix):
    [finding] = lint(_MODEL.format(body=body), ["HS107"])
    assert finding.message.endswith(f"Keep the tensor: {fix}")


@pytest.mark.parametrize("body", [
    "        arr = h.detach().numpy()\n        print(arr.mean())\n        return self.head(h[-1])",  # logged only
    "        arr = h.detach().numpy()\n        arr = h[-1]\n        return self.head(torch.as_tensor(arr))",  # rebound
    "        with torch.no_grad():\n            values = out[:, -1].tolist()\n        return self.head(out[:, -1]), values",
    "        arr = out.detach().numpy()\n        arr = np.zeros(3)\n        return self.head(torch.from_numpy(arr))",  # replaced
    "        vals = []\n        for row in x.tolist():\n            vals.append(row[-1])\n"  # the input, not the output
    "        return self.head(out[:, -1]) + torch.tensor(vals).sum()",
    "        vals = [0.0]\n        log = [v for v in out.tolist()]\n        return self.head(torch.tensor(vals))",
])
def test_a_round_trip_that_does_not_feed_the_result_is_left_alone(body):
    assert lint(_MODEL.format(body=body), ["HS107"]) == []
