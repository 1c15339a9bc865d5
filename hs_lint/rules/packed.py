"""HS601-HS602: how ``pack_padded_sequence`` is called (the order and the device of its lengths)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from hs_lint.facts import FileFacts, Scope, rnn_util
from hs_lint.fix import Fix, replace
from hs_lint.names import as_bool, key_of, keyword_arg, method_name, positional_args, receiver
from hs_lint.rule import Rule, Violation

_GPU_MOVES = frozenset({"cuda", "to"})


@dataclass(frozen=True)
class Pack:
    """One ``pack_padded_sequence(x, lengths, ...)`` call and where its result goes."""

    node: cst.Call
    scope: Scope
    lengths: cst.BaseExpression | None
    key: str | None  # the name the packed sequence is bound to, if any
    index: int


def packs(facts: FileFacts) -> list[Pack]:
    found = []
    for site in facts.calls:
        if rnn_util(site.qualified, "pack_padded_sequence"):
            args = positional_args(site.node)
            lengths = args[1] if len(args) > 1 else keyword_arg(site.node, "lengths")
            found.append(Pack(site.node, site.scope, lengths, key_of(site.target), site.index))
    return found


def _assigned_value(facts: FileFacts, key: str, scope: Scope, before: int) -> cst.BaseExpression | None:
    values = [s.value for s in facts.assignments
              if s.scope is scope and s.index < before and len(s.targets) == 1 and key_of(s.targets[0]) == key]
    return values[-1] if values else None


def _on_gpu(facts: FileFacts, expr: cst.BaseExpression | None, scope: Scope, before: int) -> cst.Call | None:
    """``lengths.cuda()`` / ``lengths.to(device)`` given directly, or as the last value of ``lengths``."""
    if isinstance(expr, cst.Call) and method_name(expr) in _GPU_MOVES:
        if method_name(expr) == "cuda":
            return expr
        target = (positional_args(expr) or [keyword_arg(expr, "device")])[0]
        text = facts.source(target).lower() if target is not None else ""
        key = key_of(target) if target is not None else None
        binding = facts.lookup(key, scope) if key is not None else None  # ``state = torch.device("cuda" ...)``
        placed = binding is not None and binding.kind == "device" and binding.detail != "cpu"
        return expr if placed or "cuda" in text or "device" in text or "gpu" in text else None
    key = key_of(expr)
    if key is not None:
        value = _assigned_value(facts, key, scope, before)
        if value is not None and value is not expr:
            return _on_gpu(facts, value, scope, before) if not isinstance(value, cst.Name) else None
    return None


class PackUnsortedLengths(Rule):
    code = "HS601"
    name = "pack-unsorted-lengths"
    summary = "pack_padded_sequence with enforce_sorted left True on the lengths of a shuffled batch nothing sorts"
    message = (
        "`{call}` leaves enforce_sorted=True, but `{lengths}` comes from {loader}'s shuffled batches, which "
        "nothing sorts longest first: it raises on the first batch; pass `enforce_sorted=False`"
    )
    rationale = (
        "With the default `enforce_sorted=True`, `pack_padded_sequence` requires the batch sorted by decreasing "
        "length and raises otherwise. A shuffling DataLoader's batches come in random order, unless its "
        "`collate_fn` sorts them; a torchtext training iterator's batches are not sorted unless it is built with "
        "`sort_within_batch=True` (or `sort=True`). Since torch 1.1, `enforce_sorted=False` sorts internally and "
        "restores the original order in the outputs and `h_n`, so batches can be packed as they come. hs-lint "
        "reports the lengths it can follow from a shuffling loader (default-collated, or collated by a function of "
        "the file that sorts nothing) or from such a torchtext iterator (`text, lengths = batch.text`) to the call, "
        "in this module or from the modules that call the model; lengths whose origin it cannot see stay unjudged."
    )
    torch_error = "RuntimeError: `lengths` array must be sorted in decreasing order when `enforce_sorted` is True."
    fix_summary = "Adds `enforce_sorted=False` to the call"
    bad = (
        """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True)
        out, h = self.gru(packed)
        return h[-1]


data = TensorDataset(torch.randn(40, 6, 8), torch.randint(1, 7, (40,)))
model = Encoder()
with torch.no_grad():
    for x, lengths in DataLoader(data, batch_size=8, shuffle=True):
        print(model(x, lengths).shape)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.utils.data import DataLoader, TensorDataset


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        return h[-1]


data = TensorDataset(torch.randn(40, 6, 8), torch.randint(1, 7, (40,)))
model = Encoder()
with torch.no_grad():
    for x, lengths in DataLoader(data, batch_size=8, shuffle=True):
        print(model(x, lengths).shape)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for pack in packs(facts):
            if pack.lengths is None or not as_bool(keyword_arg(pack.node, "enforce_sorted"), True):
                continue  # enforce_sorted=False, or a value that is not a literal
            lengths = pack.lengths
            if isinstance(lengths, cst.Call) and method_name(lengths) == "tolist":
                lengths = receiver(lengths) or lengths  # the same lengths, in the same order
            loader = facts.batches.unsorted(lengths, pack.scope)
            if loader is not None:
                yield self.violation(pack.node, call=call_head(facts, pack.node),
                                     lengths=facts.source(pack.lengths), loader=loader)

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        call = violation.node
        args = [*call.args]
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        new = call.with_changes(args=[*args, cst.Arg(cst.Name("False"), keyword=cst.Name("enforce_sorted"),
                                                     equal=cst.AssignEqual(cst.SimpleWhitespace(""),
                                                                           cst.SimpleWhitespace("")))])
        return Fix((replace(call, new),))


class PackLengthsOnGpu(Rule):
    code = "HS602"
    name = "pack-lengths-on-gpu"
    summary = "pack_padded_sequence is given its lengths as a CUDA tensor"
    message = "`{call}` gets `{lengths}` on the GPU, but torch wants the lengths on the CPU: pass `{fix}`"
    rationale = (
        "Since torch 1.7 `pack_padded_sequence` requires `lengths` as a list or a 1-D int64 tensor on the CPU "
        "(it reads them on the host to build the batch sizes). Moving the lengths to the GPU together with the "
        "padded batch works on a CPU machine and fails as soon as the code runs on a GPU."
    )
    torch_error = "RuntimeError: 'lengths' argument should be a 1D CPU int64 tensor, but got 1D cuda:0 Long tensor"
    fix_summary = "Passes `lengths.cpu()` instead of the GPU tensor"
    bad = (
        """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

device = torch.device("cuda")
gru = nn.GRU(8, 16, batch_first=True).to(device)
for x, lengths in loader:
    packed = pack_padded_sequence(x.to(device), lengths.to(device), batch_first=True, enforce_sorted=False)
    out, h = gru(packed)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

device = torch.device("cuda")
gru = nn.GRU(8, 16, batch_first=True).to(device)
for x, lengths in loader:
    packed = pack_padded_sequence(x.to(device), lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h = gru(packed)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for pack in packs(facts):
            site_index = facts.site(pack.node).index
            moved = _on_gpu(facts, pack.lengths, pack.scope, site_index)
            if moved is not None:
                fix = f"{facts.source(receiver(moved))}.cpu()" if moved is pack.lengths else f"{facts.source(pack.lengths)}.cpu()"
                yield self.violation(pack.lengths, call=call_head(facts, pack.node), lengths=facts.source(pack.lengths),
                                     fix=fix)

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        node = violation.node
        inner = receiver(node) if isinstance(node, cst.Call) and method_name(node) in _GPU_MOVES else node
        new = cst.Call(func=cst.Attribute(value=inner, attr=cst.Name("cpu")))
        return Fix((replace(node, new),))


def call_head(facts: FileFacts, call: cst.Call) -> str:
    return f"{facts.source(call.func)}(...)"
