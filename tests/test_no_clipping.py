"""HS502's suggestion comes from the file: the parameters the optimizer updates and a clip value the file defines;
silent under Horovod's DistributedOptimizer."""

from __future__ import annotations

import pytest

from conftest import lint

_SCRIPT = """\
import argparse

import torch
import torch.nn as nn
{imports}
{config}
encoder = nn.GRU(8, 16)
decoder = nn.GRU(16, 16)
optimizer = {optimizer}
for x, y in loader:
    out, _ = decoder(encoder(x)[0])
    optimizer.zero_grad()
    ((out - y) ** 2).mean().backward()
    optimizer.step()
"""


def _message(optimizer: str, config: str = "", imports: str = "") -> str | None:
    source = _SCRIPT.format(optimizer=optimizer, config=config, imports=imports)
    found = [f.message for f in lint(source, ["HS502"])]
    return found[0] if found else None


@pytest.mark.parametrize(("optimizer", "params"), [
    ("torch.optim.Adam(encoder.parameters())", "encoder.parameters()"),
    ("torch.optim.SGD(list(encoder.parameters()) + list(decoder.parameters()), lr=0.1)",
     "list(encoder.parameters()) + list(decoder.parameters())"),
    ("torch.optim.Adam(params=decoder.parameters(), lr=1e-3)", "decoder.parameters()"),
    ("torch.optim.Adam([{'params': encoder.parameters()}, {'params': decoder.parameters(), 'lr': 1e-4}])",
     '(p for group in optimizer.param_groups for p in group["params"])'),
])
def test_the_suggestion_clips_what_the_optimizer_updates(optimizer, params):
    assert f"clip_grad_norm_({params}, max_norm=1.0)" in _message(optimizer)


@pytest.mark.parametrize(("config", "clip"), [
    ("CLIP = 0.25\n", "CLIP"),
    ("grad_clip = 5.0\n", "grad_clip"),
    ("parser = argparse.ArgumentParser()\nparser.add_argument('--clip', type=float, default=0.25)\n"
     "args = parser.parse_args()\n", "args.clip"),
    ("parser = argparse.ArgumentParser()\nparser.add_argument('--max-grad-norm', type=float, default=1)\n"
     "opts = parser.parse_args()\n", "opts.max_grad_norm"),
    ("clipped = True\n", "1.0"),
])
def test_the_clip_value_is_the_files_own(config, clip):
    assert f"max_norm={clip})" in _message("torch.optim.Adam(encoder.parameters())", config)


def test_horovods_distributed_optimizer_is_left_alone():
    wrapped = "hvd.DistributedOptimizer(torch.optim.Adam(encoder.parameters()))"
    assert _message(wrapped, imports="import horovod.torch as hvd") is None
    assert _message("torch.optim.Adam(encoder.parameters())", imports="import horovod.torch as hvd") is not None
