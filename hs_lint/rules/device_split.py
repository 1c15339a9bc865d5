"""HS402: the state goes to CUDA when a GPU is available, while the model built from the class stays put."""

from __future__ import annotations

from collections.abc import Iterator

from hs_lint.device_facts import DeviceFacts, cuda_state_sites, device_facts, device_splits
from hs_lint.facts import FileFacts
from hs_lint.project.summary import ModuleSummary
from hs_lint.rule import Rule, Violation


def visible_device_facts(facts: FileFacts) -> tuple[list[DeviceFacts], dict[str, set[str]]]:
    """The device summaries of every module this check can see: the file itself and, with a project index,
    the modules that import the classes it puts on CUDA, so that a class defined here and built elsewhere is
    judged by how it is built there; and, by class name, the subclasses those modules define (a model built
    from a subclass is a model of the class)."""
    own = device_facts(facts)
    if facts.project is None:
        return [own], {}
    others: dict[int, ModuleSummary] = {}
    subclasses: dict[str, set[str]] = {}
    for state in own.cuda_states:
        builders, subclasses[state.cls] = facts.project.builders(state.cls)
        others.update((id(summary), summary) for summary in builders)
    return [own, *(DeviceFacts.from_dict(summary.device) for summary in others.values())], subclasses


class StateModuleDeviceSplit(Rule):
    code = "HS402"
    name = "state-module-device-split"
    summary = "init_hidden puts the state on CUDA whenever a GPU exists, but the code that builds the model never moves it"
    message = (
        "`{call}` moves `{cls}`'s initial state to CUDA whenever a GPU exists, but no model built from `{cls}` is "
        "ever moved (`.to()`/`.cuda()`): a device mismatch on a GPU host. Use `next(self.parameters()).device`"
    )
    rationale = (
        "Choosing the state's device with `torch.cuda.is_available()` inside the model assumes that whoever "
        "builds the model moves it to the GPU too. Code that loads the weights into a fresh model and never "
        "calls `.to(device)` works on a laptop and fails on the first machine with a GPU, because the state "
        "(and often the input) goes to CUDA while the weights stay on the CPU. Deriving the state's device "
        "from the weights keeps the two together wherever the model is. A class built only in other modules of "
        "the project is judged by how they build it, or a subclass of it; a model handed to code hs-lint cannot "
        "see is not judged."
    )
    torch_error = (
        "RuntimeError: Input and hidden tensors are not at the same device, found input tensor at cpu and "
        "hidden tensor at cuda:0"
    )
    bad = (
        """\
import torch
import torch.nn as nn


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 32, batch_first=True)

    def forward(self, x, h):
        return self.gru(x, h)

    def init_hidden(self, batch):
        h = torch.zeros(1, batch, 32)
        if torch.cuda.is_available():
            h = h.cuda()
        return h


model = Generator()
model.load_state_dict(torch.load("generator.pt"))
out, h = model(torch.zeros(1, 5, 8), model.init_hidden(1))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 32, batch_first=True)

    def forward(self, x, h):
        return self.gru(x, h)

    def init_hidden(self, batch):
        return torch.zeros(1, batch, 32).to(device)


model = Generator().to(device)
model.load_state_dict(torch.load("generator.pt"))
out, h = model(torch.zeros(1, 5, 8, device=device), model.init_hidden(1))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        sites = cuda_state_sites(facts)
        split = set(device_splits(*visible_device_facts(facts))) if sites else set()
        for state, node in sites:
            if state in split:
                yield self.violation(node, data={"cls": state.cls}, call=facts.source(node), cls=state.cls)
