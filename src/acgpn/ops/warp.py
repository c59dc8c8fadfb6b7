"""Backward warping of an image by a sampling grid, as the official warp net does it (spec §1.4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from acgpn.ops.checks import check_shape


def warp(image: Tensor, grid: Tensor, align_corners: bool = False) -> Tensor:
    """Bilinear ``grid_sample`` (zero padding) times the equally warped all-ones canvas.

    The canvas factor is the official code's: pixels sampled partly or wholly outside the source
    fade to 0 instead of keeping a half-weighted border colour.

    Args:
        image: the source image.
        grid: normalised source (x, y) of every output pixel, e.g. :func:`acgpn.ops.tps.sampling_grid`.
        align_corners: ``grid_sample``'s pixel-centre convention (the official code: ``False``).

    Shape:
        - image: (B, C, H, W)
        - grid: (B, H_out, W_out, 2)
        - output: (B, C, H_out, W_out)
    """
    check_shape(image, "image", "B,C,H,W")
    check_shape(grid, "grid", "B,H,W,2")
    if grid.shape[0] != image.shape[0]:
        raise ValueError(f"grid batch {grid.shape[0]} != image batch {image.shape[0]}")
    sampled = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    canvas = torch.ones_like(image[:, :1])
    coverage = F.grid_sample(canvas, grid, mode="bilinear", padding_mode="zeros", align_corners=align_corners)
    return sampled * coverage
