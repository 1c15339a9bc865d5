"""HS402 for a class whose recurrent layer and initialiser are in a base class, and whose forward and
construction are in other modules: the models built from its subclasses are its models."""

from __future__ import annotations

import pytest

from conftest import codes_in

BASE = """\
import torch
import torch.nn as nn


class GeneratorBase(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 32, batch_first=True)

    def init_hidden(self, batch):
        h = torch.zeros(1, batch, 32)
        if torch.cuda.is_available():
            h = h.cuda()
        return h
"""
MODEL = """\
from base import GeneratorBase


class Generator(GeneratorBase):
    def forward(self, x, h):
        return self.gru(x, h)
"""
GENERATE = """\
import torch

from model import Generator

model = Generator(){moved}
model.load_state_dict(torch.load("generator.pt"))
out, h = model(torch.zeros(1, 5, 8), model.init_hidden(1))
"""


def _base_findings(tmp_path, moved: str, built: bool = True) -> list[tuple[int, str]]:
    files = {"base.py": BASE, "model.py": MODEL}
    if built:
        files["generate.py"] = GENERATE.format(moved=moved)
    return codes_in(tmp_path, files, "base.py")


def test_a_subclass_built_in_another_module_and_never_moved(tmp_path):
    assert (13, "HS402") in _base_findings(tmp_path, "")


@pytest.mark.parametrize("moved", [".to(\"cuda\" if torch.cuda.is_available() else \"cpu\")", ".cuda()"])
def test_a_subclass_built_and_moved_is_silent(tmp_path, moved):
    assert "HS402" not in [code for _, code in _base_findings(tmp_path, moved)]


def test_a_class_nobody_builds_is_silent(tmp_path):
    assert "HS402" not in [code for _, code in _base_findings(tmp_path, "", built=False)]
