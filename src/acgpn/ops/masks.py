"""Label-map helpers: one-hot encoding, argmax to ids, id-set masks."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor


def one_hot(label: Tensor, num_classes: int) -> Tensor:
    """(B, 1, H, W) ids (any dtype) -> (B, num_classes, H, W) one-hot in ``label``'s float dtype.

    Raises ``ValueError`` for ids outside ``0..num_classes-1`` (the official scatter crashes).
    """
    ids = label.long().squeeze(1)
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
        raise ValueError(f"label ids must lie in 0..{num_classes - 1}")
    dtype = label.dtype if label.is_floating_point() else torch.float32
    return F.one_hot(ids, num_classes).permute(0, 3, 1, 2).to(dtype)


def argmax_label(scores: Tensor) -> Tensor:
    """(B, C, H, W) scores -> (B, 1, H, W) ids as float (ties -> lowest index, like torch/NumPy)."""
    return scores.argmax(dim=1, keepdim=True).to(scores.dtype)


def isin(label: Tensor, ids: Iterable[int]) -> Tensor:
    """Float {0, 1} mask of pixels whose id is in ``ids`` (same shape and dtype as ``label``)."""
    mask = torch.zeros_like(label, dtype=torch.bool)
    for i in ids:
        mask |= label == i
    return mask.to(label.dtype)


def replace_ids(label: Tensor, ids: Iterable[int], new_id: int) -> Tensor:
    """Copy of ``label`` with every id in ``ids`` replaced by ``new_id``."""
    m = isin(label, ids)
    return label * (1 - m) + new_id * m
