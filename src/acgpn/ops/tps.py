"""Thin-plate spline (TPS) warps, as used by the clothes warping module (paper step II, [6]).

A TPS maps target-space points q to source-space points: ``f(q) = A^T [phi(|q - P_k|^2)..., 1, x, y]``
where the K control points P_k lie in target space and ``f(P_k) = C_k`` (the "values": where the
target pixel at P_k samples the source). ``phi(d2) = 0.5 * d2 * ln(d2)`` (= r^2 ln r, phi(0) = 0).
Coordinates are (x, y) normalised to [-1, 1]; pixel centres follow the ``align_corners=True``
convention (``x = 2 j / (W - 1) - 1``), as the official target grid does (spec §1.3).
All functions broadcast over leading batch dimensions.
"""

from __future__ import annotations

import torch
from torch import Tensor


def radial_basis(d2: Tensor) -> Tensor:
    """phi(d2) = 0.5 * d2 * log(d2), with phi(0) = 0 (squared distances in, same shape out)."""
    out = 0.5 * d2 * torch.log(d2)
    return torch.where(d2 > 0, out, torch.zeros_like(out))


def features(points: Tensor, control: Tensor) -> Tensor:
    """Rows ``[phi(|q - P_0|^2) ... phi(|q - P_{K-1}|^2), 1, x, y]``: (..., N, 2), (..., K, 2) -> (..., N, K+3)."""
    diff = points[..., :, None, :] - control[..., None, :, :]
    d2 = (diff * diff).sum(-1)
    points = points.expand(*d2.shape[:-1], 2)  # broadcast batch dims of points and control
    return torch.cat([radial_basis(d2), torch.ones_like(points[..., :1]), points], dim=-1)


def system_matrix(control: Tensor) -> Tensor:
    """The TPS system ``L = [[Phi, 1, P], [1^T, 0, 0], [P^T, 0, 0]]``: (..., K, 2) -> (..., K+3, K+3)."""
    top = features(control, control)  # (..., K, K+3) = [Phi, 1, P]
    k = control.shape[-2]
    bottom = torch.cat(
        [top[..., :k, k:].transpose(-1, -2), top.new_zeros(top.shape[:-2] + (3, 3))], dim=-1
    )
    return torch.cat([top, bottom], dim=-2)


def coefficients(control: Tensor, values: Tensor, inverse_kernel: Tensor | None = None) -> Tensor:
    """Solve ``L A = [values; 0]`` for A: (..., K+3, 2).

    ``inverse_kernel`` (precomputed ``L^-1``, as the official net stores it) gives ``A = L^-1 Y``
    exactly like the official code; without it the system is solved directly.
    """
    y = torch.cat([values, values.new_zeros(values.shape[:-2] + (3, 2))], dim=-2)
    if inverse_kernel is not None:
        return inverse_kernel @ y
    return torch.linalg.solve(system_matrix(control).to(values.dtype), y)


def pixel_grid(height: int, width: int, device=None, dtype=None) -> Tensor:
    """Pixel centres of an H x W image in normalised (x, y), row-major: (H*W, 2)."""
    ys = torch.linspace(-1.0, 1.0, height, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=device, dtype=dtype)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)


def reference_pixel_grid(height: int, width: int, device=None, dtype=None) -> Tensor:
    """Pixel centres computed as the official constructor does: ``2 j / (W - 1) - 1`` (bit-exact)."""
    j = torch.arange(width, device=device, dtype=dtype)
    i = torch.arange(height, device=device, dtype=dtype)
    gx = (j * 2 / (width - 1) - 1).expand(height, width)
    gy = (i * 2 / (height - 1) - 1)[:, None].expand(height, width)
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)


def sampling_grid(
    control: Tensor, values: Tensor, height: int, width: int, inverse_kernel: Tensor | None = None
) -> Tensor:
    """TPS sampling grid for ``torch.nn.functional.grid_sample``: (B, H, W, 2) of source (x, y).

    ``control``: (K, 2) or (B, K, 2) target-space control points; ``values``: (B, K, 2) where each
    control point samples the source.
    """
    coeffs = coefficients(control, values, inverse_kernel)  # (B, K+3, 2)
    grid = reference_pixel_grid(height, width, device=values.device, dtype=values.dtype)
    feats = features(grid, control.to(values.dtype))  # (H*W, K+3) or (B, H*W, K+3)
    return (feats @ coeffs).view(values.shape[0], height, width, 2)


def control_point_lattice(
    rows: int = 5, cols: int = 5, extent: float = 0.9, device=None, dtype=None
) -> Tensor:
    """Regular lattice of control points, index ``k = cols * row + col``, in [-extent, extent]: (rows*cols, 2)."""
    ys = torch.linspace(-extent, extent, rows, dtype=torch.float64)
    xs = torch.linspace(-extent, extent, cols, dtype=torch.float64)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)
    return pts.to(device=device, dtype=dtype or torch.float32)
