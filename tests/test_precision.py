"""False alarms found on real code, each pinned by a lookalike: the rule needs real evidence."""

from __future__ import annotations

import textwrap

import libcst as cst

from conftest import FIXTURES, lint
from hs_lint.facts import FileFacts

TRAINER = textwrap.dedent("""\
    import torch.nn as nn


    class Trainer:
        def __init__(self, model, optimizer, batches):
            self.model, self.optimizer, self.batches = model, optimizer, batches

        def train(self):
            for x, y in self.batches:
                self.model.train()
                out, _ = self.model(x)
                self.optimizer.zero_grad()
                ((out - y) ** 2).mean().backward()
                nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                self.optimizer.step()
    """)


def test_module_mode_switch_is_not_the_files_own_train_method():
    """``self.model.train()`` is nn.Module.train, even when the only ``train`` in the file is the trainer's."""
    facts = FileFacts(cst.parse_module(TRAINER))
    call = next(s for s in facts.calls if facts.source(s.node) == "self.model.train()")
    assert facts.method_called(call.node, call.scope) is None
    assert lint(TRAINER) == []


def test_shuffled_carry_names_the_loader_not_the_enumerate_call():
    source = (FIXTURES / "bad" / "life_shuffled.py").read_text(encoding="utf-8")
    messages = [f.message for f in lint(source, ["HS304"])]
    assert any("`train_loader`" in m for m in messages), messages
    assert not any("enumerate(" in m for m in messages), messages


def test_one_state_fed_to_two_recurrent_calls_is_one_finding():
    source = (FIXTURES / "bad" / "device_cell_forecaster.py").read_text(encoding="utf-8")
    positions = [(f.line, f.col) for f in lint(source, ["HS401"])]
    assert positions == sorted(set(positions)) and len(positions) == 3


def test_cpu_only_file_gets_no_device_finding_and_the_same_code_on_a_gpu_does():
    cpu = (FIXTURES / "good" / "device_cpu_forecaster.py").read_text(encoding="utf-8")
    assert lint(cpu) == []
    on_gpu = cpu + '\nmodel = CellForecaster().double().to("cuda")\n'
    assert {f.code for f in lint(on_gpu)} == {"HS401"}
