"""Nearest 2x upsampling followed by a 3x3 convolution, computed at the low resolution.

A 3x3 conv (padding 1) over a nearest-upsampled map sees, for each of the four output phases
``(a, b)`` (row, column parity), only a 2x2 neighbourhood of the low-resolution map, with the 3x3
taps summed into 2x2 (rows: phase 0 uses ``[w0, w1 + w2]`` on low rows ``i-1, i``; phase 1 uses
``[w0 + w1, w2]`` on ``i, i+1``; likewise for columns). Four 2x2 convs on the low-resolution map
therefore give exactly the same result (up to float rounding) with 16/36 of the multiply-adds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _fold_taps(w: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """3 taps along ``dim`` -> the 2-tap kernels of phase 0 and phase 1."""
    w0, w1, w2 = w.unbind(dim)
    return torch.stack([w0, w1 + w2], dim), torch.stack([w0 + w1, w2], dim)


def upsample_conv3x3(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``conv2d(interpolate(x, scale_factor=2, mode="nearest"), weight, bias, padding=1)``, cheaper."""
    height, width = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1))
    phases = []
    for a, rows in enumerate(_fold_taps(weight, 2)):
        for b, kernel in enumerate(_fold_taps(rows, 3)):
            phases.append(F.conv2d(padded[..., a : a + height + 1, b : b + width + 1], kernel, bias))
    out = torch.stack(phases, dim=2)  # (B, C, 4, H, W), phase index 2a + b
    n, c = out.shape[:2]
    return out.view(n, c, 2, 2, height, width).permute(0, 1, 4, 2, 5, 3).reshape(n, c, 2 * height, 2 * width)
