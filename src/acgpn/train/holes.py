"""Random irregular hole masks for training G (step IV), generated procedurally.

The official trainer reads one of 12,000 mask files per sample (spec §4); here each mask is a few
free-form brush strokes (polylines of random direction, length and width, with round joints)
drawn from a ``torch.Generator``: any size, no files, reproducible from the seed. The holes remove
arm pixels from G's input during teacher-forced training, so G learns to paint arms.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _segment_distance(px: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """Distance of pixels (N, 2) to segments a->b (S, 2): (S, N)."""
    ab = b - a  # (S, 2)
    ap = px[None] - a[:, None]  # (S, N, 2)
    t = ((ap * ab[:, None]).sum(-1) / (ab * ab).sum(-1).clamp_min(1e-12)[:, None]).clamp(0, 1)
    closest = a[:, None] + t[..., None] * ab[:, None]
    return (px[None] - closest).norm(dim=-1)


def random_hole_masks(
    batch: int,
    height: int,
    width: int,
    generator: torch.Generator | None = None,
    max_strokes: int = 4,
    max_vertices: int = 8,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """(B, 1, H, W) masks, 1 inside the holes: per sample 1..``max_strokes`` strokes of
    2..``max_vertices`` vertices; segment length 5-20 % and width 3-10 % of the larger side."""
    scale = float(max(height, width))
    ys = torch.arange(height, dtype=torch.float32) + 0.5
    xs = torch.arange(width, dtype=torch.float32) + 0.5
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    px = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)  # (H*W, 2)

    def uniform(lo: float, hi: float, n: int = 1) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    masks = []
    for _ in range(batch):
        hole = torch.zeros(height * width, dtype=torch.bool)
        strokes = int(torch.randint(1, max_strokes + 1, (1,), generator=generator))
        for _ in range(strokes):
            vertices = int(torch.randint(2, max_vertices + 1, (1,), generator=generator))
            start = torch.stack([uniform(0, width), uniform(0, height)], dim=-1)  # (1, 2)
            angles = uniform(0, 2 * math.pi, vertices - 1)
            lengths = uniform(0.05, 0.2, vertices - 1) * scale
            steps = torch.stack([angles.cos() * lengths, angles.sin() * lengths], dim=-1)
            points = torch.cat([start, start + steps.cumsum(0)])  # (V, 2)
            radius = float(uniform(0.015, 0.05)) * scale
            dist = _segment_distance(px, points[:-1], points[1:])  # (V-1, N); endpoints give round joints
            hole |= (dist <= radius).any(0)
        masks.append(hole.view(1, height, width))
    return torch.stack(masks).to(device=device, dtype=dtype)
