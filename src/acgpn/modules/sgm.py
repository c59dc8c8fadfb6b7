"""Step I — Semantic Generation Module (SGM), paper §3.1.

G1 predicts the body-part layout after try-on, M^S_w, from the fused body mask M^F (arms and torso
merged into one region), the pose map M_p and the target cloth T_c; G2 then predicts the
warped-cloth mask M^S_c from M^S_w, M_p and T_c. Both are conditioned on an extra noise channel.
The two discrete decisions (argmax of G1, ``> 0.5`` on G2) are made by a
:class:`~acgpn.modules.decisions.Decisions` policy; the G2 decision is used in step III.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from acgpn import labels as L
from acgpn.modules.decisions import Decisions, ThresholdDecisions
from acgpn.ops.masks import one_hot, replace_ids


def fused_body_mask(label: Tensor) -> Tensor:
    """M^F: the label map with arms (11, 13) and noise (7) fused into the torso/cloth id 4."""
    return replace_ids(label, (L.NOISE, L.LEFT_ARM, L.RIGHT_ARM), L.UPPER_CLOTHES)


def masked_cloth(cloth: Tensor, product_mask: Tensor) -> tuple[Tensor, Tensor]:
    """Binarise the product-cloth mask at 0.5 and mask the cloth: returns (E, T_c * E)."""
    mask = (product_mask > 0.5).to(cloth.dtype)
    return mask, cloth * mask


@dataclass
class SemanticLayout:
    """Outputs of step I."""

    layout_prob: Tensor  # (B, 14, H, W) sigmoid(G1): per-channel probabilities (not softmax)
    layout_ids: Tensor  # (B, 1, H, W) M^S_w as ids (the argmax decision)
    cloth_mask_prob: Tensor  # (B, 1, H, W) sigmoid(G2): M^S_c


def generator_inputs(product_mask: Tensor, masked_cloth: Tensor, label_ids: Tensor, pose: Tensor, noise: Tensor) -> Tensor:
    """The input of G1 (``label_ids`` = M^F) and of G2 (``label_ids`` = M^S_w):
    ``[E, T_c, onehot(ids), M_p, z]`` -> (B, 1 + 3 + 14 + 18 + 1 = 37, H, W)."""
    return torch.cat([product_mask, masked_cloth, one_hot(label_ids, L.NUM_LABELS), pose, noise], dim=1)


def predict_layout(
    g1: nn.Module, product_mask: Tensor, masked_cloth: Tensor, fused_label: Tensor, pose: Tensor, noise: Tensor
) -> Tensor:
    """G1: ``[E, T_c, onehot(M^F), M_p, z]`` -> per-channel sigmoid probabilities (B, 14, H, W)."""
    return torch.sigmoid(g1(generator_inputs(product_mask, masked_cloth, fused_label, pose, noise)))


def predict_cloth_mask(
    g2: nn.Module, product_mask: Tensor, masked_cloth: Tensor, layout_ids: Tensor, pose: Tensor, noise: Tensor
) -> Tensor:
    """G2: ``[E, T_c, onehot(M^S_w), M_p, z]`` -> warped-cloth mask probability (B, 1, H, W)."""
    return torch.sigmoid(g2(generator_inputs(product_mask, masked_cloth, layout_ids, pose, noise)))


def semantic_generation(
    g1: nn.Module,
    g2: nn.Module,
    product_mask: Tensor,
    masked_cloth: Tensor,
    label: Tensor,
    pose: Tensor,
    noise_g1: Tensor,
    noise_g2: Tensor,
    decisions: Decisions | None = None,
) -> SemanticLayout:
    """Run step I from the person's label map M: G1, its argmax decision, then G2."""
    layout_prob = predict_layout(g1, product_mask, masked_cloth, fused_body_mask(label), pose, noise_g1)
    layout_ids = (decisions or ThresholdDecisions()).layout_ids(layout_prob)
    cloth_mask_prob = predict_cloth_mask(g2, product_mask, masked_cloth, layout_ids, pose, noise_g2)
    return SemanticLayout(layout_prob, layout_ids, cloth_mask_prob)
