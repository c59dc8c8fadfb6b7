"""Image feature networks for the set metrics (FID, KID, IS) and batched feature extraction.

A feature network is any ``nn.Module`` mapping (B, 3, H, W) RGB in [0, 1] to
:class:`ImageFeatures`: ``pool`` (B, D) for FID / KID and, optionally, ``logits`` (B, K) for IS.
The standard one is :class:`acgpn.evaluation.inception.FIDInceptionV3`; tests use a small
stand-in with the same interface.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class ImageFeatures:
    """Features of a batch of images."""

    pool: Tensor  # (B, D) for FID / KID
    logits: Tensor | None = None  # (B, K) class logits for IS (None: the net has no classifier)


@torch.no_grad()
def extract_features(
    net: nn.Module,
    images: Iterable[Tensor],
    batch_size: int = 16,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> ImageFeatures:
    """Run ``net`` over (3, H, W) images in [0, 1] in batches -> features of all (on the CPU, float64)."""
    param = next(net.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    pools: list[Tensor] = []
    logits: list[Tensor] = []
    batch: list[Tensor] = []

    def flush() -> None:
        out = net(torch.stack(batch).to(device, dtype))
        pools.append(out.pool.detach().to("cpu", torch.float64))
        if out.logits is not None:
            logits.append(out.logits.detach().to("cpu", torch.float64))
        batch.clear()

    for image in progress(images) if progress else images:
        batch.append(image)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    if not pools:
        raise ValueError("no images to extract features from")
    return ImageFeatures(torch.cat(pools), torch.cat(logits) if logits else None)
