"""HS603-HS605: what comes out of a packed run (layout of the pack, the PackedSequence output, padding)."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from hs_lint.facts import FileFacts, RecurrentCall, Scope, rnn_util
from hs_lint.names import (as_bool, descendants, key_of, keyword_arg, method_name, positional_args, receiver,
                           referenced_keys)
from hs_lint.rule import Rule, Violation
from hs_lint.rules.packed import Pack, call_head, packs
from hs_lint.rules.shapes import indexed_reads


def _fed_pack(facts: FileFacts, call: RecurrentCall, found: list[Pack]) -> Pack | None:
    """The pack whose result is the input of the recurrent call (inline, or through its name)."""
    args = positional_args(call.site.node)
    if not args:
        return None
    for pack in found:
        if pack.scope is not call.site.scope:
            continue
        if args[0] is pack.node or (pack.key is not None and key_of(args[0]) == pack.key and pack.index < call.site.index):
            return pack
    return None


def _fed_calls(facts: FileFacts) -> Iterator[tuple[RecurrentCall, Pack]]:
    found = packs(facts)
    for call in facts.recurrent_calls:
        pack = _fed_pack(facts, call, found) if found else None
        if pack is not None:
            yield call, pack


def _output_key(facts: FileFacts, call: RecurrentCall) -> str | None:
    output = facts.output_target(call.site)
    return key_of(output) if output is not None else None


def _holds_output(facts: FileFacts, call: RecurrentCall, read: cst.CSTNode) -> bool:
    """``read`` sees ``call``'s output and no later value of its name."""
    definition = facts.output_definition(call.site)
    out = _output_key(facts, call)
    return definition is not None and out is not None and key_of(read) == out and facts.holds(
        read, out, call.site.scope, definition)


class PackBatchFirstMismatch(Rule):
    code = "HS603"
    name = "pack-batch-first-mismatch"
    summary = "pack_padded_sequence's batch_first differs from that of the module the packed batch is fed to"
    message = (
        "`{call}` packs with batch_first={packed}, but `{module}` is built with batch_first={expected}: if the "
        "batch is laid out for the module, the pack reads its {axis} axis as time. Write `batch_first={expected}`"
    )
    rationale = (
        "A PackedSequence carries no layout, so the recurrent module's own batch_first does not apply to it: "
        "`pack_padded_sequence` alone decides which axis of the padded tensor is time. Code that builds the "
        "batch in the module's layout (batch, seq, feature) and packs it with the default batch_first=False "
        "packs along the batch axis: it raises when a length exceeds the batch size, and otherwise mixes "
        "sequences silently."
    )
    torch_error = (
        "A RuntimeError when the lengths do not fit the misread axes ('Expected `len(lengths)` to be equal to "
        "batch_size', 'start (4) + length (2) exceeds dimension size (4)'); when they happen to fit, nothing: "
        "the sequences are silently mixed"
    )
    bad = (
        """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

lstm = nn.LSTM(8, 16, batch_first=True)
for x, lengths in loader:
    out, (h, c) = lstm(pack_padded_sequence(x, lengths, enforce_sorted=False))
""",
    )
    good = (
        """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

lstm = nn.LSTM(8, 16, batch_first=True)
for x, lengths in loader:
    out, (h, c) = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call, pack in _fed_calls(facts):
            packed = as_bool(keyword_arg(pack.node, "batch_first"), False)
            found = facts.shapes.module_of(call)
            args = positional_args(pack.node)
            if packed is None or found is None or not args or _relaid(facts, args[0], pack.scope):
                continue  # a batch transposed before packing is laid out for the pack, not the module
            module, key = found
            expected = facts.shapes.certain(module, "batch_first")
            if isinstance(expected, bool) and expected != packed:
                yield self.violation(pack.node, data={"expected": expected}, call=call_head(facts, pack.node),
                                     packed=packed, module=key,
                                     expected=expected, axis="batch" if expected else "time")


_RELAYOUTS = frozenset({"transpose", "permute", "t", "swapaxes", "movedim", "swapdims"})


def _relaid(facts: FileFacts, expr: cst.BaseExpression, scope: Scope, depth: int = 0) -> bool:
    """``x.transpose(0, 1)`` in the packed expression or in what the scope assigns to the names it reads, or in
    what a same-file helper it calls returns; a helper of another module may do it unseen (so, for the rule, it
    does)."""
    keys = set(referenced_keys(expr))
    values = [expr, *(s.value for s in facts.assignments if s.scope is scope and s.value is not None
                      and keys.intersection(s.target_keys))]
    for node in (n for v in values for n in descendants(v) if isinstance(n, cst.Call)):
        if method_name(node) in _RELAYOUTS:
            return True
        helper = facts.callee_function(node, scope)
        if helper is not None and (helper.summary is not None or depth > 2 or any(
                _relaid(facts, r, helper, depth + 1) for r in helper.returns)):
            return True
    return False


class PackedOutputUnpadded(Rule):
    code = "HS604"
    name = "packed-output-unpadded"
    summary = "The output of a recurrent layer fed a PackedSequence is used as a tensor without pad_packed_sequence"
    message = (
        "`{use}`: `{out}` is the PackedSequence that `{module}` returns for a packed input, not a padded tensor; "
        "unpack it first: `{out}, lengths = pad_packed_sequence({out}{batch_first})`"
    )
    rationale = (
        "Fed a PackedSequence, a recurrent module returns its output as a PackedSequence too (a named tuple "
        "of the flat data and the batch sizes). Indexing it by time step, calling `.view()` on it, or giving it "
        "to a linear layer fails (or, through `out[0]`, silently uses the flat data, whose rows are not in "
        "batch order). `pad_packed_sequence` turns it back into a padded tensor."
    )
    torch_error = "TypeError: tuple indices must be integers or slices, not tuple (or AttributeError on .view)"
    bad = (
        """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        return self.head(out[:, 0])
""",
    )
    good = (
        """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(8, 16, batch_first=True)
        self.head = nn.Linear(16, 3)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h = self.gru(packed)
        out, _ = pad_packed_sequence(out, batch_first=True)
        return self.head(out[:, 0])
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for call, pack in _fed_calls(facts):
            out = _output_key(facts, call)
            use = self._tensor_use(facts, call) if out is not None else None
            if use is not None:
                first = as_bool(keyword_arg(pack.node, "batch_first"), False)
                method = method_name(use) if isinstance(use, cst.Call) else None
                yield self.violation(use, data={"method": method}, use=facts.source(use), out=out, module=facts.source(call.site.node.func),
                                     batch_first=", batch_first=True" if first else "")

    @staticmethod
    def _tensor_use(facts: FileFacts, call: RecurrentCall) -> cst.CSTNode | None:
        """``out[:, t]``, ``out.view(...)`` / ``.size()`` / ``.shape``: tensor operations a PackedSequence lacks,
        on the call's own output."""
        scope = call.site.scope
        for node, where in facts.subscripts:
            if where is scope and len(node.slice) > 1 and _holds_output(facts, call, node.value):
                return node
        for site in facts.calls:
            if (site.scope is scope and method_name(site.node) in _TENSOR_ONLY
                    and _holds_output(facts, call, receiver(site.node))):
                return site.node
        return None


_TENSOR_ONLY = frozenset({"view", "reshape", "size", "contiguous", "transpose", "permute", "squeeze", "unsqueeze",
                          "sum", "mean", "max", "flatten"})


class PaddedLastStep(Rule):
    code = "HS605"
    name = "padded-last-step"
    summary = "out[:, -1] / out[-1] of a padded batch: for shorter sequences that step is padding"
    message = (
        "`{expr}` takes the last time step of a padded batch; for every sequence shorter than the longest it "
        "is {what}. {fix}"
    )
    rationale = (
        "In a padded batch only the longest sequence ends at the last time step. After `pad_packed_sequence` "
        "the outputs past each sequence's end are zeros, so `out[:, -1]` is a zero vector for every shorter "
        "sequence; without packing, the module has read padding tokens after the real end, and the last "
        "output summarises them (a batch from `pad_sequence` pads at the end, in the training loop or in a "
        "DataLoader's collate function). `h_n` of a packed run holds each sequence's state at its own last step."
    )
    torch_error = "No error: shorter sequences are summarised by zeros (or by padding)."
    bad = (
        """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

lstm = nn.LSTM(8, 16, batch_first=True)
head = nn.Linear(16, 2)
for x, lengths in loader:
    out, _ = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    out, _ = pad_packed_sequence(out, batch_first=True)
    logits = head(out[:, -1])
""",
    )
    good = (
        """\
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence

lstm = nn.LSTM(8, 16, batch_first=True)
head = nn.Linear(16, 2)
for x, lengths in loader:
    out, (h, c) = lstm(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    logits = head(h[-1])
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        padded: dict[tuple[int, str], bool] = {}  # (scope, key) -> batch_first of the padded tensor
        for site in facts.calls:
            if not rnn_util(site.qualified, "pad_packed_sequence"):
                continue
            output = facts.output_target(site)  # ``out, _ = pad_packed_sequence(...)``, ``out = ...[0]``
            key = key_of(output) if output is not None else None
            first = as_bool(keyword_arg(site.node, "batch_first"), False)
            if key is not None and first is not None:
                padded[(id(site.scope), key)] = first
        for node, scope in facts.subscripts:
            key = key_of(node.value)
            first = padded.get((id(scope), key or ""))
            if first is None or not _assigned_twice_at_most(facts, key, scope):
                continue
            if _is_last_step(node, first):
                yield self.violation(node, expr=facts.source(node), what="a zero vector (padding)", fix=_PACKED_FIX)
        yield from self._unpacked(facts)

    def _unpacked(self, facts: FileFacts) -> Iterator[Violation]:
        """A module run on an end-padded batch without packing (``pad_sequence`` in sight), its output read at
        the last step."""
        shapes = facts.shapes
        for output in shapes.outputs:
            args = positional_args(output.use.call.site.node)
            batch_first = shapes.certain(output.use.module, "batch_first")
            if not args or not isinstance(batch_first, bool) or output.use.module.is_cell:
                continue
            if facts.batches.padding(args[0], output.use.call.site.scope) is None:
                continue
            for node, _ in indexed_reads(facts, output, "output"):
                if _is_last_step(node, batch_first):
                    yield self.violation(node, data={"packed": False}, expr=facts.source(node),
                                         what="the output after padding",
                                         fix="Pack the batch (`pack_padded_sequence`) and use `h_n[-1]`, or gather "
                                             "each sequence at `lengths - 1`")


_PACKED_FIX = "Use the final state (`h_n[-1]`) or gather each sequence at `lengths - 1`"


def _assigned_twice_at_most(facts: FileFacts, key: str, scope: Scope) -> bool:
    """``out`` written by the recurrent call and by ``pad_packed_sequence``, and nowhere else."""
    return sum(key in s.target_keys for s in facts.assignments if s.scope is scope) <= 2


def _is_last_step(node: cst.Subscript, batch_first: bool) -> bool:
    """``out[:, -1]`` (batch first) or ``out[-1]`` (time first)."""
    elements = [e.slice for e in node.slice]
    position = 1 if batch_first else 0
    if len(elements) <= position:
        return False
    if batch_first and not (isinstance(elements[0], cst.Slice) and elements[0].lower is None
                            and elements[0].upper is None):
        return False
    index = elements[position]
    return (isinstance(index, cst.Index) and isinstance(index.value, cst.UnaryOperation)
            and isinstance(index.value.operator, cst.Minus) and isinstance(index.value.expression, cst.Integer)
            and index.value.expression.value == "1")
