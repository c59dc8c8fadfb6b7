"""Step II — Clothes Warping Module (CWM), paper §3.2.

The STN of the warp net regresses TPS control points from ``[E, M, T_c * E]``; the cloth is warped
(T^W_c) and refined by a U-Net whose 4th channel gives alpha. Eq. 6 as the released weights
implement it: ``T^R_c = (1 - alpha) * tanh(rgb) + alpha * T^W_c`` with ``alpha = sigmoid(a) * M``
(the code's alpha weighs the *warped* cloth; the paper writes it on the generated part).
Training needs the parts of eq. 6 as well as the result, so :func:`refine_cloth` returns them all.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from acgpn.nets.warp import WarpNet
from acgpn.ops.warp import warp


@dataclass
class RefinedCloth:
    """Eq. 6 and its parts."""

    refined_cloth: Tensor  # (B, 3, H, W) T^R_c = (1 - alpha) * rendered_cloth + alpha * T^W_c
    alpha: Tensor  # (B, 1, H, W) weight of the warped cloth in eq. 6: raw_alpha * M
    rendered_cloth: Tensor  # (B, 3, H, W) tanh of the refinement U-Net's RGB logits
    raw_alpha: Tensor  # (B, 1, H, W) sigmoid of its 4th channel, before masking by M


@dataclass
class WarpedClothes:
    """Outputs of step II."""

    control_points: Tensor  # (B, K, 2) TPS points (x, y) in [-1, 1]
    warped_cloth: Tensor  # (B, 3, H, W) T^W_c
    alpha: Tensor  # (B, 1, H, W) composition weight of the warped cloth (masked by M)
    refined_cloth: Tensor  # (B, 3, H, W) T^R_c (eq. 6)
    rendered_cloth: Tensor  # (B, 3, H, W) tanh(RGB) of the refinement U-Net
    raw_alpha: Tensor  # (B, 1, H, W) alpha before masking by M


def warp_cloth(
    net: WarpNet, cloth: Tensor, control_points: Tensor, align_corners: bool = False, inverse_kernel: Tensor | None = None
) -> Tensor:
    """T^W_c: TPS-warp the (masked) cloth with the given control points (``inverse_kernel``: an L^-1
    to use instead of the net's buffer)."""
    return warp(cloth, net.grid(control_points, *cloth.shape[-2:], inverse_kernel), align_corners)


def refine_cloth(net: WarpNet, warped_cloth: Tensor, target_cloth_mask: Tensor) -> RefinedCloth:
    """Eq. 6: blend the refinement U-Net's RGB with the warped cloth T^W_c by alpha (on M)."""
    logits = net.refine(target_cloth_mask, warped_cloth)  # (B, 3 + 1, H, W): RGB logits, alpha logit
    rendered = torch.tanh(logits[:, :-1])
    raw_alpha = torch.sigmoid(logits[:, -1:])
    alpha = raw_alpha * target_cloth_mask
    return RefinedCloth(rendered * (1 - alpha) + alpha * warped_cloth, alpha, rendered, raw_alpha)


def clothes_warping(
    net: WarpNet,
    masked_cloth: Tensor,
    product_mask: Tensor,
    target_cloth_mask: Tensor,
    align_corners: bool = False,
) -> WarpedClothes:
    """Run step II: points from the STN, TPS warp, refinement (eq. 6)."""
    points = net.control_points(masked_cloth, product_mask, target_cloth_mask)
    warped = warp_cloth(net, masked_cloth, points, align_corners)
    refined = refine_cloth(net, warped, target_cloth_mask)
    return WarpedClothes(points, warped, refined.alpha, refined.refined_cloth, refined.rendered_cloth, refined.raw_alpha)
