"""Bad input out of DataLoader workers as one :class:`~acgpn.errors.InputError`, not a traceback.

A worker that raises sends its exception back wrapped in a multi-line traceback; here a sample
that raises :class:`InputError` is returned as a :class:`Failure` value instead, collation passes
the first failure of a batch through, and the main process raises it again (:func:`raise_failure`).
Used by inference and training alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch.utils.data import Dataset, default_collate

from acgpn.errors import InputError


@dataclass
class Failure:
    """An :class:`InputError` carried as a value out of a DataLoader worker."""

    message: str
    path: str | None


class GuardedDataset(Dataset):
    """``dataset[indices[i]]``, with :class:`InputError` returned as a :class:`Failure`."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> object:
        try:
            return self.dataset[self.indices[i]]
        except InputError as exc:
            return Failure(exc.message, exc.path)


def collate_or_failure(items: list[object]) -> object:
    """``default_collate`` of a batch, or its first :class:`Failure`."""
    failures = [item for item in items if isinstance(item, Failure)]
    return failures[0] if failures else default_collate(items)


def first_failure(items: list[object]) -> Failure | None:
    """A batch's first :class:`Failure`, or None (a check-only pass: nothing is collated)."""
    return next((item for item in items if isinstance(item, Failure)), None)


def raise_failure(batch: object) -> None:
    """Raise the :class:`InputError` a :class:`Failure` carries; anything else passes."""
    if isinstance(batch, Failure):
        raise InputError(batch.message, batch.path)
