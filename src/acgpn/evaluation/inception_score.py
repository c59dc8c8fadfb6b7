"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) ‖ p(y))), computed on ``splits``
consecutive parts of the set; mean and (population) standard deviation over the parts, as the
original TensorFlow code. p(y|x) is the softmax of the FID Inception's 1008 logits taken without
the final bias ("unbiased" logits, as that code and torch-fidelity / torchmetrics do).
"""

from __future__ import annotations

import torch
from torch import Tensor

SPLITS = 10


def inception_score(logits: Tensor, splits: int = SPLITS) -> tuple[float, float]:
    """IS mean and std of (N, K) class logits over ``min(splits, N)`` consecutive parts."""
    z = logits.detach().to(torch.float64)
    n = z.shape[0]
    if n < 1:
        raise ValueError("the Inception Score needs at least one image")
    splits = max(1, min(splits, n))
    log_p = z.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        part = log_p[i * n // splits : (i + 1) * n // splits]
        log_marginal = part.exp().mean(dim=0, keepdim=True).log()
        kl = (part.exp() * (part - log_marginal)).sum(dim=1).mean()
        scores.append(kl.exp())
    s = torch.stack(scores)
    return float(s.mean()), float(s.std(unbiased=False))
