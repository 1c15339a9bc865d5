"""What torch's recurrent modules and the data libraries' batch iterators take and give, as data: one place for
each fact about them (the facts, the shapes, the summaries and the screen read these tables; nothing here imports).

A rule that asks "can the last batch be smaller than the state was built for?" reads the batch size and the
``drop_last`` argument through this table, so a torchtext ``BucketIterator`` (which never drops a short last
batch) and a ``DataLoader`` are judged alike. Arguments are (keyword, position) pairs, positions counted from the
first argument as the constructor takes them.
"""

from __future__ import annotations

from dataclasses import dataclass

Argument = tuple[str, "int | None"]  # (keyword, position); no position: passed by keyword only


@dataclass(frozen=True)
class BatchIterator:
    name: str  # as a message names it
    batch_size: Argument
    drop_last: Argument | None  # None: a short last batch is always yielded
    collate_fn: Argument | None  # None: batches are not built by torch's collate (``hs_lint.batches``)
    # torchtext: whether a batch comes sorted (by ``sort_key``, longest first): ``sort_within_batch``, which
    # defaults to ``sort``, which defaults to ``not train`` (``train`` defaults to True; ``splits`` makes only
    # the first iterator a training one). None: not such an iterator.
    order: tuple[Argument, Argument, Argument] | None = None  # (sort_within_batch, sort, train)


# DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, pin_memory, drop_last)
DATA_LOADER = BatchIterator("DataLoader", ("batch_size", 1), ("drop_last", 8), ("collate_fn", 6))
# torchtext's legacy iterators: Iterator(dataset, batch_size, sort_key, device, batch_size_fn, train, repeat,
# shuffle, sort, sort_within_batch); the same class is reachable under several module paths across releases.
# ``X.splits(datasets, batch_sizes=None, **kwargs)`` builds one per dataset; a ``batch_size=`` keyword is each one's.
_TEXT = {name: BatchIterator(name, ("batch_size", 1), None, None,
                             (("sort_within_batch", 9), ("sort", 8), ("train", 5)))
         for name in ("BucketIterator", "Iterator")}
_TEXT.update({f"{name}.splits": BatchIterator(name, ("batch_size", None), None, None,
                                              (("sort_within_batch", None), ("sort", None), ("train", None)))
              for name in list(_TEXT)})

BATCH_ITERATORS: dict[str, BatchIterator] = {
    "torch.utils.data.DataLoader": DATA_LOADER,
    "torch.utils.data.dataloader.DataLoader": DATA_LOADER,
    **{f"torchtext{legacy}.data{module}.{name}": model for legacy in ("", ".legacy")
       for module in ("", ".iterator") for name, model in _TEXT.items()},
}
DATA_LOADERS = frozenset(name for name, model in BATCH_ITERATORS.items() if model is DATA_LOADER)
# torchtext's legacy Field: Field(sequential=True, ..., batch_first=False, ...). A sequential field's tensor in a
# batch (``batch.text``) is (seq_len, batch) unless ``batch_first=True``; ``include_lengths`` makes it a pair.
TEXT_FIELDS = frozenset(f"torchtext{legacy}.data{module}.Field" for legacy in ("", ".legacy")
                        for module in ("", ".field"))
FIELD_SEQUENTIAL: Argument = ("sequential", 0)
FIELD_BATCH_FIRST: Argument = ("batch_first", None)


# -- recurrent modules -------------------------------------------------------------------------
# A class chosen when the code runs (``rnn_cell = nn.LSTM`` in one branch, ``nn.GRU`` in another) is a *family*,
# spelled "GRU|LSTM": what its members share (the state's layout, the common constructor parameters) is known,
# what they do not (an LSTM's (h, c) tuple against a GRU's tensor) is not, and a rule that needs it stays silent.
RECURRENT_KINDS = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")
CELL_KINDS = frozenset({"RNNCell", "LSTMCell", "GRUCell"})
TUPLE_STATE_KINDS = frozenset({"LSTM", "LSTMCell"})


# Constructor parameters in torch's positional order, per class (torch 2.x, torch/nn/modules/rnn.py).
_FULL = ("input_size", "hidden_size", "num_layers")
_FLAGS = ("bias", "batch_first", "dropout", "bidirectional")
PARAMETERS: dict[str, tuple[str, ...]] = {
    "RNN": (*_FULL, "nonlinearity", *_FLAGS),
    "LSTM": (*_FULL, *_FLAGS, "proj_size"),
    "GRU": (*_FULL, *_FLAGS),
    "RNNCell": ("input_size", "hidden_size", "bias", "nonlinearity"),
    "LSTMCell": ("input_size", "hidden_size", "bias"),
    "GRUCell": ("input_size", "hidden_size", "bias"),
}
DEFAULTS: dict[str, object] = {
    "num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0, "bidirectional": False,
    "proj_size": 0, "nonlinearity": "tanh",
}


def family(kinds: frozenset[str] | set[str]) -> str | None:
    """The kind of a module whose class is one of ``kinds``: the one kind, or a family of full modules or of
    cells; None when cells and full modules mix (their states are not even laid out alike)."""
    if not kinds or not kinds <= set(RECURRENT_KINDS) or len({k in CELL_KINDS for k in kinds}) != 1:
        return None
    return "|".join(sorted(kinds))


def members(kind: str) -> tuple[str, ...]:
    return tuple(kind.split("|"))


def is_cell(kind: str | None) -> bool:
    return kind is not None and members(kind)[0] in CELL_KINDS


def holds_tuple(kind: str | None) -> bool | None:
    """The state is an ``(h, c)`` tuple (True), one tensor (False), or it depends on the class chosen (None)."""
    if kind is None:
        return None
    found = {k in TUPLE_STATE_KINDS for k in members(kind)}
    return found.pop() if len(found) == 1 else None


def kind_name(kind: str) -> str:
    """``nn.LSTM``, or ``nn.GRU or nn.LSTM`` for a family."""
    return " or ".join(f"nn.{k}" for k in members(kind))


def known_kind(kind: str) -> bool:
    return all(k in PARAMETERS for k in members(kind))


def parameters(kind: str) -> tuple[str, ...]:
    """A class's constructor parameters in torch's positional order; a family's are those all its members take,
    in that order while their positions agree (``positional``), then the rest (given by keyword only)."""
    orders = [PARAMETERS[k] for k in members(kind)]
    common = [name for name in orders[0] if all(name in order for order in orders)]
    return tuple(common)


def positional(kind: str) -> int:
    """How many leading parameters of ``parameters(kind)`` may be given by position."""
    orders = [PARAMETERS[k] for k in members(kind)]
    return next((i for i, names in enumerate(zip(*orders)) if len(set(names)) != 1), min(map(len, orders)))
