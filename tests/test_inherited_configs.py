"""A module a base class of another file builds from its ``__init__`` parameters, in a subclass no code builds:
the parameters are symbols, the same in the module's configuration and in ``self.<attr>`` read from them, so
a layout can be judged without their values (as when the base class is in the same file)."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in, lint

_BASE = textwrap.dedent("""\
    import torch.nn as nn


    class EncoderBase(nn.Module):
        def __init__(self, input_size, hidden_size, num_layers):
            super().__init__()
            {attrs}
            self.gru = nn.GRU(input_size, hidden_size, num_layers, batch_first=True, bidirectional=True)
    """)

_ATTRS = {
    "two statements": "self.hidden_size = hidden_size\n        self.num_layers = num_layers",
    "one tuple assignment": "self.hidden_size, self.num_layers = hidden_size, num_layers",
}

_SUBCLASS = textwrap.dedent("""\
    {imports}


    class Encoder(EncoderBase):
        def forward(self, x):
            h0 = x.new_zeros({shape})
            out, h_n = self.gru(x, h0)
            return out
    """)

_BATCH_FIRST = "x.size(0), self.num_layers * 2, self.hidden_size"
_RIGHT = "self.num_layers * 2, x.size(0), self.hidden_size"
_ONE_DIRECTION = "self.num_layers, x.size(0), self.hidden_size"


@pytest.mark.parametrize("attrs", _ATTRS.values(), ids=_ATTRS.keys())
@pytest.mark.parametrize(("shape", "expected"), [(_BATCH_FIRST, [(6, "HS201")]), (_RIGHT, [])])
def test_a_base_class_in_another_module_configures_by_its_parameters(tmp_path, attrs, shape, expected):
    files = {"base.py": _BASE.format(attrs=attrs),
             "encoder.py": _SUBCLASS.format(imports="from base import EncoderBase", shape=shape)}
    assert [f for f in codes_in(tmp_path, files, "encoder.py") if f[1].startswith("HS2")] == expected


@pytest.mark.parametrize("attrs", _ATTRS.values(), ids=_ATTRS.keys())
def test_the_same_answer_as_with_the_base_class_in_the_same_file(tmp_path, attrs):
    source = _BASE.format(attrs=attrs) + "\n\n" + _SUBCLASS.format(imports="", shape=_BATCH_FIRST)
    assert [f.code for f in lint(source, ["HS201"])] == ["HS201"]


def test_a_layer_count_that_is_only_a_symbol_makes_no_claim_about_its_value(tmp_path):
    """num_layers (a symbol) against num_layers*2: provably different, so HS202 says so; against a literal
    it could be anything, so nothing is said."""
    files = {"base.py": _BASE.format(attrs=_ATTRS["two statements"]),
             "encoder.py": _SUBCLASS.format(imports="from base import EncoderBase", shape=_ONE_DIRECTION)}
    assert [code for _, code in codes_in(tmp_path, files, "encoder.py")] == ["HS202"]
    literal = _SUBCLASS.format(imports="from base import EncoderBase", shape="4, x.size(0), self.hidden_size")
    assert codes_in(tmp_path / "literal", {**files, "encoder.py": literal}, "encoder.py") == []


_DEVICE_BASE = textwrap.dedent("""\
    import torch.nn as nn


    class {name}({parent}):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(8, 16)
    """)

_DEVICE_MODEL = textwrap.dedent("""\
    import torch
    from base import EncoderBase


    class Encoder(EncoderBase):
        def forward(self, x):
            h0 = torch.zeros(1, x.size(1), 16{device})
            out, h = self.gru(x, h0)
            return out


    encoder = Encoder().to("cuda")
    """)


@pytest.mark.parametrize(("device", "expected"), [("", [(7, "HS401")]), (", device=x.device", [])])
def test_a_module_class_through_a_base_of_another_module_places_its_state(tmp_path, device, expected):
    files = {"base.py": _DEVICE_BASE.format(name="EncoderBase", parent="nn.Module"),
             "model.py": _DEVICE_MODEL.format(device=device)}
    assert codes_in(tmp_path, files, "model.py") == expected


def test_a_module_class_two_bases_away(tmp_path):
    files = {"root.py": "import torch.nn as nn\n\n\nclass Root(nn.Module):\n    pass\n",
             "base.py": "from root import Root\n" + _DEVICE_BASE.format(name="EncoderBase", parent="Root"),
             "model.py": _DEVICE_MODEL.format(device="")}
    assert codes_in(tmp_path, files, "model.py") == [(7, "HS401")]
