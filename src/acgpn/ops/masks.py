"""Label-map helpers: one-hot encoding, argmax to ids, id-set masks."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from acgpn.ops.checks import check_shape


def one_hot(label: Tensor, num_classes: int) -> Tensor:
    """One-hot encoding of a map of class ids.

    Ids are truncated to integers; an id outside ``0..num_classes-1`` gets an all-zero vector
    (valid ids are the data boundary's job: :mod:`acgpn.data` checks every label map it reads).
    No value-dependent Python, so export and ``torch.compile`` trace it.

    Args:
        label: class ids, any dtype.
        num_classes: C.

    Shape:
        - label: (B, 1, H, W)
        - output: (B, C, H, W), in ``label``'s dtype if floating, else float32
    """
    check_shape(label, "label", "B,1,H,W")
    classes = torch.arange(num_classes, device=label.device).view(1, num_classes, 1, 1)
    dtype = label.dtype if label.is_floating_point() else torch.float32
    return (label.long() == classes).to(dtype)


def argmax_label(scores: Tensor) -> Tensor:
    """(B, C, H, W) scores -> (B, 1, H, W) ids as float (ties -> lowest index, like torch/NumPy)."""
    return scores.argmax(dim=1, keepdim=True).to(scores.dtype)


def isin(label: Tensor, ids: Iterable[int]) -> Tensor:
    """Float {0, 1} mask of pixels whose id is in ``ids`` (same shape and dtype as ``label``)."""
    mask = torch.zeros_like(label, dtype=torch.bool)
    for i in ids:
        mask = mask | (label == i)  # not in place: the ONNX exporter has no in-place or (aten::__ior_)
    return mask.to(label.dtype)


def replace_ids(label: Tensor, ids: Iterable[int], new_id: int) -> Tensor:
    """Copy of ``label`` with every id in ``ids`` replaced by ``new_id``."""
    m = isin(label, ids)
    return label * (1 - m) + new_id * m
