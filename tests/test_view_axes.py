"""HS212: a view/reshape that reorders axes. An axis is identified by the source's own ``size(k)``/``shape[k]``
(of the same version of the tensor), by the input a recurrent output came from, or by a size equal to exactly
one known axis; however the sizes are spelled and named, a swap is reported, and every view that keeps the order
(merges, splits, the documented ``view(seq, batch, dirs, hidden)``), or that reads a tensor transposed in between,
stays silent."""

from __future__ import annotations

import textwrap

import pytest

from conftest import lint

_MODULE = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 32, bidirectional=True)

    def forward(self, x):
{body}
"""


def _forward(body: str) -> str:
    return _MODULE.format(body=textwrap.indent(textwrap.dedent(body), " " * 8))


SWAPPED = {
    "unpacked shape": """\
        b, t, f = x.shape
        x = x.view(t, b, f)
        return self.lstm(x)[0]
    """,
    "unpacked size()": """\
        b, t, _ = x.size()
        return self.lstm(x.reshape(t, b, -1))[0]
    """,
    "sizes written in the call": """\
        y = x.contiguous().view(x.size(1), x.size(0), -1)
        return self.lstm(y)[0]
    """,
    "shape subscripts through names": """\
        steps = x.shape[1]
        batch = x.shape[0]
        return self.lstm(x.view([steps, batch, 16]))[0]
    """,
    "a tuple of sizes": """\
        n, t = x.size(0), x.size(1)
        return self.lstm(x.reshape((t, n, 16)))[0]
    """,
    "the output read back with the input's sizes": """\
        seq_len, batch = x.size(0), x.size(1)
        out, _ = self.lstm(x)
        return out.view(batch, seq_len, -1)
    """,
    "the output through its own sizes": """\
        out, _ = self.lstm(x)
        return out.reshape(out.size(1), out.size(0), 64)
    """,
    "sizes held in a temporary": """\
        sizes = x.size()
        b, t = sizes[0], sizes[1]
        return self.lstm(x.view(t, b, -1))[0]
    """,
    "the output of a converted input": """\
        seq_len, batch = x.size(0), x.size(1)
        inputs = x.float()
        out, _ = self.lstm(inputs)
        return out.view(batch, seq_len, -1)
    """,
    "a known shape": """\
        x = torch.randn(8, 5, 16)
        return self.lstm(x.view(5, 8, 16))[0]
    """,
}

KEPT_ORDER = {
    "transposed first": """\
        b, t, f = x.shape
        x = x.transpose(0, 1).contiguous().view(t, b, f)
        return self.lstm(x)[0]
    """,
    "sizes of the new version": """\
        x = x.permute(1, 0, 2)
        t, b, _ = x.shape
        return self.lstm(x.contiguous().view(t, b, -1))[0]
    """,
    "sizes of the old version, tensor transposed in between": """\
        b, t = x.size(0), x.size(1)
        x = x.transpose(0, 1)
        out, _ = self.lstm(x)
        return out.contiguous().view(t, b, -1)
    """,
    "directions split out": """\
        seq_len, batch = x.size(0), x.size(1)
        out, _ = self.lstm(x)
        return out.view(seq_len, batch, 2, 32)
    """,
    "steps merged": """\
        seq_len, batch = x.size(0), x.size(1)
        out, _ = self.lstm(x)
        return out.view(seq_len * batch, -1)
    """,
    "flattened per step": """\
        out, _ = self.lstm(x)
        return out.contiguous().view(-1, out.size(2))
    """,
    "one size named twice": """\
        b = x.size(0)
        return self.lstm(x.view(b, b, -1))[0]
    """,
    "a size of 1": """\
        x = torch.randn(1, 5, 16)
        return self.lstm(x.view(5, 1, 16))[0]
    """,
    "h_n is HS208's": """\
        _, (h_n, _) = self.lstm(x)
        return h_n.reshape(h_n.size(1), h_n.size(0), -1)
    """,
}


@pytest.mark.parametrize("body", SWAPPED.values(), ids=SWAPPED.keys())
def test_a_view_that_swaps_two_axes_is_reported(body):
    findings = [f for f in lint(_forward(body)) if f.code == "HS212"]
    assert len(findings) == 1, findings
    assert "transpose(" in findings[0].message


@pytest.mark.parametrize("body", KEPT_ORDER.values(), ids=KEPT_ORDER.keys())
def test_a_view_that_keeps_the_order_is_silent(body):
    assert "HS212" not in {f.code for f in lint(_forward(body))}


def test_the_message_names_the_sizes_and_the_axes_roles():
    (finding,) = [f for f in lint(_forward(SWAPPED["the output read back with the input's sizes"]))
                  if f.code == "HS212"]
    assert "`batch` (batch axis 1 of `out`) before `seq_len` (time axis 0)" in finding.message
    assert "`out.transpose(0, 1)`" in finding.message
    assert finding.data["moved"] == [1, 0]


def test_a_size_before_the_axis_that_differs_is_reported():
    source = _forward("""\
        h = torch.zeros(4, 8, 32)
        return h.view(8, -1)
    """)
    (finding,) = [f for f in lint(source) if f.code == "HS212"]
    assert "after 1 values, where `h` has 4 before it" in finding.message


def test_a_helper_that_relays_a_batch_first_tensor():
    source = """\
import torch.nn as nn


def time_major(batch):
    n, steps, width = batch.size()
    return batch.view(steps, n, width)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32)

    def forward(self, x):
        return self.gru(time_major(x))[0]
"""
    assert [(f.line, f.code) for f in lint(source)] == [(6, "HS212")]
