"""HS310: a state handed to a model whose forward has no parameter for it (TypeError) or never reads the one it
binds (the state is dropped): however forward drops it (never read, overwritten first, a star parameter never
used) and however the caller passes it (carried, from an initialiser, by keyword, through a trainer's attribute,
from another module); silent wherever forward may read it."""

from __future__ import annotations

import textwrap

import pytest

from conftest import codes_in, lint

_SCRIPT = """\
import torch
import torch.nn as nn


class CharModel(nn.Module):
    def __init__(self, vocab=50, width=64):
        super().__init__()
        self.width = width
        self.embed = nn.Embedding(vocab, 32)
        self.lstm = nn.LSTM(32, width, batch_first=True)
        self.head = nn.Linear(width, vocab)

    def init_hidden(self, batch):
        return torch.zeros(1, batch, self.width), torch.zeros(1, batch, self.width)

{forward}


model = CharModel()
optimizer = torch.optim.Adam(model.parameters())
batches = [(torch.randint(0, 50, (4, 12)), torch.randint(0, 50, (4, 12)))]
{loop}
"""

_CARRY = """\
hidden = model.init_hidden(4)
for tokens, targets in batches:
    hidden = tuple(h.detach() for h in hidden)
    logits, hidden = model(tokens, hidden)
    loss = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""

_DROPPING = {
    "never read": """\
    def forward(self, tokens, hidden=None):
        out, hidden = self.lstm(self.embed(tokens))
        return self.head(out), hidden""",
    "overwritten first": """\
    def forward(self, tokens, hidden):
        hidden = self.init_hidden(tokens.size(0))
        out, hidden = self.lstm(self.embed(tokens), hidden)
        return self.head(out), hidden""",
    "overwritten on every branch": """\
    def forward(self, tokens, hidden):
        if tokens.is_cuda:
            hidden = tuple(h.cuda() for h in self.init_hidden(tokens.size(0)))
        else:
            hidden = self.init_hidden(tokens.size(0))
        out, hidden = self.lstm(self.embed(tokens), hidden)
        return self.head(out), hidden""",
    "star args never read": """\
    def forward(self, tokens, *args):
        out, state = self.lstm(self.embed(tokens))
        return self.head(out), state""",
    "only tested": """\
    def forward(self, tokens, hidden=None):
        if isinstance(hidden, tuple) or hidden is None:
            pass
        out, state = self.lstm(self.embed(tokens))
        return self.head(out), state""",
    "one line, no parameter": """\
    def forward(self, tokens): return self.lstm(self.embed(tokens))""",
    "no parameter": """\
    def forward(self, tokens):
        out, state = self.lstm(self.embed(tokens))
        return self.head(out), state""",
}

_CALLS = {
    "carried": _CARRY,
    "initialiser": """\
for tokens, targets in batches:
    logits, _ = model(tokens, model.init_hidden(tokens.size(0)))
""",
    "held temporary": """\
for tokens, targets in batches:
    start = model.init_hidden(tokens.size(0))
    logits, _ = model(tokens, start)
""",
    "trainer attribute": """\
class Trainer:
    def __init__(self):
        self.model = CharModel()

    def fit(self, batches):
        hidden = None
        for tokens, targets in batches:
            logits, hidden = self.model(tokens, hidden)
            hidden = tuple(h.detach() for h in hidden)
""",
}


@pytest.mark.parametrize("forward", sorted(_DROPPING))
@pytest.mark.parametrize("call", sorted(_CALLS))
def test_a_state_forward_cannot_receive_or_never_reads_is_reported(forward, call):
    source = _SCRIPT.format(forward=_DROPPING[forward], loop=_CALLS[call])
    assert [f.code for f in lint(source, ["HS310"])] == ["HS310"]


_READING = {
    "passed on": """\
    def forward(self, tokens, hidden=None):
        out, hidden = self.lstm(self.embed(tokens), hidden)
        return self.head(out), hidden""",
    "defaulted when None": """\
    def forward(self, tokens, hidden=None):
        if hidden is None:
            hidden = self.init_hidden(tokens.size(0))
        out, hidden = self.lstm(self.embed(tokens), hidden)
        return self.head(out), hidden""",
    "overwritten on one branch only": """\
    def forward(self, tokens, hidden):
        if tokens.size(0) != hidden[0].size(1):
            hidden = self.init_hidden(tokens.size(0))
        out, hidden = self.lstm(self.embed(tokens), hidden)
        return self.head(out), hidden""",
    "through a helper": """\
    def _step(self, x, state):
        return self.lstm(x, state)

    def forward(self, tokens, hidden):
        out, hidden = self._step(self.embed(tokens), hidden)
        return self.head(out), hidden""",
    "star args passed on": """\
    def forward(self, tokens, *args):
        out, state = self.lstm(self.embed(tokens), *args)
        return self.head(out), state""",
    "kept on self": """\
    def forward(self, tokens, hidden):
        self.hidden = hidden
        out, self.hidden = self.lstm(self.embed(tokens), self.hidden)
        return self.head(out), self.hidden""",
    "read in a closure": """\
    def forward(self, tokens, hidden):
        def run(x):
            return self.lstm(x, hidden)
        out, hidden = run(self.embed(tokens))
        return self.head(out), hidden""",
    "locals": """\
    def forward(self, tokens, hidden):
        state = locals()["hidden"]
        out, state = self.lstm(self.embed(tokens), state)
        return self.head(out), state""",
    "a stub": """\
    def forward(self, tokens, hidden):
        raise NotImplementedError""",
    "decorated": """\
    @torch.jit.ignore
    def forward(self, tokens, hidden):
        out, hidden = self.lstm(self.embed(tokens))
        return self.head(out), hidden""",
    "call overridden": """\
    def __call__(self, tokens, hidden):
        return self.forward(tokens, hidden)

    def forward(self, tokens, hidden=None):
        out, hidden = self.lstm(self.embed(tokens))
        return self.head(out), hidden""",
}


@pytest.mark.parametrize("forward", sorted(_READING))
def test_a_forward_that_may_read_the_state_is_left_alone(forward):
    assert lint(_SCRIPT.format(forward=_READING[forward], loop=_CARRY), ["HS310"]) == []


def test_an_argument_that_is_not_a_state_is_left_alone():
    forward = """\
    def forward(self, tokens, lengths):
        out, state = self.lstm(self.embed(tokens))
        return self.head(out), state"""
    loop = "for tokens, targets in batches:\n    logits, _ = model(tokens, targets.ne(0).sum(1))\n"
    assert lint(_SCRIPT.format(forward=forward, loop=loop), ["HS310"]) == []


def test_a_model_whose_forward_is_not_known_is_left_alone():
    source = textwrap.dedent("""\
        import torch.nn as nn
        from somewhere import Base


        class CharModel(Base):
            def __init__(self):
                super().__init__()
                self.lstm = nn.LSTM(8, 16)


        model = CharModel()
        hidden = None
        for x in []:
            out, hidden = model(x, hidden)
    """)
    assert lint(source, ["HS310"]) == []


def test_the_message_names_the_parameter_and_the_call_to_write():
    [finding] = lint(_SCRIPT.format(forward=_DROPPING["never read"], loop=_CARRY), ["HS310"])
    assert finding.message == (
        "`model(tokens, hidden)` passes the state `hidden` as `hidden` of `CharModel.forward`, which never uses it: "
        "every call starts from a zero state; pass it on: `self.lstm(self.embed(tokens), hidden)`")


def test_a_keyword_forward_does_not_take_raises():
    forward = _READING["passed on"].replace("hidden=None", "state=None").replace(
        "tokens), hidden)", "tokens), state)")
    loop = "hidden = None\nfor tokens, targets in batches:\n    logits, hidden = model(tokens, hidden=hidden)\n"
    [finding] = lint(_SCRIPT.format(forward=forward, loop=loop), ["HS310"])
    assert "has no parameter `hidden`: the call raises TypeError" in finding.message


_MODEL_MODULE = _SCRIPT.split("\n\nmodel = ")[0] + "\n"


@pytest.mark.parametrize("forward, expected", [("never read", [(7, "HS310")]), ("no parameter", [(7, "HS310")]),
                                               ("passed on", [])])
def test_the_model_may_come_from_another_module(tmp_path, forward, expected):
    text = {**_DROPPING, **_READING}[forward]
    driver = "from model import CharModel\n\nmodel = CharModel()\nhidden = None\nfor tokens in []:\n" \
             "    hidden = tuple(h.detach() for h in hidden) if hidden else None\n" \
             "    logits, hidden = model(tokens, hidden)\n"
    found = codes_in(tmp_path, {"model.py": _MODEL_MODULE.format(forward=text), "train.py": driver}, "train.py")
    assert [(line, code) for line, code in found if code == "HS310"] == expected


_ATTENTION = """\
import torch
import torch.nn as nn


class AttnDecoder(nn.Module):
    def __init__(self, width=32, vocab=40):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.gru = nn.GRU(width, width)
        self.out = nn.Linear(2 * width, vocab)

    def forward(self, token, last_context, last_hidden, encoder_outputs):
        rnn_output, hidden = self.gru(self.embed(token).unsqueeze(0), {state})
        weights = torch.softmax(encoder_outputs @ rnn_output[-1].unsqueeze(-1), dim=0)
        context = (weights * encoder_outputs).sum(0)
        return self.out(torch.cat([rnn_output[-1], context], -1)), context, hidden, weights


decoder = AttnDecoder()
context, hidden, outputs = torch.zeros(2, 32), torch.zeros(1, 2, 32), torch.zeros(7, 2, 32)
for token in torch.zeros(5, 2, dtype=torch.long):
    logits, context, hidden, weights = decoder(token, context, hidden, outputs)
"""


@pytest.mark.parametrize("state, expected", [("last_hidden", []), ("None", ["HS310"])])
def test_a_value_carried_beside_the_state_is_not_the_state(state, expected):
    """The attention context comes back beside the state; forward ignoring the context is not a dropped state,
    forward ignoring the state is."""
    assert [f.code for f in lint(_ATTENTION.format(state=state), ["HS310"])] == expected
