"""The harness's rewrites keep a program's meaning: each on small programs whose result is known.

The default run checks what each rewrite writes on a few lines; the slow run executes every variant of a small
torch training script next to the original and demands the same printed result (seeded, CPU).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from variants.catalogue import BY_NAME, TRANSFORMS
from variants.program import Program


def _variants(name: str, source: str) -> list[str]:
    return [v.program.files["train.py"] for v in BY_NAME[name].variants(Program.single(textwrap.dedent(source)))]


def test_reuse_name_merges_the_new_state_into_the_old_one():
    source = """\
        def run(rnn, xs, h):
            for x in xs:
                out, h_new = rnn(x, h)
                h = h_new
            return h
        """
    assert any("out, h = rnn(x, h)" in v and "h_new" not in v for v in _variants("reuse-name", source))


def test_reuse_name_refuses_when_the_old_value_is_read_later():
    source = """\
        def run(rnn, x, h):
            out, h_new = rnn(x, h)
            return h, h_new
        """
    details = [v.detail for v in BY_NAME["reuse-name"].variants(Program.single(textwrap.dedent(source)))]
    assert details and "train.py: h_new merged into h" not in details


def test_inline_temporary_needs_a_single_read_in_the_next_statement():
    once = "def f(rnn, embed, x):\n    e = embed(x)\n    return rnn(e)\n"
    twice = "def f(rnn, embed, x):\n    e = embed(x)\n    return rnn(e), e\n"
    assert _variants("inline-temporary", once) == ["def f(rnn, embed, x):\n    return rnn(embed(x))\n"]
    assert _variants("inline-temporary", twice) == []


def test_for_to_while_keeps_continue_and_the_expect_mark():
    source = "for i in range(3):  # expect: HS101\n    if i == 1:\n        continue\n    print(i)\n"
    (variant,) = _variants("for-to-while", source)
    assert "while True:  # expect: HS101" in variant
    assert _run(variant) == _run(source) == "0\n2\n"


def test_configuration_files_hold_the_literal_values():
    source = "import torch.nn as nn\nrnn = nn.LSTM(4, 8, 2, bidirectional=True)\n"
    (variant,) = BY_NAME["config-json"].variants(Program.single(source))
    (json_name,) = [n for n in variant.program.files if n.endswith(".json")]
    assert '"num_layers": 2' in variant.program.files[json_name]
    assert '"bidirectional": true' in variant.program.files[json_name]


def _run(source: str, cwd=None) -> str:
    return subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True, cwd=cwd).stdout


SCRIPT = '''\
"""A small seeded training run: every rewrite must leave what it prints unchanged."""
import torch
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self, features, hidden):
        super(Tagger, self).__init__()
        self.rnn = nn.LSTM(features, hidden, 2, batch_first=True)
        self.head = nn.Linear(hidden, 3)

    def init_hidden(self, batch):
        return (torch.zeros(2, batch, 8), torch.zeros(2, batch, 8))

    def forward(self, x, state):
        out, state_new = self.rnn(x, state)
        logits = self.head(out[:, -1, :])
        return logits, state_new


def detach(state):
    return tuple(s.detach() for s in state)


torch.manual_seed(0)
model = Tagger(4, 8)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.randn(3, 2, 5, 4)
state = model.init_hidden(2)
total = 0.0
for x in data:
    state = detach(state)
    logits, state = model(x, state)
    loss = logits.pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    total += loss.item()
print(round(total, 5))
'''


@pytest.mark.slow
@pytest.mark.parametrize("transform", TRANSFORMS, ids=[t.name for t in TRANSFORMS])
def test_every_variant_prints_what_the_original_prints(transform, tmp_path):
    torch = pytest.importorskip("torch")
    del torch
    expected = _run(SCRIPT)
    for i, variant in enumerate(transform.variants(Program.single(SCRIPT))):
        folder = tmp_path / str(i)
        variant.program.write(folder)
        result = subprocess.run([sys.executable, "train.py"], capture_output=True, text=True, cwd=folder)
        assert result.returncode == 0 and result.stdout == expected, (variant.detail, result.stderr[-2000:])
