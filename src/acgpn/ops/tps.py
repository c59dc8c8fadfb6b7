"""Thin-plate spline (TPS) warps, as used by the clothes warping module (paper step II, [6]).

A TPS maps target-space points q to source-space points: ``f(q) = A^T [phi(|q - P_k|^2)..., 1, x, y]``
where the K control points P_k lie in target space and ``f(P_k) = C_k`` (the "values": where the
target pixel at P_k samples the source). ``phi(d2) = 0.5 * d2 * ln(d2)`` (= r^2 ln r, phi(0) = 0).
Coordinates are (x, y) normalised to [-1, 1]; pixel centres follow the ``align_corners=True``
convention (``x = 2 j / (W - 1) - 1``), as the official target grid does (spec §1.3).
All functions broadcast over leading batch dimensions. This is the one TPS implementation of the
package: the warp net's grid generator (:class:`acgpn.nets.warp.TPSGridGenerator`) and the
synthetic data's garment wearing both call it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from acgpn.ops.checks import check_shape


def radial_basis(d2: Tensor) -> Tensor:
    """phi(d2) = 0.5 * d2 * log(d2), with phi(0) = 0.

    Args:
        d2: squared distances (any shape, >= 0).

    Shape:
        - output: same as ``d2``.
    """
    out = 0.5 * d2 * torch.log(d2)
    return torch.where(d2 > 0, out, torch.zeros_like(out))


def features(points: Tensor, control: Tensor) -> Tensor:
    """TPS feature rows ``[phi(|q - P_0|^2) ... phi(|q - P_{K-1}|^2), 1, x, y]`` of each point q.

    Args:
        points: query points (x, y).
        control: control points P (x, y); leading dims broadcast with ``points``'.

    Shape:
        - points: (*, N, 2)
        - control: (*, K, 2)
        - output: (*, N, K + 3)
    """
    check_shape(points, "points", "*,N,2")
    check_shape(control, "control", "*,K,2")
    diff = points[..., :, None, :] - control[..., None, :, :]
    d2 = (diff * diff).sum(-1)
    points = points.expand(*d2.shape[:-1], 2)  # broadcast batch dims of points and control
    return torch.cat([radial_basis(d2), torch.ones_like(points[..., :1]), points], dim=-1)


def ordered_matmul(a: Tensor, b: Tensor) -> Tensor:
    """``a @ b`` summed term by term in index order, each product and each sum rounded on its own.

    The TPS sums here are short (K + 3 = 28 terms) and ill-conditioned (cond(L) ~ 349: their terms
    cancel), so a GEMM's accumulation order shows in the sampling grid (4e-6 apart between MKL's
    AVX2 and AVX-512 kernels, 2.4e-4 in the warped cloth at sharp edges: parity step 5's bound is
    1e-4). Elementwise multiplies and adds round the same way on every CPU and GPU, and this order
    is the one the reference vectors' CPU used (bit for bit, both products of the official grid
    generator), so the grid is the same everywhere, at about the cost of the GEMM.

    Shape:
        - a: (*, M, K)
        - b: (*, K, N)
        - output: (*, M, N), leading dims broadcast
    """
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"cannot multiply {tuple(a.shape)} by {tuple(b.shape)}")
    # Transposed, so each term reads a contiguous row of a^T: (*, N, M) += b^T[..., :, k] x a^T[..., k, :]
    a_rows = a.transpose(-1, -2).contiguous().unsqueeze(-3).unbind(-2)  # K x (*, 1, M)
    b_cols = b.transpose(-1, -2).unsqueeze(-1).unbind(-2)  # K x (*, N, 1)
    out = a_rows[0] * b_cols[0]
    for a_k, b_k in zip(a_rows[1:], b_cols[1:]):
        out.add_(a_k * b_k)
    return out.transpose(-1, -2)


def system_matrix(control: Tensor) -> Tensor:
    """The TPS system ``L = [[Phi, 1, P], [1^T, 0, 0], [P^T, 0, 0]]``.

    Shape:
        - control: (*, K, 2)
        - output: (*, K + 3, K + 3)
    """
    top = features(control, control)  # (..., K, K+3) = [Phi, 1, P]
    k = control.shape[-2]
    bottom = torch.cat(
        [top[..., :k, k:].transpose(-1, -2), top.new_zeros(top.shape[:-2] + (3, 3))], dim=-1
    )
    return torch.cat([top, bottom], dim=-2)


def coefficients(control: Tensor, values: Tensor, inverse_kernel: Tensor | None = None) -> Tensor:
    """Solve ``L A = [values; 0]`` for the TPS coefficients A.

    Args:
        control: control points P in target space.
        values: where each control point samples the source (C).
        inverse_kernel: precomputed ``L^-1`` (the official net stores it): then ``A = L^-1 Y``
            as the official code computes it (:func:`ordered_matmul`); without it the system is
            solved directly.

    Shape:
        - control: (*, K, 2)
        - values: (*, K, 2)
        - inverse_kernel: (*, K + 3, K + 3)
        - output: (*, K + 3, 2)
    """
    check_shape(values, "values", "*,K,2")
    k = control.shape[-2]
    if values.shape[-2] != k:
        raise ValueError(f"values must hold one point per control point ({k}), got {values.shape[-2]}")
    y = torch.cat([values, values.new_zeros(values.shape[:-2] + (3, 2))], dim=-2)
    if inverse_kernel is not None:
        check_shape(inverse_kernel, "inverse_kernel", f"*,{k + 3},{k + 3}")
        return ordered_matmul(inverse_kernel, y)
    return torch.linalg.solve(system_matrix(control).to(values.dtype), y)


def reference_pixel_grid(height: int, width: int, device=None, dtype=None) -> Tensor:
    """Pixel centres computed as the official constructor does, ``2 j / (W - 1) - 1`` (bit-exact): (H * W, 2)."""
    j = torch.arange(width, device=device, dtype=dtype)
    i = torch.arange(height, device=device, dtype=dtype)
    gx = (j * 2 / (width - 1) - 1).expand(height, width)
    gy = (i * 2 / (height - 1) - 1)[:, None].expand(height, width)
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)


def sampling_grid(
    control: Tensor,
    values: Tensor,
    height: int,
    width: int,
    inverse_kernel: Tensor | None = None,
    pixel_features: Tensor | None = None,
) -> Tensor:
    """TPS sampling grid for ``grid_sample`` / :func:`acgpn.ops.warp.warp`: source (x, y) of every pixel.

    Args:
        control: target-space control points P, shared or per sample.
        values: where each control point samples the source (e.g. the STN's prediction).
        height, width: output size.
        inverse_kernel: optional precomputed ``L^-1`` (see :func:`coefficients`).
        pixel_features: optional precomputed :func:`features` of :func:`reference_pixel_grid`
            for this size and these control points (the official net stores them for 256x192).

    Shape:
        - control: (K, 2) or (B, K, 2)
        - values: (B, K, 2)
        - inverse_kernel: (K + 3, K + 3)
        - pixel_features: (H * W, K + 3)
        - output: (B, H, W, 2)
    """
    check_shape(values, "values", "B,K,2")
    coeffs = coefficients(control, values, inverse_kernel)  # (B, K+3, 2)
    if pixel_features is None:
        grid = reference_pixel_grid(height, width, device=values.device, dtype=values.dtype)
        pixel_features = features(grid, control.to(values.dtype))  # (H*W, K+3) or (B, H*W, K+3)
    else:
        check_shape(pixel_features, "pixel_features", f"{height * width},{control.shape[-2] + 3}")
        pixel_features = pixel_features.to(values.dtype)
    return ordered_matmul(pixel_features, coeffs).reshape(values.shape[0], height, width, 2)


def control_point_lattice(
    rows: int = 5, cols: int = 5, extent: float = 0.9, device=None, dtype=None
) -> Tensor:
    """Regular lattice of control points in [-extent, extent], index ``k = cols * row + col``.

    Computed on the CPU in float64, then cast to ``dtype`` (default float32) and moved to
    ``device`` (default: stays on the CPU).

    Shape:
        - output: (rows * cols, 2) as (x, y)
    """
    ys = torch.linspace(-extent, extent, rows, dtype=torch.float64, device="cpu")
    xs = torch.linspace(-extent, extent, cols, dtype=torch.float64, device="cpu")
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)
    return pts.to(device=device, dtype=dtype or torch.float32)
