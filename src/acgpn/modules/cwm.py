"""Step II — Clothes Warping Module (CWM), paper §3.2.

The STN of the warp net regresses TPS control points from ``[E, M, T_c]``; the cloth is warped
(T^W_c) and refined by a U-Net whose 4th channel gives alpha. Eq. 6 as the released weights
implement it: ``T^R_c = (1 - alpha) * tanh(rgb) + alpha * T^W_c`` with ``alpha = sigmoid(a) * M``
(the code's alpha weighs the *warped* cloth; the paper writes it on the generated part).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from acgpn.nets.warp import WarpNet, warp


@dataclass
class WarpedClothes:
    """Outputs of step II."""

    control_points: Tensor  # (B, K, 2) TPS points (x, y) in [-1, 1]
    warped_cloth: Tensor  # (B, 3, H, W) T^W_c
    alpha: Tensor  # (B, 1, H, W) composition weight of the warped cloth
    refined_cloth: Tensor  # (B, 3, H, W) T^R_c (eq. 6)


def warp_cloth(net: WarpNet, cloth: Tensor, control_points: Tensor, align_corners: bool = False) -> Tensor:
    """T^W_c: TPS-warp the (masked) cloth with the given control points."""
    return warp(cloth, net.grid(control_points, *cloth.shape[-2:]), align_corners)


def refine_cloth(net: WarpNet, warped_cloth: Tensor, target_mask: Tensor) -> tuple[Tensor, Tensor]:
    """Eq. 6: blend the refinement U-Net's RGB with the warped cloth by alpha -> (refined, alpha)."""
    u = net.refine(target_mask, warped_cloth)
    alpha = torch.sigmoid(u[:, 3:4]) * target_mask
    return torch.tanh(u[:, :3]) * (1 - alpha) + alpha * warped_cloth, alpha


def clothes_warping(
    net: WarpNet,
    cloth: Tensor,
    cloth_mask: Tensor,
    target_mask: Tensor,
    align_corners: bool = False,
) -> WarpedClothes:
    """Run step II: points from the STN, TPS warp, refinement (eq. 6)."""
    points = net.control_points(cloth, target_mask, cloth_mask)
    warped = warp_cloth(net, cloth, points, align_corners)
    refined, alpha = refine_cloth(net, warped, target_mask)
    return WarpedClothes(points, warped, alpha, refined)
