"""HS2xx: recurrent-module configuration, hidden-state shapes and tensor layouts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libcst as cst

from hs_lint.facts import FileFacts, Holder
from hs_lint.fixed_batch import fixed_calls, sized_by_caller
from hs_lint.skips import leaves_early
from hs_lint.torch_api import holds_tuple, kind_name
from hs_lint.names import int_literal, key_of, method_name, positional_args, receiver
from hs_lint.fix import Fix, replace
from hs_lint.rule import Rule, Violation
from hs_lint.shapes import (
    Dim,
    LoaderUse,
    ModuleConfig,
    Output,
    ShapeFacts,
    StateForm,
    StateUse,
    TensorShape,
    looks_like_batch,
)

_STATE_NAMES = ("h0", "c0")


def module_name(module: ModuleConfig, key: str | None = None) -> str:
    return f"`{key}` ({kind_name(module.kind)})" if key else kind_name(module.kind)


def expected_layout(module: ModuleConfig, part: int, batch: str) -> str:
    """``(2*2, batch, 128)``: (num_layers * num_directions, batch, hidden_size) in the module's values."""
    size_name = "proj_size" if module.kind == "LSTM" and part == 0 and module.dim("proj_size") != Dim(0) else (
        "hidden_size")
    size = module.state_size(part)
    size_text = str(size) if size is not None else size_name
    if module.is_cell:
        return f"({batch}, {size_text})"
    layers = module.dim("num_layers")
    layers_text = "layers*directions" if layers is None else f"{layers}*2" if module.flag("bidirectional") else (
        str(layers))
    return f"({layers_text}, {batch}, {size_text})"


def found_layout(shape: TensorShape) -> str:
    return f"({', '.join(shape.texts)})"


def state_name(form: StateForm, part: int) -> str:
    return _STATE_NAMES[part] if form.is_tuple and part < 2 else "h0"


def violating_parts(
    use: StateUse, predicate: Callable[[StateUse, int, TensorShape], bool]
) -> Iterator[tuple[StateForm, int, TensorShape]]:
    """Parts of the state that break ``predicate``'s rule, when every traced way of building it does.

    A state built differently in two branches (``if self.bidirectional: ... else: ...``) is only
    reported when both branches are wrong: the analysis does not know which branch runs.
    """
    found = [
        [(form, i, part) for i, part in enumerate(form.parts) if part is not None and part.dims is not None
         and predicate(use, i, part)]
        for form in use.forms
    ]
    if found and all(found):
        for parts in found:
            yield from parts


def batch_dim(use: StateUse, shape: TensorShape) -> Dim | None:
    """The batch axis of a (batched) h0: dim 1 for a full module, dim 0 for a cell."""
    dims = shape.dims or ()
    if use.module.is_cell:
        return dims[0] if len(dims) == 2 else None
    return dims[1] if len(dims) == 3 else None


class _StateRule(Rule):
    """A rule about the shape of the tensors a module is given as its state (judged where the state is used)."""

    judged_at_call = True

    def broken(self, shapes: ShapeFacts, use: StateUse, part: int, shape: TensorShape) -> bool:
        raise NotImplementedError

    def fields(
        self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int, shape: TensorShape
    ) -> dict[str, object]:
        raise NotImplementedError

    def data(self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int) -> dict[str, object]:
        """What the runtime checker replays."""
        return use.as_data(form)

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        seen: set[int] = set()
        shapes = facts.shapes
        for use in shapes.uses:
            for form, part, shape in violating_parts(use, lambda u, i, p: self.broken(shapes, u, i, p)):
                if id(shape.node) in seen:
                    continue
                seen.add(id(shape.node))
                yield self.violation(shape.node, data=self.data(shapes, use, form, part),
                                     **self.fields(shapes, use, form, part, shape))


def is_batch_major(use: StateUse, shape: TensorShape) -> bool:
    """``(batch, layers, hidden)``: dim 0 is a batch expression and dim 1 the number of layers."""
    module = use.module
    if module.is_cell or shape.rank != 3:
        return False
    first, second = shape.dims[0], shape.dims[1]  # type: ignore[index]
    layers = module.state_layers
    if first is None or second is None or layers is None or first == layers:
        return False
    batch = first.sym is not None and first.sym.looks_like_batch
    if use.input is not None and use.input.dims is not None and use.batch_axis is not None and len(
        use.input.dims
    ) == 3:
        batch = batch or first == use.input.dims[use.batch_axis]
    return batch and second in (layers, module.dim("num_layers"))


class BatchFirstHidden(_StateRule):
    code = "HS201"
    name = "batch-first-hidden"
    summary = "h0/c0 is laid out (batch, layers, hidden): hidden states are never batch-first"
    message = (
        "{state} is ({found}), batch first; {module} wants {expected}{note}: build it as `{fix}`"
    )
    rationale = (
        "`batch_first=True` changes the layout of the input and the output only. The initial and final states "
        "h_0/c_0/h_n/c_n are always (num_layers * num_directions, batch, hidden_size). An h0 built "
        "(batch, num_layers, hidden) to 'match' a batch-first input fails as soon as batch differs from "
        "num_layers * num_directions, and is silently wrong when they happen to be equal."
    )
    torch_error = "RuntimeError: Expected hidden size (1, 32, 128), got [32, 1, 128]"
    bad = (
        """\
import torch
import torch.nn as nn

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, num_layers=2, batch_first=True)

    def forward(self, x):
        h0 = torch.zeros(x.size(0), 2, 64)
        c0 = torch.zeros(2, x.size(0), 64)
        return self.lstm(x, (h0, c0))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, num_layers=2, batch_first=True)

    def forward(self, x):
        h0 = torch.zeros(2, x.size(0), 64, device=x.device)
        c0 = torch.zeros(2, x.size(0), 64, device=x.device)
        return self.lstm(x, (h0, c0))
""",
    )

    def broken(self, shapes: ShapeFacts, use: StateUse, part: int, shape: TensorShape) -> bool:
        return is_batch_major(use, shape)

    def fields(
        self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int, shape: TensorShape
    ) -> dict[str, object]:
        texts = shape.texts
        note = " (even with batch_first=True)" if use.module.flag("batch_first") else ""
        return {
            "state": state_name(form, part), "found": ", ".join(texts), "module": module_name(use.module, use.key),
            "expected": expected_layout(use.module, part, texts[0]), "note": note,
            "fix": _rebuilt(shape, (texts[1], texts[0], texts[2])),
        }


class HiddenLayersMismatch(_StateRule):
    code = "HS202"
    name = "hidden-layers-mismatch"
    summary = "h0/c0's first dimension is not num_layers * num_directions (often the forgotten x2 of bidirectional)"
    message = (
        "{state} is {found}, but {module} wants {expected}: make its first dimension {layers}{why}, not "
        "{first}"
    )
    rationale = (
        "A recurrent module's state holds one (batch, hidden) slice per layer and direction, in the order "
        "layer 0 forward, layer 0 backward, layer 1 forward, ... so its first dimension is "
        "num_layers * (2 if bidirectional else 1). Making a module bidirectional or deeper without updating "
        "the code that builds h0 is the most common cause of this error."
    )
    torch_error = "RuntimeError: Expected hidden size (4, 3, 150), got [2, 3, 150]"
    bad = (
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(10, 20, num_layers=2, bidirectional=True)
x = torch.randn(5, 3, 10)
h0 = torch.zeros(2, 3, 20)
out, h_n = rnn(x, h0)
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

rnn = nn.GRU(10, 20, num_layers=2, bidirectional=True)
x = torch.randn(5, 3, 10)
h0 = torch.zeros(2 * 2, 3, 20)
out, h_n = rnn(x, h0)
""",
    )

    def broken(self, shapes: ShapeFacts, use: StateUse, part: int, shape: TensorShape) -> bool:
        layers = use.module.state_layers
        if use.module.is_cell or layers is None or shape.rank not in (2, 3) or is_batch_major(use, shape):
            return False
        return layers.differs(shape.dims[0])  # type: ignore[index]

    def fields(
        self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int, shape: TensorShape
    ) -> dict[str, object]:
        module = use.module
        batch = shape.texts[1] if shape.rank == 3 else "batch"
        why = ""
        if module.flag("bidirectional"):
            why = f" ({module.dim('num_layers')} layers x 2: bidirectional=True doubles it)"
        return {
            "state": state_name(form, part), "found": found_layout(shape), "module": module_name(module, use.key),
            "expected": expected_layout(module, part, batch), "layers": module.state_layers, "why": why,
            "first": shape.texts[0],
        }


class HiddenSizeMismatch(_StateRule):
    code = "HS203"
    name = "hidden-size-mismatch"
    summary = "h0/c0's last dimension is not hidden_size (proj_size for an LSTM's h when it projects)"
    message = "{state} is {found}, but {module} wants {expected}: make its last dimension {size}, not {last}{note}"
    rationale = (
        "The last dimension of every state tensor is the module's hidden_size, except for an LSTM built with "
        "proj_size > 0: its h (and h_n, and the output) are projected to proj_size while its c keeps "
        "hidden_size. Using the input size, the embedding size or a stale constant there fails at the first "
        "forward call."
    )
    torch_error = "RuntimeError: Expected hidden[0] size (1, 4, 16), got [1, 4, 64]"
    bad = (
        """\
import torch
import torch.nn as nn

lstm = nn.LSTM(32, 64, proj_size=16)
x = torch.randn(7, 4, 32)
h0 = torch.zeros(1, 4, 64)
c0 = torch.zeros(1, 4, 64)
out, (h, c) = lstm(x, (h0, c0))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

lstm = nn.LSTM(32, 64, proj_size=16)
x = torch.randn(7, 4, 32)
h0 = torch.zeros(1, 4, 16)
c0 = torch.zeros(1, 4, 64)
out, (h, c) = lstm(x, (h0, c0))
""",
    )

    def broken(self, shapes: ShapeFacts, use: StateUse, part: int, shape: TensorShape) -> bool:
        size = use.module.state_size(part)
        if size is None or is_batch_major(use, shape):
            return False
        return size.differs(shape.dims[-1])  # type: ignore[index]

    def fields(
        self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int, shape: TensorShape
    ) -> dict[str, object]:
        module = use.module
        batch = batch_dim(use, shape)
        note = ""
        if module.kind == "LSTM" and module.dim("proj_size") not in (None, Dim(0)):
            note = " (h is proj_size wide)"
        return {
            "state": state_name(form, part), "found": found_layout(shape), "module": module_name(module, use.key),
            "expected": expected_layout(module, part, str(batch) if batch is not None else "batch"),
            "size": module.state_size(part), "last": shape.texts[-1], "note": note,
        }


class HiddenBatchMismatch(_StateRule):
    code = "HS204"
    name = "hidden-batch-mismatch"
    summary = "h0/c0's batch dimension is not the input's batch dimension (or is fixed while the last batch is smaller)"
    message = "{state} is {found} for {module}: its batch dimension {batch} {problem}. {fix}"
    rationale = (
        "The state's batch dimension (dim 1 of h0 for a full module, dim 0 for a cell) must equal the input's "
        "batch, which is dim 0 of the input only when the module is batch_first=True and dim 1 otherwise. "
        "Sizing h0 by the wrong axis of the input works only while the sequence length happens to equal the "
        "batch size. A fixed batch size fails on the last, smaller batch of a DataLoader without "
        "drop_last=True, and of a torchtext BucketIterator or Iterator, which always yield it."
    )
    torch_error = "RuntimeError: Expected hidden size (1, 3, 20), got [1, 5, 20]"
    bad = (
        """\
import torch
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(10, 20)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(0), 20)
        return self.gru(x, h0)
""",
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 32, batch_first=True)

    def init_hidden(self, batch):
        return torch.zeros(1, batch, 32), torch.zeros(1, batch, 32)

    def forward(self, x, hidden):
        return self.lstm(x, hidden)

loader = DataLoader(TensorDataset(torch.randn(100, 5, 8)), batch_size=16, shuffle=True)
model = CharLSTM()
for (x,) in loader:
    out, _ = model(x, model.init_hidden(16))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(10, 20)

    def forward(self, x):
        h0 = torch.zeros(1, x.size(1), 20, device=x.device)
        return self.gru(x, h0)
""",
        """\
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

class CharLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 32, batch_first=True)

    def init_hidden(self, batch):
        return torch.zeros(1, batch, 32), torch.zeros(1, batch, 32)

    def forward(self, x, hidden):
        return self.lstm(x, hidden)

loader = DataLoader(TensorDataset(torch.randn(100, 5, 8)), batch_size=16, shuffle=True)
model = CharLSTM()
for (x,) in loader:
    out, _ = model(x, model.init_hidden(x.size(0)))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        yield from super().check(facts)
        for fixed in fixed_calls(facts.shapes):
            loader, owner, size = fixed.loader, fixed.initialiser.cls, facts.source(fixed.size)
            shown = loader.batch_size.value if isinstance(loader.batch_size, Dim) else None
            yield self.violation(  # (the call may be a helper's expansion: quote what the user wrote)
                fixed.site.node, state=f"The state of `{fixed.initialiser.name}(...)`", found="built here",
                module=f"`{owner.name}`" if owner is not None else "the model", batch=f"`{size}`",
                problem=f"is fixed, but the {loader.model.name} (batch_size={shown or size}) {_short(loader)}",
                fix=f"Pass the batch's own size{_drop(loader)}.")

    def broken(self, shapes: ShapeFacts, use: StateUse, part: int, shape: TensorShape) -> bool:
        return self._problem(shapes, use, shape) is not None

    def _problem(self, shapes: ShapeFacts, use: StateUse, shape: TensorShape) -> tuple[str, str] | None:
        batch, axis = batch_dim(use, shape), use.batch_axis
        if batch is None or axis is None or is_batch_major(use, shape):
            return None
        rank = 2 if use.module.is_cell else 3
        sym = batch.sym
        if (sym is not None and sym.tensor is not None and sym.tensor == use.input_key and sym.axis is not None
                and not shapes.relaid(sym.tensor, use.call.site.scope)):
            if sym.axis % rank != axis:
                name = sym.text.split(".", 1)[0].split("(", 1)[-1]
                layout = "" if use.module.is_cell else f" with batch_first={use.module.flag('batch_first')}"
                fixed = sym.text.replace(f"({sym.axis})", f"({axis})").replace(f"[{sym.axis}]", f"[{axis}]")
                return (f"is axis {sym.axis} of `{name}`, but{layout} the batch is axis {axis}",
                        f"Size it by the batch: `{fixed}`")
        for loader in shapes.loaders(use):
            if loader.batch_size != batch or loader.drop_last is not False or leaves_early(loader.loop) \
                    or sized_by_caller(shapes, shape.node):
                continue
            return (f"is fixed, but the {loader.model.name} (batch_size={loader.batch_size}) "
                    f"{_short(loader)}", f"Size it by `{_input_text(shapes, use)}.size({axis})`{_drop(loader)}.")
        given = use.input
        if given is not None and given.dims is not None and len(given.dims) == rank:
            other = given.dims[1 - axis] if rank == 3 else None
            if batch.differs(given.dims[axis]) and batch != other:
                return (f"is not the input's batch {given.dims[axis]} (the input is {found_layout(given)})",
                        "Size h0 by the input's batch.")
        return None

    def fields(
        self, shapes: ShapeFacts, use: StateUse, form: StateForm, part: int, shape: TensorShape
    ) -> dict[str, object]:
        problem, fix = self._problem(shapes, use, shape)  # type: ignore[misc]
        batch = shape.texts[0 if use.module.is_cell else 1]
        return {"state": state_name(form, part), "found": found_layout(shape), "batch": f"`{batch}`",
                "module": module_name(use.module, use.key), "expected": expected_layout(use.module, part, "batch"),
                "problem": problem, "fix": fix}


class StateArity(Rule):
    code = "HS205"
    name = "state-arity"
    summary = "An LSTM given one tensor as its state, or a GRU/RNN given a tuple (or unpacked as (h, c))"
    message = "{module} {problem}: {fix}"
    rationale = (
        "nn.LSTM and nn.LSTMCell take and return their state as a tuple (h, c); nn.GRU, nn.RNN and their cells "
        "take and return a single tensor. Swapping an LSTM for a GRU (or back) without updating the state "
        "code fails at the call, and unpacking a GRU's h_n as `(h, c)` fails for one layer and silently "
        "splits the layers for two."
    )
    torch_error = (
        "LSTM given one tensor: it is unpacked along dim 0, e.g. 'RuntimeError: For batched 3-D input, hx and cx "
        "should also be 3-D but got (2-D, 2-D) tensors'. GRU given a tuple: \"AttributeError: 'tuple' object has "
        "no attribute 'dim'\". `out, (h, c) = gru(...)`: 'ValueError: not enough values to unpack' for one layer, "
        "nothing for two."
    )
    bad = (
        """\
import torch
import torch.nn as nn

gru = nn.GRU(8, 16)
x = torch.randn(5, 2, 8)
h0 = torch.zeros(1, 2, 16)
c0 = torch.zeros(1, 2, 16)
out, h = gru(x, (h0, c0))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

lstm = nn.LSTM(8, 16)
x = torch.randn(5, 2, 8)
h0 = torch.zeros(1, 2, 16)
c0 = torch.zeros(1, 2, 16)
out, (h, c) = lstm(x, (h0, c0))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for use in facts.shapes.uses:
            module, call = use.module, use.call
            name = module_name(module, use.key)
            wants_tuple = holds_tuple(module.kind)
            if wants_tuple is None:  # the class is chosen when the code runs: either arity may be right
                continue
            if call.state_arg is not None and use.forms and all(f.is_tuple != wants_tuple for f in use.forms):
                yield self.violation(call.state_arg, data=use.as_data(use.forms[0]), **self._state(module, name))
            target = call.site.target
            unpacked = target if module.is_cell else (
                target.elements[1].value if isinstance(target, cst.Tuple) and len(target.elements) == 2 else None)
            if not wants_tuple and isinstance(unpacked, (cst.Tuple, cst.List)) and len(unpacked.elements) == 2:
                yield self.violation(
                    unpacked, data=use.as_data(),
                    module=name,
                    problem=f"returns a single tensor, but it is unpacked as `{facts.source(unpacked)}`",
                    fix=("only an LSTM has a cell state; bind one name (`h = cell(x, h)`): unpacking splits the "
                         "batch") if module.is_cell else (
                        "only an LSTM has a cell state; bind one name (`out, h_n = ...`): for a 2-layer module this "
                        "unpacking silently splits h_n by layer"),
                )

    @staticmethod
    def _state(module: ModuleConfig, name: str) -> dict[str, str]:
        if holds_tuple(module.kind):
            return {"module": name, "problem": "takes its state as a tuple (h0, c0), but it is given one tensor",
                    "fix": "pass `(h0, c0)` with c0 shaped like h0 (hidden_size wide)"}
        return {"module": name, "problem": "takes its state as one tensor h0, but it is given a tuple",
                "fix": "pass h0 alone (only an LSTM has a cell state c0)"}


class InputLayout(Rule):
    code = "HS206"
    name = "input-layout"
    summary = "An input whose visible shape contradicts batch_first, or whose last dimension is not input_size"
    message = "{what} is {found}, but {module} {wants}: {fix}"
    rationale = (
        "A full recurrent module reads its input as (seq, batch, input_size), or (batch, seq, input_size) when "
        "built with batch_first=True. An input built in the other layout runs when the state is left out "
        "(silently treating time as batch), and fails once h0 is sized by the real batch. A batch from a "
        "shuffling DataLoader has its samples on axis 0 (the default collate stacks them there), through an "
        "embedding too: a module left at batch_first=False reads them as time steps. A torchtext Field, and "
        "`pad_sequence`, lay their batches out (seq_len, batch) unless given batch_first=True, and the module "
        "must read them the same way. The last dimension "
        "must equal input_size: an embedding or upstream layer of another width fails at the first call."
    )
    torch_error = "RuntimeError: input.size(-1) must be equal to input_size. Expected 128, got 64"
    bad = (
        """\
import torch
import torch.nn as nn

embed = nn.Embedding(1000, 64)
lstm = nn.LSTM(128, 256, batch_first=True)
tokens = torch.randint(0, 1000, (8, 20))
out, _ = lstm(embed(tokens))
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

embed = nn.Embedding(1000, 128)
lstm = nn.LSTM(128, 256, batch_first=True)
tokens = torch.randint(0, 1000, (8, 20))
out, _ = lstm(embed(tokens))
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for use in facts.shapes.uses:
            given = use.input
            args = positional_args(use.call.site.node)
            if not args:
                continue
            node, module = args[0], use.module
            name = module_name(module, use.key)
            input_size = module.dim("input_size")
            if given is not None and input_size is not None and input_size.differs(given.feature):
                found = found_layout(given) if given.dims is not None else f"(..., {given.feature})"
                yield self.violation(
                    node, data=use.as_data(), what=f"the input `{facts.source(node)}`", found=found, module=name,
                    wants=f"was built with input_size={input_size}",
                    fix=f"make its last dimension {input_size}, or build the module with input_size={given.feature}",
                )
                continue
            swapped = self._swapped(use)
            if swapped is not None:
                yield self.violation(node, data=use.as_data(use.forms[0] if use.forms else None), **swapped,
                                     module=name)
                continue
            laid = self._laid_out(facts, use, node)
            if laid is not None:
                found, maker, first = laid
                yield self.violation(
                    node, data=use.as_data(), what=f"the input `{facts.source(node)}`", found=found, module=name,
                    wants=f"is batch_first={not first}",
                    fix=f"build the module with batch_first={first}, or {maker} with batch_first={not first}")
                continue
            loader = self._samples_as_time(facts, use, node)
            if loader is not None:
                yield self.violation(
                    node, data={**use.as_data(), "batch_of": loader}, what=f"the input `{facts.source(node)}`",
                    found=f"a shuffled batch of {loader}", module=name,
                    wants="is batch_first=False and reads its samples as time steps",
                    fix="build it with batch_first=True or transpose the input (vectors also need a time axis)")

    @staticmethod
    def _laid_out(facts: FileFacts, use: StateUse, node: cst.BaseExpression) -> tuple[str, str, bool] | None:
        """A full module given a batch laid out the other way than it reads: a torchtext batch (its Fields'
        batch_first), or one padded by ``pad_sequence`` (its batch_first), against the module's. (What the input
        is, what made its layout, whether that is batch first.)"""
        flag = use.module.flag("batch_first")
        if use.module.is_cell or flag is None or (use.input is not None and use.input.dims is not None):
            return None
        laid = facts.batches.layout(node, use.call.site.scope)
        return laid if laid is not None and laid[2] != flag else None

    @staticmethod
    def _samples_as_time(facts: FileFacts, use: StateUse, node: cst.BaseExpression) -> str | None:
        """A time-major module given a shuffled batch with its samples on axis 0 (a state without a batch axis
        is HS211's: one finding for one mistake)."""
        if use.module.is_cell or use.module.flag("batch_first") is not False or (
                use.input is not None and use.input.dims is not None):
            return None
        unbatched = any(p is not None and p.rank == 2 for f in use.forms for p in f.parts)
        return None if unbatched else facts.batches.loader(node, use.call.site.scope)

    @staticmethod
    def _swapped(use: StateUse) -> dict[str, str] | None:
        """The input's batch axis (by batch_first) differs from h0's batch, which is the input's other axis."""
        given, axis = use.input, use.batch_axis
        if given is None or given.dims is None or len(given.dims) != 3 or axis is None or use.module.is_cell:
            return None
        other = given.dims[1 - axis]
        batches = [batch_dim(use, p) for f in use.forms for p in f.parts if p is not None and p.dims is not None]
        if not batches or other is None or not all(b == other and b != given.dims[axis] for b in batches):
            return None
        layout = "(batch, seq, feature)" if axis == 0 else "(seq, batch, feature)"
        built = "(seq, batch, feature)" if axis == 0 else "(batch, seq, feature)"
        return {
            "what": "the input", "found": f"{found_layout(given)} = {built} (h0's batch is {other})",
            "wants": f"is batch_first={use.module.flag('batch_first')} and reads it as {layout}",
            "fix": f"transpose it (`x.transpose(0, 1)`) or build the module with batch_first={axis == 1}",
        }


def _is_minus_one(element: cst.SubscriptElement) -> bool:
    index = element.slice
    return (isinstance(index, cst.Index) and isinstance(index.value, cst.UnaryOperation)
            and isinstance(index.value.operator, cst.Minus) and isinstance(index.value.expression, cst.Integer)
            and index.value.expression.value == "1")


def _is_full(element: cst.SubscriptElement) -> bool:
    s = element.slice
    return isinstance(s, cst.Slice) and s.lower is None and s.upper is None and s.step is None


class LastStepIndex(Rule):
    code = "HS207"
    name = "last-step-index"
    summary = "out[-1] / out[:, -1] / h_n[-1] that does not pick the last time step (batch_first, bidirectional)"
    message = "`{expr}` {problem}: {fix}"
    rationale = (
        "The output of a full recurrent module is (seq, batch, D*H), or (batch, seq, D*H) with batch_first=True, "
        "so the last time step is `out[-1]` in the first layout and `out[:, -1]` in the second; the other index "
        "silently takes the last sequence (or batch item) instead. For a bidirectional module h_n[-1] holds "
        "only the last layer's backward direction: concatenate `h_n[-2]` and `h_n[-1]`. (The last step of a "
        "bidirectional output used as a summary is HS210's, advisory.)"
    )
    torch_error = "Nothing: the shapes often still fit, and the model trains on the wrong features."
    bad = (
        """\
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.fc = nn.Linear(64, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[-1])
""",
    )
    good = (
        """\
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, batch_first=True)
        self.fc = nn.Linear(64, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])
""",
    )

    summarises = False  # HS210 reports the other kind of last-step read: a bidirectional output's

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        for output, node, role, problem in _last_step_reads(facts):
            if (problem[0] == _NOT_A_SUMMARY) == self.summarises:
                data = {**output.use.as_data(), "expression": facts.source(node), "of": role}
                yield self.violation(node, data=data, expr=facts.source(node), problem=problem[0], fix=problem[1])


class BidirectionalLastStep(LastStepIndex):
    code = "HS210"
    name = "bidirectional-last-step"
    summary = ("out[-1] / out[:, -1] of a bidirectional module read as its summary: the backward half has read "
               "one step (advisory)")
    default_enabled = False
    rationale = (
        "At the last time step the output of a bidirectional module holds the forward direction's summary of "
        "the whole sequence, but the backward direction has only read that one step: its summary of the "
        "sequence is at step 0. A classifier fed `out[:, -1]` still trains, on the forward half and a "
        "one-token backward half. Advisory: it is a weaker summary, not a wrong index; concatenate h_n[-2] "
        "and h_n[-1] (or the forward half of the last step and the backward half of the first)."
    )
    torch_error = "Nothing: the shapes fit; the backward half of the feature has seen one token."
    bad = (
        """\
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(128, 2)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])
""",
    )
    good = (
        """\
import torch
import torch.nn as nn

class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(32, 64, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(128, 2)

    def forward(self, x):
        _, (h_n, _) = self.lstm(x)
        return self.fc(torch.cat((h_n[-2], h_n[-1]), dim=1))
""",
    )
    summarises = True


_NOT_A_SUMMARY = "is not a summary of a bidirectional module (the backward direction's is at step 0)"


def indexed_reads(facts: FileFacts, output: Output, role: str) -> list[tuple[cst.Subscript, Holder]]:
    """The subscripts of a call's output (``role`` "output") or h_n ("h_n") wherever it is held, with the holder."""
    return [(n, holder) for holder in output.holders(facts, role) for n, s in facts.subscripts
            if s is holder.scope and key_of(n.value) == holder.key and facts.holds_value(n.value, holder)]


def _last_step_reads(facts: FileFacts) -> Iterator[tuple[Output, cst.Subscript, str, tuple[str, str]]]:
    """Each last-step read of a recurrent call's output or h_n (here, or in a helper they are passed to) that
    does not take what it seems to, with (problem, fix)."""
    for output in facts.shapes.outputs:
        module = output.use.module
        batch_first, bidirectional = facts.shapes.certain(module, "batch_first"), facts.shapes.certain(
            module, "bidirectional")
        indexed = {role: indexed_reads(facts, output, role) for role in ("output", "h_n")}
        # ``torch.cat((h_n[-2], h_n[-1]), 1)``, ``h_n[0]`` and ``h_n[-1]``: both directions are taken
        h_n_other_index = any(len(n.slice) == 1 and _index_value(n.slice[0]) not in (-1, None)
                              for n, _ in indexed["h_n"])
        for role, reads in indexed.items():
            for node, holder in reads:
                problem = None
                if role == "output":
                    problem = _output_problem(node, batch_first, bidirectional)
                elif bidirectional and not h_n_other_index and len(node.slice) == 1 and _is_minus_one(
                        node.slice[0]):
                    problem = ("is only the last layer's backward direction of a bidirectional module",
                               f"use `torch.cat(({holder.key}[-2], {holder.key}[-1]), dim=1)` for both directions")
                if problem is not None:
                    yield output, node, role, problem


def _output_problem(node: cst.Subscript, batch_first: bool | None, bidirectional: bool | None):
    elements = node.slice
    last_first = len(elements) == 1 and _is_minus_one(elements[0])
    last_second = len(elements) in (2, 3) and _is_full(elements[0]) and _is_minus_one(elements[1]) and (
        len(elements) == 2 or _is_full(elements[2]))
    out = key_of(node.value)
    if last_first and batch_first:
        return ("takes the last batch item, not the last time step (the output is batch_first)",
                f"use `{out}[:, -1]`")
    if last_second and batch_first is False:
        return ("takes the last batch item at every step, not the last time step (the output is "
                "(seq, batch, features))", f"use `{out}[-1]`")
    if (last_first and batch_first is False) or (last_second and batch_first):
        if bidirectional:
            return _NOT_A_SUMMARY, "concatenate h_n[-2] and h_n[-1]"
    return None


def _index_value(element: cst.SubscriptElement) -> int | None:
    return int_literal(element.slice.value) if isinstance(element.slice, cst.Index) else None


class HiddenViewWithoutTranspose(Rule):
    code = "HS208"
    name = "hidden-view-without-transpose"
    summary = "h_n (layers*dirs, batch, hidden) reshaped straight to a batch-leading shape, scrambling batch items"
    message = (
        "`{expr}` reshapes h_n of {module}, laid out ({layers}, batch, {size}), straight to a batch-leading "
        "shape, mixing batch items: move the batch first: `{fix}`"
    )
    rationale = (
        "h_n is (num_layers * num_directions, batch, hidden). `view`/`reshape` only re-reads memory in order, so "
        "`h_n.view(batch, -1)` puts layer 0's states for batch items 0 and 1 into row 0 instead of layer 0 and "
        "layer 1 of item 0. Nothing fails: the shape is right and the model learns from scrambled features. "
        "Transpose the batch axis to the front first (`h_n.transpose(0, 1).reshape(batch, -1)`), or "
        "concatenate `h_n[-2]` and `h_n[-1]`."
    )
    torch_error = "Nothing: the shape is what the next layer expects, the contents are mixed across the batch."
    bad = (
        """\
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32, bidirectional=True)

    def forward(self, x):
        _, h_n = self.gru(x)
        return h_n.view(x.size(1), -1)
""",
    )
    good = (
        """\
import torch.nn as nn

class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(16, 32, bidirectional=True)

    def forward(self, x):
        _, h_n = self.gru(x)
        return h_n.transpose(0, 1).reshape(x.size(1), -1)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        shapes = facts.shapes
        for output in shapes.outputs:
            module, h_n = output.use.module, output.h_n
            layers, bidirectional = shapes.certain(module, "num_layers"), shapes.certain(module, "bidirectional")
            if not isinstance(layers, Dim) or not isinstance(bidirectional, bool):
                continue
            layers = layers * Dim(2 if bidirectional else 1)
            if h_n is None or layers.coeff < 2:  # one layer, one direction: view(batch, -1) is right
                continue
            for holder in output.holders(facts, "h_n"):  # here, or in a helper h_n is passed to
                for site in facts.calls:
                    if site.scope is not holder.scope or method_name(site.node) not in ("view", "reshape"):
                        continue
                    read = receiver(site.node)
                    if key_of(read) != holder.key or not facts.holds_value(read, holder) or not self._batch_leading(
                            facts, site, holder.key, output.use):
                        continue
                    args = ", ".join(map(facts.source, positional_args(site.node)))
                    yield self.violation(
                        site.node, data={**output.use.as_data(), "expression": facts.source(site.node), "of": "h_n"},
                        expr=facts.source(site.node), module=module_name(module), layers=layers,
                        size=module.state_size(0), fix=f"{holder.key}.transpose(0, 1).reshape({args})",
                    )

    @staticmethod
    def _batch_leading(facts: FileFacts, site, h_n: str, use: StateUse) -> bool:
        """The first size is the batch (by name, by ``size()`` axis, or the input's batch), or -1 with
        a width of several hidden sizes (``view(-1, 2 * hidden)``)."""
        args = positional_args(site.node)
        if len(args) == 1 and isinstance(args[0], (cst.Tuple, cst.List)):
            args = [e.value for e in args[0].elements]
        if len(args) < 2:
            return False
        first = facts.shapes.value(args[0], site.scope)
        if not isinstance(first, Dim):
            return False
        sym = first.sym
        if sym is not None and sym.tensor == facts.shapes.qualified_key(h_n, site.scope):
            return sym.axis == 1
        given, axis = use.input, use.batch_axis
        if given is not None and given.dims is not None and len(given.dims) == 3 and axis is not None:
            if first == given.dims[axis]:
                return True
        if (sym is not None and sym.looks_like_batch) or looks_like_batch(facts.source(args[0])):
            return True
        if first.value == -1 and len(args) == 2:
            width = facts.shapes.value(args[1], site.scope)
            size = use.module.state_size(0)
            return isinstance(width, Dim) and size is not None and width.factors == size.factors and (
                width.coeff > size.coeff)
        return False


class DropoutSingleLayer(Rule):
    code = "HS209"
    name = "dropout-single-layer"
    summary = "dropout > 0 on a recurrent module with num_layers == 1: torch applies no dropout at all"
    message = (
        "{module} has dropout={dropout} but num_layers={layers}{built}, and dropout applies only between stacked "
        "layers: use num_layers >= 2, or an nn.Dropout on the input/output"
    )
    rationale = (
        "The `dropout` argument of nn.RNN/LSTM/GRU adds dropout on the outputs of each layer except the last. "
        "With a single layer there is no such output, so no dropout happens, and torch only warns once at "
        "construction. The model is trained without the regularisation its author tuned for."
    )
    torch_error = (
        "UserWarning: dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
        "expects num_layers greater than 1, but got dropout=0.5 and num_layers=1"
    )
    fix_summary = "Removes the `dropout=` argument (unsafe: maybe a dropout layer was meant instead)"
    fix_safe = False
    bad = (
        """\
import torch.nn as nn

encoder = nn.LSTM(100, 256, dropout=0.5, batch_first=True)
""",
    )
    good = (
        """\
import torch.nn as nn

encoder = nn.LSTM(100, 256, num_layers=2, dropout=0.5, batch_first=True)
""",
    )

    def check(self, facts: FileFacts) -> Iterator[Violation]:
        shapes = facts.shapes
        for module in shapes.modules.values():
            # values that rest on a parameter default nobody in this file passes may be overridden elsewhere
            dropout, layers = shapes.certain(module, "dropout"), shapes.certain(module, "num_layers")
            if module.is_cell or not isinstance(dropout, float) or dropout <= 0 or layers != Dim(1):
                continue
            node = module.args.get("dropout")
            if not any(a.value is node for a in module.node.args):
                node = module.node  # not written in the call (``**rnn_kwargs``): the construction itself
            built = shapes.built_in(module, ("dropout", "num_layers"))
            yield self.violation(node, data={"module": module.as_data(), "built_in": list(built)},
                                 module=module_name(module), dropout=dropout, layers=1,
                                 built=f" (as {', '.join(built)} builds it)" if built else "")

    def fix(self, facts: FileFacts, violation: Violation) -> Fix | None:
        """Drop a ``dropout=`` keyword (unsafe: the author may have meant a dropout layer elsewhere)."""
        call = next((m.node for m in facts.shapes.modules.values() if m.args.get("dropout") is violation.node), None)
        if not isinstance(call, cst.Call):
            return None
        arg = next((a for a in call.args if a.value is violation.node), None)
        if arg is None or arg.keyword is None:
            return None  # positional: removing it would shift the arguments after it
        kept = [a for a in call.args if a is not arg]
        if kept and call.args[-1] is arg:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return Fix((replace(call, call.with_changes(args=kept)),))


def _short(loader: LoaderUse) -> str:
    return "yields a smaller last batch" if loader.model.drop_last is None else "has no drop_last=True"


def _drop(loader: LoaderUse) -> str:
    """The other repair, where the iterator has one."""
    return "" if loader.model.drop_last is None else " or pass drop_last=True"


def _input_text(shapes: ShapeFacts, use: StateUse) -> str:
    args = positional_args(use.call.site.node)
    text = shapes.facts.source(args[0]) if args else "input"
    return text if key_of(args[0]) is not None else f"({text})"


def _rebuilt(shape: TensorShape, texts: tuple[str, ...]) -> str:
    """The factory call with its size arguments in a new order (for a message's fix)."""
    node = shape.node
    if isinstance(node, cst.Call):
        args = positional_args(node)
        if len(args) == len(texts):
            return f"{_callee_text(node)}({', '.join(texts)})"
    return f"torch.zeros({', '.join(texts)})"


def _callee_text(call: cst.Call) -> str:
    return cst.Module(body=()).code_for_node(call.func)
