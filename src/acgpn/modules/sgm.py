"""Step I — Semantic Generation Module (SGM), paper §3.1.

G1 predicts the body-part layout after try-on, M^S_w, from the fused body mask M^F (arms and torso
merged into one region), the pose map M_p and the target cloth T_c; G2 then predicts the
warped-cloth mask M^S_c from M^S_w, M_p and T_c. Both are conditioned on an extra noise channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from acgpn import labels as L
from acgpn.ops.masks import argmax_label, one_hot, replace_ids


def fused_body_mask(label: Tensor) -> Tensor:
    """M^F: the label map with arms (11, 13) and noise (7) fused into the torso/cloth id 4."""
    return replace_ids(label, (L.NOISE, L.LEFT_ARM, L.RIGHT_ARM), L.UPPER_CLOTHES)


def masked_cloth(cloth: Tensor, edge: Tensor) -> tuple[Tensor, Tensor]:
    """Binarise the product-cloth mask at 0.5 and mask the cloth: returns (E, T_c = cloth * E)."""
    mask = (edge > 0.5).to(cloth.dtype)
    return mask, cloth * mask


@dataclass
class SemanticLayout:
    """Outputs of step I."""

    layout_prob: Tensor  # (B, 14, H, W) sigmoid(G1): per-channel probabilities (not softmax)
    layout: Tensor  # (B, 1, H, W) M^S_w as ids = argmax of layout_prob
    cloth_mask_prob: Tensor  # (B, 1, H, W) sigmoid(G2): M^S_c


def predict_layout(
    g1: nn.Module, cloth_mask: Tensor, cloth: Tensor, fused_label: Tensor, pose: Tensor, noise: Tensor
) -> Tensor:
    """G1: ``[E, T_c, onehot(M^F), M_p, z]`` -> per-channel sigmoid probabilities (B, 14, H, W)."""
    x = torch.cat([cloth_mask, cloth, one_hot(fused_label, L.NUM_LABELS), pose, noise], dim=1)
    return torch.sigmoid(g1(x))


def predict_cloth_mask(
    g2: nn.Module, cloth_mask: Tensor, cloth: Tensor, layout: Tensor, pose: Tensor, noise: Tensor
) -> Tensor:
    """G2: ``[E, T_c, onehot(M^S_w), M_p, z]`` -> warped-cloth mask probability (B, 1, H, W)."""
    x = torch.cat([cloth_mask, cloth, one_hot(layout, L.NUM_LABELS), pose, noise], dim=1)
    return torch.sigmoid(g2(x))


def semantic_generation(
    g1: nn.Module,
    g2: nn.Module,
    cloth_mask: Tensor,
    cloth: Tensor,
    label: Tensor,
    pose: Tensor,
    noise_g1: Tensor,
    noise_g2: Tensor,
) -> SemanticLayout:
    """Run step I end to end from the person's label map (``cloth`` already masked by ``cloth_mask``)."""
    prob = predict_layout(g1, cloth_mask, cloth, fused_body_mask(label), pose, noise_g1)
    layout = argmax_label(prob)
    return SemanticLayout(prob, layout, predict_cloth_mask(g2, cloth_mask, cloth, layout, pose, noise_g2))
