"""Nearest 2x upsampling followed by a 3x3 convolution, as one stride-2 transposed convolution.

A 3x3 conv (padding 1) over a nearest-upsampled map sees, for each output row parity, only two
rows of the low-resolution map: even output rows ``2m`` take row ``m-1`` with tap ``w0`` and row
``m`` with ``w1 + w2``; odd rows ``2m+1`` take row ``m`` with ``w0 + w1`` and row ``m+1`` with
``w2`` (likewise for columns). That is exactly a transposed convolution with stride 2, padding 1
and the 4-tap kernel ``[w2, w1 + w2, w0 + w1, w0]`` per axis: the same result (up to float
rounding) with 16/36 of the multiply-adds and no upsampled intermediate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from acgpn.ops.checks import is_channels_last


def _fold_taps(w: Tensor, dim: int) -> Tensor:
    """3 taps along ``dim`` -> the 4 taps of the equivalent stride-2 transposed kernel."""
    w0, w1, w2 = w.unbind(dim)
    return torch.stack([w2, w1 + w2, w0 + w1, w0], dim)


def fold_upsample_conv3x3(weight: Tensor) -> Tensor:
    """The transposed-conv kernel ``(in, out, 4, 4)`` equivalent to ``weight`` ``(out, in, 3, 3)``
    after a nearest 2x upsample, in ``weight``'s memory format (see the module docstring)."""
    kernel = _fold_taps(_fold_taps(weight, 2), 3).transpose(0, 1)
    return kernel.contiguous(memory_format=torch.channels_last if is_channels_last(weight) else torch.contiguous_format)


def upsample_conv3x3(x: Tensor, weight: Tensor, bias: Tensor | None = None, *, folded: Tensor | None = None) -> Tensor:
    """``conv2d(interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=1)``, cheaper.

    ``folded``: ``fold_upsample_conv3x3(weight)`` when the caller keeps it (inference: the fold of
    a 1024x512 kernel costs as much as the convolution itself).
    """
    kernel = fold_upsample_conv3x3(weight) if folded is None else folded
    return F.conv_transpose2d(x, kernel, bias, stride=2, padding=1)
