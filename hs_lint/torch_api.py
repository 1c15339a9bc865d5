"""What the data libraries' batch iterators take and give, as data: one place for each fact about them.

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


# DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, pin_memory, drop_last)
DATA_LOADER = BatchIterator("DataLoader", ("batch_size", 1), ("drop_last", 8), ("collate_fn", 6))
# torchtext's legacy iterators: Iterator(dataset, batch_size, sort_key, device, batch_size_fn, train, repeat,
# shuffle, sort, sort_within_batch); the same class is reachable under several module paths across releases.
# ``X.splits(datasets, batch_sizes=None, **kwargs)`` builds one per dataset; a ``batch_size=`` keyword is each one's.
_TEXT = {name: BatchIterator(name, ("batch_size", 1), None, None) for name in ("BucketIterator", "Iterator")}
_TEXT.update({f"{name}.splits": BatchIterator(name, ("batch_size", None), None, None) for name in list(_TEXT)})

BATCH_ITERATORS: dict[str, BatchIterator] = {
    "torch.utils.data.DataLoader": DATA_LOADER,
    "torch.utils.data.dataloader.DataLoader": DATA_LOADER,
    **{f"torchtext{legacy}.data{module}.{name}": model for legacy in ("", ".legacy")
       for module in ("", ".iterator") for name, model in _TEXT.items()},
}
DATA_LOADERS = frozenset(name for name, model in BATCH_ITERATORS.items() if model is DATA_LOADER)
