"""SSIM with the protocol of the official ACGPN README: images in [0, 1], an 11-tap Gaussian
window with σ = 1.5, K1 = 0.01, K2 = 0.03, averaged over channels, pixels and images.

    SSIM(x, y) = (2 μx μy + C1)(2 σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)),
    C1 = (K1 L)², C2 = (K2 L)², L = data range (1).

Local statistics are Gaussian-weighted population moments (no N/(N-1) factor) and only pixels
whose whole window lies inside the image are averaged (a "valid" convolution), which is what
scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1, channel_axis=...)`` computes; the tests check that.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

WINDOW_SIZE = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int, sigma: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """Normalised 1-D Gaussian of ``size`` taps, (size,)."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    w = torch.exp(-0.5 * (x / sigma) ** 2)
    return w / w.sum()


def ssim_map(x: Tensor, y: Tensor, window_size: int = WINDOW_SIZE, sigma: float = SIGMA, data_range: float = 1.0) -> Tensor:
    """Per-pixel SSIM of (B, C, H, W) images: (B, C, H - window_size + 1, W - window_size + 1)."""
    if x.shape != y.shape or x.dim() != 4:
        raise ValueError(f"ssim needs two (B, C, H, W) tensors of one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if min(x.shape[-2:]) < window_size:
        raise ValueError(f"images of {x.shape[-2]}x{x.shape[-1]} are smaller than the {window_size}-px SSIM window")
    dtype = x.dtype if x.is_floating_point() else torch.float32
    x, y = x.to(dtype), y.to(dtype)
    c = x.shape[1]
    w = gaussian_window(window_size, sigma, dtype, x.device)
    stats = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (B, 5C, H, W)
    stats = F.conv2d(stats, w.view(1, 1, 1, -1).expand(5 * c, 1, 1, window_size), groups=5 * c)
    stats = F.conv2d(stats, w.view(1, 1, -1, 1).expand(5 * c, 1, window_size, 1), groups=5 * c)
    mx, my, mxx, myy, mxy = stats.split(c, dim=1)
    vx, vy, cxy = mxx - mx * mx, myy - my * my, mxy - mx * my
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    return (2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))


def ssim(x: Tensor, y: Tensor, window_size: int = WINDOW_SIZE, sigma: float = SIGMA, data_range: float = 1.0) -> Tensor:
    """Mean SSIM per image: (B, C, H, W) x2 in [0, data_range] -> (B,)."""
    return ssim_map(x, y, window_size, sigma, data_range).mean(dim=(1, 2, 3))
