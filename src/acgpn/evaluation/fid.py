"""Fréchet Inception Distance (Heusel et al. 2017) between two sets of features.

    FID = |μ_r − μ_g|² + Tr(Σ_r) + Tr(Σ_g) − 2 Tr((Σ_r Σ_g)^{1/2})

with unbiased covariances (N − 1), in float64. With factors Σ = L Lᵀ, the eigenvalues of Σ_r Σ_g
are the squared singular values of L_rᵀ L_g, so Tr((Σ_r Σ_g)^{1/2}) is the nuclear norm of
L_rᵀ L_g (the square roots of the eigenvalues of its Gram matrix, a symmetric eigenproblem):
exact, and cheap, since L is the centred features / √(N − 1) (D x N) when N ≤ D, or the
symmetric square root of Σ (D x D) otherwise. The features are the 2048-d pool3 activations of the
FID Inception (:mod:`acgpn.evaluation.inception`) for the standard score, or any network's.
"""

from __future__ import annotations

import torch
from torch import Tensor


def gaussian_factor(features: Tensor) -> tuple[Tensor, Tensor]:
    """(N, D) features -> mean (D,) and L with L Lᵀ = the unbiased covariance (D, min(N, D)), float64."""
    f = features.detach().to(torch.float64)
    if f.dim() != 2 or f.shape[0] < 2:
        raise ValueError(f"FID needs at least 2 feature vectors (N, D), got shape {tuple(f.shape)}")
    n, d = f.shape
    mu = f.mean(dim=0)
    scaled = (f - mu) / (n - 1) ** 0.5  # (N, D)
    if n <= d:
        return mu, scaled.T
    eigenvalues, vectors = torch.linalg.eigh(scaled.T @ scaled)
    return mu, vectors * eigenvalues.clamp(min=0).sqrt()


def frechet_distance(real: Tensor, fake: Tensor) -> float:
    """FID between (N, D) real and (M, D) generated features."""
    mu1, l1 = gaussian_factor(real)
    mu2, l2 = gaussian_factor(fake)
    k = l1.T @ l2  # (r1, r2)
    gram = k.T @ k if k.shape[1] <= k.shape[0] else k @ k.T  # its singular values² (symmetric: fast)
    root_trace = torch.linalg.eigvalsh(gram).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).square().sum() + l1.square().sum() + l2.square().sum() - 2 * root_trace)
