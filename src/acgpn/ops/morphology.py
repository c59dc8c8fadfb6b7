"""Binary/grey morphology on (B, C, H, W) tensors with an arbitrary structuring element.

Pixels outside the image never contribute (dilation pads with -inf, erosion with +inf), which for
{0, 1} masks equals OpenCV's behaviour for dilation. The official code uses a 3x3 cross
(``cv2.getStructuringElement(MORPH_ELLIPSE, (3, 3))``), n iterations of which give an L1 ball.

No value-dependent Python: the default cross is a fixed list of offsets, and a given element is
applied by masking every window of its (static) size, so export and ``torch.compile`` trace both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from acgpn.ops.checks import check_shape

#: The 3x3 cross as (row, col) offsets into its 3x3 window.
CROSS_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, 2), (2, 1))


def cross_kernel(device=None) -> Tensor:
    """The 3x3 cross ``[[0,1,0],[1,1,1],[0,1,0]]`` as a bool tensor."""
    return torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=torch.bool, device=device)


def _morphology(x: Tensor, kernel: Tensor | None, iterations: int, take_max: bool) -> Tensor:
    """``iterations`` dilation (max) or erosion (min) steps over the element (default: the 3x3 cross)."""
    check_shape(x, "x", "B,C,H,W")
    fill = float("-inf") if take_max else float("inf")
    reduce = torch.maximum if take_max else torch.minimum
    if kernel is None:
        (kh, kw), offsets, member = (3, 3), CROSS_OFFSETS, None
    else:
        check_shape(kernel, "kernel", "KH,KW")
        kh, kw = kernel.shape
        offsets = tuple((dy, dx) for dy in range(kh) for dx in range(kw))
        member = kernel.to(device=x.device, dtype=torch.bool)
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("structuring element sides must be odd")
    height, width = x.shape[-2:]
    for _ in range(iterations):
        padded = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2), value=fill)
        out = None
        for dy, dx in offsets:
            window = padded[..., dy : dy + height, dx : dx + width]
            if member is not None:  # a masked-out offset contributes only the neutral fill
                window = torch.where(member[dy, dx], window, padded.new_full((), fill))
            out = window if out is None else reduce(out, window)
        x = out
    return x


def dilate(x: Tensor, kernel: Tensor | None = None, iterations: int = 1) -> Tensor:
    """Grey dilation (max over the structuring element), repeated ``iterations`` times.

    Args:
        x: image or mask.
        kernel: the structuring element (odd sides; nonzero = member); default: the 3x3 cross.
            An all-zero element gives -inf everywhere.
        iterations: how many times to apply it.

    Shape:
        - x: (B, C, H, W)
        - kernel: (KH, KW)
        - output: (B, C, H, W)
    """
    return _morphology(x, kernel, iterations, take_max=True)


def erode(x: Tensor, kernel: Tensor | None = None, iterations: int = 1) -> Tensor:
    """Grey erosion (min over the element), the dual of :func:`dilate` (same arguments and shapes;
    an all-zero element gives +inf); outside pixels are ignored."""
    return _morphology(x, kernel, iterations, take_max=False)
