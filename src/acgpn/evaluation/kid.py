"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² between real and generated
features with the polynomial kernel k(x, y) = (γ xᵀy + c)^d (d = 3, γ = 1/D, c = 1), averaged over
random subsets of equal size m:

    MMD² = Σ_{i≠j} k(x_i, x_j) / (m(m−1)) + Σ_{i≠j} k(y_i, y_j) / (m(m−1)) − 2 Σ_{i,j} k(x_i, y_j) / m²

The three kernel matrices are computed once for the whole sets and indexed per subset; subsets are
drawn from a seeded generator, so the score is reproducible.
"""

from __future__ import annotations

import torch
from torch import Tensor

SUBSETS = 100
SUBSET_SIZE = 1000


def kernel_inception_distance(
    real: Tensor,
    fake: Tensor,
    subsets: int = SUBSETS,
    subset_size: int = SUBSET_SIZE,
    degree: int = 3,
    gamma: float | None = None,
    coef: float = 1.0,
    seed: int = 0,
) -> tuple[float, float]:
    """KID mean and (population) standard deviation over ``subsets`` draws of ``min(subset_size, N, M)`` features."""
    x, y = real.detach().to(torch.float64), fake.detach().to(torch.float64)
    m = min(subset_size, x.shape[0], y.shape[0])
    if m < 2:
        raise ValueError("KID needs at least 2 real and 2 generated feature vectors")
    g = 1.0 / x.shape[1] if gamma is None else gamma
    k_xx, k_yy, k_xy = ((a @ b.T * g + coef) ** degree for a, b in ((x, x), (y, y), (x, y)))
    gen = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        i = torch.randperm(x.shape[0], generator=gen)[:m]
        j = torch.randperm(y.shape[0], generator=gen)[:m]
        a, b = k_xx[i][:, i], k_yy[j][:, j]
        within = a.sum() - a.diagonal().sum() + b.sum() - b.diagonal().sum()
        values.append(within / (m * (m - 1)) - 2 * k_xy[i][:, j].sum() / (m * m))
    v = torch.stack(values)
    return float(v.mean()), float(v.std(unbiased=False))
