"""HS211: a hidden state of the wrong rank for the input it goes with."""

from __future__ import annotations

from hs_lint.names import positional_args
from hs_lint.rules.shapes import _StateRule, expected_layout, found_layout, module_name, state_name
from hs_lint.shapes import ShapeFacts, StateForm, StateUse, TensorShape


def _ranks(use: StateUse) -> tuple[int, int]:
    """(batched, unbatched) ranks of a state: 3 and 2 for a full module, 2 and 1 for a cell."""
    return (2, 1) if use.module.is_cell else (3, 2)


class StateRank(_StateRule):
    code = "HS211"
    name = "state-rank"
    summary = "A state of the wrong rank: an axis too many or too few, or no batch axis while the input is a batch"
    message = "{state} is {found}, {problem}: {fix}"
    rationale = (
        "A full recurrent module takes a 3-D state (num_layers * num_directions, batch, hidden) with a 3-D input, "
        "and a 2-D one (num_layers * num_directions, hidden) only with a 2-D input: one unbatched sequence. A cell "
        "takes (batch, hidden), or (hidden,) with an unbatched input. An extra `unsqueeze`, or a state built "
        "without its batch axis, fails at the first call with a batched 3-D input. With a 2-D batch straight from "
        "a shuffling DataLoader (whose default collate puts the samples on axis 0) it does not fail: the module "
        "reads the batch as one sequence, each sample's output depends on the unrelated samples before it, and "
        "training goes on with the wrong model. (The batches of an ordered loader may be runs of consecutive "
        "steps, one sequence each: hs-lint leaves those alone.)"
    )
    torch_error = (
        "RuntimeError: For batched 3-D input, hx and cx should also be 3-D but got (2-D, 2-D) tensors; with a "
        "2-D batch, nothing: the batch is read as one sequence"
    )
    bad = (
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(20, 64, num_layers=2)
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        h0 = torch.zeros(2, 64)
        c0 = torch.zeros(2, 64)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out)


data = TensorDataset(torch.randn(40, 20), torch.randint(0, 3, (40,)))
loader = DataLoader(data, batch_size=8, shuffle=True)
model = Tagger()
for x, y in loader:
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
""",
        """\
import torch
import torch.nn as nn

gru = nn.GRU(20, 64, num_layers=2)
x = torch.randn(5, 8, 20)
h0 = torch.zeros(2, 8, 64).unsqueeze(0)
out, h_n = gru(x, h0)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(20, 64, num_layers=2)
        self.fc = nn.Linear(64, 3)

    def forward(self, x):
        x = x.unsqueeze(0)
        h0 = torch.zeros(2, x.size(1), 64)
        c0 = torch.zeros(2, x.size(1), 64)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[-1])


data = TensorDataset(torch.randn(40, 20), torch.randint(0, 3, (40,)))
loader = DataLoader(data, batch_size=8, shuffle=True)
model = Tagger()
for x, y in loader:
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
""",
        """\
import torch
import torch.nn as nn

gru = nn.GRU(20, 64, num_layers=2)
sequence = torch.randn(5, 20)
h0 = torch.zeros(2, 64)
out, h_n = gru(sequence, h0)
""",
    )

    def broken(self, shapes: ShapeFacts, use: StateUse, part: int, shape: TensorShape) -> bool:
        return self._problem(shapes, use, part, shape) is not None

    def data(self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int) -> dict[str, object]:
        """The loader a batch comes from (``batch_of``): the runtime checker replays a 2-D batch of it."""
        args = positional_args(use.call.site.node)
        loader = shapes.facts.batches.loader(args[0], use.call.site.scope) if use.input is None and args else None
        return {**use.as_data(form), **({"batch_of": loader} if loader is not None else {})}

    def fields(
        self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int, shape: TensorShape
    ) -> dict[str, object]:
        found = self._problem(shapes, use, part, shape)
        assert found is not None
        return {"state": state_name(form, part), "found": found_layout(shape), **found}

    @staticmethod
    def _problem(shapes: ShapeFacts, use: StateUse, part: int, shape: TensorShape) -> dict[str, str] | None:
        batched, unbatched = _ranks(use)
        module, rank = module_name(use.module, use.key), shape.rank
        wanted = expected_layout(use.module, part, "batch")
        if rank not in (batched, unbatched):
            return {"problem": f"{rank}-D, but {module} takes a {batched}-D state {wanted}",
                    "fix": "drop the extra axis" if rank > batched else "give it the missing axes"}
        args = positional_args(use.call.site.node)
        if not args:
            return None
        text = shapes.facts.source(args[0])
        given = use.input.rank if use.input is not None else None
        if given is not None:
            if given not in (batched, unbatched) or (given == batched) == (rank == batched):
                return None
            if given == batched:
                return {"problem": f"without a batch axis, but {module} is given the batched {given}-D input `{text}`",
                        "fix": f"build it as {wanted}"}
            one = "step" if use.module.is_cell else "sequence"
            return {"problem": f"batched, but {module} is given `{text}`, {given}-D: one unbatched {one}",
                    "fix": "give the input its batch axis (`unsqueeze`), or drop the state's batch axis"}
        loader = shapes.facts.batches.loader(args[0], use.call.site.scope) if rank == unbatched else None
        if loader is None:
            return None
        read = "" if use.module.is_cell else ", which it then reads as one sequence"
        return {"problem": f"without a batch axis, but {module}'s input `{text}` is a shuffled batch of "
                           f"{loader}{read}",
                "fix": f"build it as {wanted}"}
