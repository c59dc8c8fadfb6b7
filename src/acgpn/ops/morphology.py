"""Binary/grey morphology on (B, C, H, W) tensors with an arbitrary structuring element.

Pixels outside the image never contribute (dilation pads with -inf, erosion with +inf), which for
{0, 1} masks equals OpenCV's behaviour for dilation. The official code uses a 3x3 cross
(``cv2.getStructuringElement(MORPH_ELLIPSE, (3, 3))``), n iterations of which give an L1 ball.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def cross_kernel(device=None) -> Tensor:
    """The 3x3 cross ``[[0,1,0],[1,1,1],[0,1,0]]`` as a bool tensor."""
    k = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=torch.bool, device=device)
    return k


def _extremum(x: Tensor, kernel: Tensor, take_max: bool) -> Tensor:
    kh, kw = kernel.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("structuring element sides must be odd")
    ph, pw = kh // 2, kw // 2
    fill = float("-inf") if take_max else float("inf")
    padded = F.pad(x, (pw, pw, ph, ph), value=fill)
    height, width = x.shape[-2:]
    out = None
    for dy, dx in kernel.nonzero().tolist():
        window = padded[..., dy : dy + height, dx : dx + width]
        out = window if out is None else (torch.maximum(out, window) if take_max else torch.minimum(out, window))
    if out is None:
        raise ValueError("structuring element is empty")
    return out


def dilate(x: Tensor, kernel: Tensor | None = None, iterations: int = 1) -> Tensor:
    """Grey dilation (max over the element) repeated ``iterations`` times; default element: 3x3 cross."""
    kernel = cross_kernel(x.device) if kernel is None else kernel.bool()
    for _ in range(iterations):
        x = _extremum(x, kernel, take_max=True)
    return x


def erode(x: Tensor, kernel: Tensor | None = None, iterations: int = 1) -> Tensor:
    """Grey erosion (min over the element), the dual of :func:`dilate`; outside pixels are ignored."""
    kernel = cross_kernel(x.device) if kernel is None else kernel.bool()
    for _ in range(iterations):
        x = _extremum(x, kernel, take_max=False)
    return x
