"""What HS103-HS105 and HS301-HS304 claim, shown with real tiny torch modules.

Each test lints the pattern (the rule fires) and runs its minimal equivalent (the effect happens).
"""

from __future__ import annotations

import pytest

from conftest import lint

torch = pytest.importorskip("torch")
nn = torch.nn


def codes(source: str) -> set[str]:
    return {f.code for f in lint(source)}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_hs103_detach_on_an_lstm_state_tuple_raises():
    assert "HS103" in codes(
        "import torch.nn as nn\nlstm = nn.LSTM(3, 4)\nout, hidden = lstm(x)\nhidden = hidden.detach()\n"
    )
    lstm = nn.LSTM(3, 4)
    _, hidden = lstm(torch.randn(5, 2, 3))
    with pytest.raises(AttributeError, match="'tuple' object has no attribute 'detach'"):
        hidden.detach()
    assert all(not s.requires_grad for s in tuple(s.detach() for s in hidden))  # the suggested fix works


PARTIAL = """\
import torch.nn as nn

lstm = nn.LSTM(3, 4)
for x in batches:
    h = h.detach()
    out, (h, c) = lstm(x, (h, c))
    out.sum().backward()
"""


def test_hs104_detaching_only_h_still_backpropagates_into_the_freed_graph():
    assert codes(PARTIAL) == {"HS104"}
    lstm = nn.LSTM(3, 4)
    h, c = torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        for _ in range(2):
            h = h.detach()
            out, (h, c) = lstm(torch.randn(5, 2, 3), (h, c))
            out.sum().backward()
    h, c = torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)
    for _ in range(2):  # detaching both is fine
        h, c = h.detach(), c.detach()
        out, (h, c) = lstm(torch.randn(5, 2, 3), (h, c))
        out.sum().backward()


def graph_size(tensor) -> int:
    seen, stack = set(), [tensor.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(next_fn for next_fn, _ in node.next_functions)
    return len(seen)


def test_hs105_retain_graph_makes_every_backward_walk_a_growing_graph():
    assert "HS105" in codes(
        "import torch.nn as nn\nrnn = nn.GRU(3, 4)\nh = h0\nfor x in batches:\n"
        "    out, h = rnn(x, h)\n    out.sum().backward(retain_graph=True)\n"
    )
    rnn = nn.GRU(3, 4)

    def sizes(detach: bool) -> list[int]:
        h, found = torch.zeros(1, 2, 4), []
        for _ in range(4):
            if detach:
                h = h.detach()
            out, h = rnn(torch.randn(5, 2, 3), h)
            loss = out.sum()
            found.append(graph_size(loss))
            loss.backward(retain_graph=True)
        return found

    grown = sizes(detach=False)
    assert grown == sorted(grown) and grown[-1] > 3 * grown[0]
    assert len(set(sizes(detach=True))) == 1


def test_hs301_without_an_epoch_reset_the_next_epoch_starts_from_the_end_of_the_data():
    assert "HS301" in codes(
        "import torch.nn as nn\nrnn = nn.GRU(3, 4)\nh = None\nfor epoch in range(2):\n    for x in batches:\n"
        "        h = None if h is None else h.detach()\n        out, h = rnn(x, h)\n        out.sum().backward()\n"
    )
    rnn = nn.GRU(3, 4)
    batches = [torch.randn(5, 2, 3) for _ in range(3)]
    h, first_outputs = None, []
    for _ in range(2):
        for index, x in enumerate(batches):
            h = None if h is None else h.detach()
            out, h = rnn(x, h)
            if index == 0:
                first_outputs.append(out.detach())
    assert not torch.allclose(first_outputs[0], first_outputs[1])  # same batch, different start


def test_hs302_evaluation_from_the_training_state_scores_differently():
    assert "HS302" in codes(
        "import torch\nimport torch.nn as nn\nrnn = nn.GRU(3, 4)\nh = None\nfor x in train:\n"
        "    h = None if h is None else h.detach()\n    out, h = rnn(x, h)\n    out.sum().backward()\n"
        "with torch.no_grad():\n    for x in val:\n        out, h = rnn(x, h)\n"
    )
    rnn = nn.GRU(3, 4)
    h = None
    for _ in range(3):
        h = None if h is None else h.detach()
        _, h = rnn(torch.randn(5, 2, 3), h)
    val = torch.randn(5, 2, 3)
    with torch.no_grad():
        leaked, _ = rnn(val, h)
        fresh, _ = rnn(val, None)
    assert not torch.allclose(leaked, fresh)


class Stateful(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4)
        self.hidden = None

    def forward(self, x):
        out, self.hidden = self.gru(x, self.hidden)
        return out


def test_hs303_module_held_state_leaks_between_sequences_and_breaks_backward():
    assert "HS303" in codes(
        "import torch.nn as nn\n\n\nclass S(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.gru = nn.GRU(3, 4)\n        self.hidden = None\n\n    def forward(self, x):\n"
        "        out, self.hidden = self.gru(x, self.hidden)\n        return out\n\n\nmodel = S()\n"
        "for x in sequences:\n    model(x).sum().backward()\n"
    )
    model, x = Stateful(), torch.randn(5, 2, 3)
    first = model(x)
    first.sum().backward()
    second = model(x)  # same sequence again, but it continues from the previous one's state
    assert not torch.allclose(first, second)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        second.sum().backward()


def test_hs304_a_shuffled_loader_hands_each_batch_an_unrelated_state():
    from torch.utils.data import DataLoader

    assert "HS304" in codes(
        "import torch.nn as nn\nfrom torch.utils.data import DataLoader\nrnn = nn.GRU(3, 4)\n"
        "loader = DataLoader(data, shuffle=True)\nh = None\nfor x in loader:\n"
        "    h = None if h is None else h.detach()\n    out, h = rnn(x, h)\n    out.sum().backward()\n"
    )
    rnn = nn.GRU(3, 4, batch_first=True)
    data = torch.randn(6, 5, 3)

    def output_for_sample(target: int, generator_seed: int) -> torch.Tensor:
        loader = DataLoader(list(range(len(data))), batch_size=1, shuffle=True,
                            generator=torch.Generator().manual_seed(generator_seed))
        h = None
        for (index,) in loader:
            h = None if h is None else h.detach()
            out, h = rnn(data[index:index + 1], h)
            if index == target:
                return out.detach()
        raise AssertionError("sample not seen")

    outputs = {seed: output_for_sample(2, seed) for seed in range(6)}
    distinct = {tuple(o.flatten().tolist()) for o in outputs.values()}
    assert len(distinct) > 1  # the same sample's output depends on which random sample came before it
