"""A state kept on ``self`` is reset by a method the class inherits (from a base class in this file or in
another module, summarised there), unless the class overrides that method with one that does not reset."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in, lint

_BASE = textwrap.dedent("""\
    import torch.nn as nn


    class StatefulBase(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 16)
            self.hidden = None

        def reset_state(self):
            self.hidden = None
    """)

_MODEL = textwrap.dedent("""\
    {imports}

    class Stateful(StatefulBase):
    {override}
        def forward(self, x):
            out, self.hidden = self.gru(x, self.hidden)
            return out


    model = Stateful()
    for x in sequences:
    {reset}    model(x).sum().backward()
    """)

_OVERRIDE = "    def reset_state(self):\n        print('kept')\n\n"


@pytest.mark.parametrize(("override", "reset", "expected"), [
    ("", "    model.reset_state()\n", []),
    ("", "", ["HS303"]),
    (_OVERRIDE, "    model.reset_state()\n", ["HS303"]),  # the override does not reset
])
def test_a_reset_inherited_from_another_module_counts(tmp_path, override, reset, expected):
    model = _MODEL.format(imports="from base import StatefulBase", override=override, reset=reset)
    line = next(n for n, text in enumerate(model.splitlines(), 1) if "out, self.hidden" in text)
    found = [f for f in codes_in(tmp_path, {"base.py": _BASE, "model.py": model}, "model.py") if f[1] == "HS303"]
    assert found == [(line, code) for code in expected]


@pytest.mark.parametrize(("override", "reset", "expected"), [
    ("", "    model.reset_state()\n", []),
    ("", "", ["HS303"]),
    (_OVERRIDE, "    model.reset_state()\n", ["HS303"]),
])
def test_a_reset_inherited_from_a_base_in_the_same_file_counts(override, reset, expected):
    source = _BASE + "\n\n" + _MODEL.format(imports="", override=override, reset=reset)
    assert [f.code for f in lint(source, ["HS303"])] == expected
