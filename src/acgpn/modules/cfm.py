"""Steps III and IV — Content Fusion Module (CFM), paper §3.3.

Step III, non-target body-part composition (eqs. 7-9): arms predicted by G1 inside the old cloth
region become the region to generate (M^G_a); original arms outside it are kept; the new cloth
mask M^S_c (dilated once) never overlaps predicted arms; the body-part image I_w keeps the person
minus the old cloth, the new cloth and the original arm pixels near newly generated arms.
Step IV, the inpainting fusion generator G ("G3" in Fig. 2) fills in the rest from
``[I_w, onehot(M^C_w), T^R_c, skin colour, z]``.

G regenerates the whole image, preserved parts included, as the official code does. Optionally
(:func:`paste_preserved`, ``TryOnPipeline.preserve_content``) the pixels step III preserves (I_w's
body parts and the background outside the new layout) are copied from the person instead: G then
only decides the generated regions, and the face, the background and the rest of the person stay
exactly as they were, at the input's own resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from acgpn import labels as L
from acgpn.ops.masks import one_hot
from acgpn.ops.morphology import dilate, erode

#: Arm regions generated inside the old cloth are grown by this many cross dilations before the
#: original arm/cloth pixels there are removed from the body-part image (official value).
ARM_MARGIN = 10
#: Below this many arm pixels the skin colour is taken as 0 (mid grey).
MIN_SKIN_PIXELS = 10
#: The preserved pixels stop this many pixels (3x3 square steps) short of the regenerated region,
#: so that the old cloth's anti-aliased rim and the upsampled mask's blocky edge are not pasted back.
PRESERVE_MARGIN = 1


@dataclass
class Composition:
    """Outputs of step III."""

    target_cloth_mask: Tensor  # (B, 1, H, W) M: dilated G2 decision minus predicted arms, on the person
    final_label: Tensor  # (B, 1, H, W) composited layout M^C_w (cloth region set to 0)
    occlusion: Tensor  # (B, 1, H, W) 0 where original arm/cloth pixels near generated arms are dropped
    body_image: Tensor  # (B, 3, H, W) I_w, the preserved body-part image fed to G
    preserved_mask: Tensor  # (B, 1, H, W) 1 on the person's pixels kept as they are: I_w's and the background outside both layouts, PRESERVE_MARGIN short of the rest


def compose_body_mask(label: Tensor, layout_ids: Tensor, predicted_cloth_mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Eqs. 7-8: (target cloth mask M, composited label M^C_w, occlusion mask) from the original
    label map M, G1's layout ids M^S_w and G2's binary decision (``M^S_c > 0.5``)."""
    old_cloth = (label == L.UPPER_CLOTHES).to(label.dtype)
    foreground = (label > 0).to(label.dtype)
    arm_ids = (L.LEFT_ARM, L.RIGHT_ARM)
    old_arms = [(label == i).to(label.dtype) for i in arm_ids]
    new_arms = [(layout_ids == i).to(label.dtype) for i in arm_ids]
    keep = (1 - new_arms[0]) * (1 - new_arms[1])
    target_cloth_mask = dilate(predicted_cloth_mask.to(label.dtype)) * keep * foreground
    generated_arms = [old_cloth * n for n in new_arms]  # M^G_a: arms generated where the old cloth was
    final = layout_ids * keep
    occlusion = torch.ones_like(label)
    touched = old_arms[0] + old_arms[1] + old_cloth
    for arm_id, gen, old in zip(arm_ids, generated_arms, old_arms):
        full = gen + (1 - old_cloth) * old  # composited arm: generated part + preserved original part
        final = final * (1 - full) + arm_id * full
        occlusion = occlusion * (1 - dilate(gen, iterations=ARM_MARGIN) * touched)
    return target_cloth_mask, final * (1 - target_cloth_mask), occlusion


def skin_color(image: Tensor, label: Tensor) -> Tensor:
    """Mean person colour over the original arm pixels: (B, 3); zero when fewer than 10 pixels."""
    arms = ((label == L.LEFT_ARM) | (label == L.RIGHT_ARM)).to(image.dtype)
    count = arms.flatten(1).sum(1)
    mean = (arms * image).flatten(2).sum(2) / count.clamp_min(1)[:, None]
    return torch.where((count >= MIN_SKIN_PIXELS)[:, None], mean, torch.zeros_like(mean))


def compose(image: Tensor, label: Tensor, layout_ids: Tensor, predicted_cloth_mask: Tensor) -> Composition:
    """Step III: composite masks and the preserved body-part image I_w (eq. 9).

    ``predicted_cloth_mask`` is G2's binary decision (``M^S_c > 0.5``, see :mod:`acgpn.modules.decisions`).
    """
    target_cloth_mask, final_label, occlusion = compose_body_mask(label, layout_ids, predicted_cloth_mask)
    old_cloth = (label == L.UPPER_CLOTHES).to(image.dtype)
    foreground = (label > 0).to(image.dtype)
    kept_parts = foreground * (1 - old_cloth) * occlusion * (1 - target_cloth_mask)  # eq. 9's mask
    body_image = image * kept_parts
    background = (1 - foreground) * (final_label == 0).to(image.dtype) * (1 - target_cloth_mask)  # outside both layouts
    square = torch.ones(3, 3, dtype=torch.bool, device=image.device)
    preserved = erode(kept_parts + background, square, PRESERVE_MARGIN)
    return Composition(target_cloth_mask, final_label, occlusion, body_image, preserved)


def paste_preserved(fake_image: Tensor, image: Tensor, preserved_mask: Tensor) -> Tensor:
    """The try-on with step III's preserved pixels copied from the person image:
    ``I^S * (1 - P) + I * P`` (all (B, C, H, W), P from :attr:`Composition.preserved_mask`)."""
    return fake_image * (1 - preserved_mask) + image * preserved_mask


def fusion_inputs(body_image: Tensor, final_label: Tensor, refined_cloth: Tensor, skin: Tensor, noise: Tensor) -> Tensor:
    """The input of G: ``[I_w, onehot(M^C_w), T^R_c, skin planes, z]`` -> (B, 3 + 14 + 3 + 3 + 1 = 24, H, W)."""
    planes = skin[:, :, None, None].expand(-1, -1, *body_image.shape[-2:])
    return torch.cat([body_image, one_hot(final_label, L.NUM_LABELS), refined_cloth, planes, noise], dim=1)


def content_fusion(
    g: nn.Module, body_image: Tensor, final_label: Tensor, refined_cloth: Tensor, skin: Tensor, noise: Tensor
) -> Tensor:
    """Step IV: ``tanh(G([I_w, onehot(M^C_w), T^R_c, skin planes, z]))`` -> try-on image I^S."""
    return torch.tanh(g(fusion_inputs(body_image, final_label, refined_cloth, skin, noise)))
