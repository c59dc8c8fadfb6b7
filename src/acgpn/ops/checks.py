"""Shape checks for the pure ops (in the spirit of kornia's ``KORNIA_CHECK_SHAPE``).

They look at shapes and strides only, never at values, so ``torch.export`` and ``torch.compile``
trace them.
"""

from __future__ import annotations

import torch
from torch import Tensor


def is_channels_last(tensor: Tensor) -> bool:
    """Whether a 4-D ``tensor`` is laid out NHWC (channels_last) rather than NCHW (for a tensor
    whose layouts coincide, e.g. one channel or 1x1 maps: NCHW)."""
    return tensor.is_contiguous(memory_format=torch.channels_last) and not tensor.is_contiguous()


def check_shape(tensor: Tensor, name: str, shape: str) -> None:
    """Raise ``ValueError`` unless ``tensor`` has ``shape``.

    Args:
        tensor: the tensor to check.
        name: its argument name, for the message.
        shape: comma-separated dims: a number must match exactly, a letter matches any size, a
            leading ``*`` matches any number (zero or more) of leading dims. E.g. ``"B,C,H,W"``,
            ``"*,K,2"``.
    """
    dims = [d.strip() for d in shape.split(",")]
    any_leading = dims[0] == "*"
    fixed = dims[1:] if any_leading else dims
    actual = tuple(tensor.shape)
    ok = len(actual) >= len(fixed) if any_leading else len(actual) == len(fixed)
    if ok:
        tail = actual[len(actual) - len(fixed) :]
        ok = all(not d.isdigit() or int(d) == n for d, n in zip(fixed, tail))
    if not ok:
        raise ValueError(f"{name} must have shape ({shape}), got {actual}")
