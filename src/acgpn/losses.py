"""ACGPN's training losses, one function per term, named after the paper's equation.

* eq. 1 — conditional GAN, in pix2pixHD's least-squares form (LSGAN: MSE of the patch scores to
  1 / 0, summed over the discriminator's scales): :func:`gan_generator_loss`,
  :func:`gan_discriminator_loss`; pix2pixHD's discriminator feature matching:
  :func:`feature_matching_loss`.
* eq. 2 — per SGM stage ``L_m = λ1·L_1 + λ2·L_2``: the pixel-wise cross-entropy of G1's layout
  logits (:func:`layout_cross_entropy`) and the binary cross-entropy of G2's cloth-mask logits
  (:func:`cloth_mask_bce`). Both take *logits* (the official code feeds sigmoid outputs, and for
  G2 applies a second sigmoid inside ``BCEWithLogits``).
* eqs. 3-4 — the second-order difference constraint on the TPS control points:
  :func:`second_order_constraint` (paper: distance and slope terms, hinge ``max(L3 - Δ, 0)``) and
  :func:`second_order_constraint_official` (per-axis squared intervals with floors).
* eq. 5 — ``L_w = L_3 + L_4`` with ``L_4 = ||T^W_c - I_c||_1``: :func:`warp_l1`.
* eq. 6 — refinement with the learned α and its regulariser (CP-VTON): :func:`refinement_losses`.
* CFM (step IV) — L1 to the person image: :func:`fusion_l1`.
* VGG19 perceptual loss: :func:`perceptual_loss` (weights 1/32, 1/16, 1/8, 1/4, 1 on
  relu1_1..relu5_1, pix2pixHD).

All losses are means over pixels and batch unless stated, so they do not depend on image or batch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: pix2pixHD's VGG weights for relu1_1, relu2_1, relu3_1, relu4_1, relu5_1.
VGG_WEIGHTS: Final = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
#: Only relu5_1 (the official code's loss on the warped/refined cloth).
VGG_LAST_ONLY: Final = (0.0, 0.0, 0.0, 0.0, 1.0)

DiscriminatorOutput = Sequence[Sequence[Tensor]]  # scales x layers, last layer = patch scores


# ----------------------------------------------------------------------------- eq. 1 (LSGAN)
def _lsgan(outputs: DiscriminatorOutput, target: float) -> Tensor:
    return sum(F.mse_loss(scale[-1], torch.full_like(scale[-1], target)) for scale in outputs)  # type: ignore[return-value]


def gan_generator_loss(fake_outputs: DiscriminatorOutput) -> Tensor:
    """Eq. 1, generator side, LSGAN: ``Σ_scales mean((D(x, G(x, z)) - 1)^2)``."""
    return _lsgan(fake_outputs, 1.0)


def gan_discriminator_loss(real_outputs: DiscriminatorOutput, fake_outputs: DiscriminatorOutput) -> Tensor:
    """Eq. 1, discriminator side, LSGAN: ``0.5 · Σ_scales [mean((D(x,y) - 1)^2) + mean(D(x, G(x,z))^2)]``."""
    return 0.5 * (_lsgan(real_outputs, 1.0) + _lsgan(fake_outputs, 0.0))


def feature_matching_loss(fake_outputs: DiscriminatorOutput, real_outputs: DiscriminatorOutput) -> Tensor:
    """pix2pixHD feature matching: ``Σ_scales Σ_layers (1/num_D)·(4/(n_layers+1))·L1(f_fake, f_real)``
    over every intermediate layer (not the score map); real features are detached."""
    num_scales = len(fake_outputs)
    total = fake_outputs[0][0].new_zeros(())
    for fake_scale, real_scale in zip(fake_outputs, real_outputs):
        weight = (1.0 / num_scales) * (4.0 / (len(fake_scale) - 1))
        for f, r in zip(fake_scale[:-1], real_scale[:-1]):
            total = total + weight * F.l1_loss(f, r.detach())
    return total


# ----------------------------------------------------------------------------- eq. 2
def layout_cross_entropy(logits: Tensor, target_ids: Tensor) -> Tensor:
    """Eq. 2's ``L_2`` for G1: pixel-wise softmax cross-entropy of (B, C, H, W) logits against
    (B, 1, H, W) ids. (G1 is applied with a per-channel sigmoid + argmax at inference; argmax of
    the logits is the same, so this objective matches the decision rule.)"""
    return F.cross_entropy(logits, target_ids.long().squeeze(1))


def cloth_mask_bce(logits: Tensor, target_mask: Tensor) -> Tensor:
    """Eq. 2's ``L_2`` for G2: binary cross-entropy of (B, 1, H, W) logits against a {0, 1} mask."""
    return F.binary_cross_entropy_with_logits(logits, target_mask)


# ----------------------------------------------------------------------------- eqs. 3-4
def _lattice(points: Tensor, grid_shape: tuple[int, int]) -> Tensor:
    """(B, K, 2) points, index ``k = cols * row + col`` -> (B, rows, cols, 2)."""
    rows, cols = grid_shape
    if points.shape[-2] != rows * cols:
        raise ValueError(f"expected {rows * cols} control points for a {rows}x{cols} lattice, got {points.shape[-2]}")
    return points.reshape(points.shape[0], rows, cols, 2)


def _triples(lattice: Tensor) -> list[tuple[Tensor, Tensor, Tensor]]:
    """(before, centre, after) neighbour triples along rows and along columns."""
    return [
        (lattice[:, :, :-2], lattice[:, :, 1:-1], lattice[:, :, 2:]),  # left, p, right
        (lattice[:, :-2], lattice[:, 1:-1], lattice[:, 2:]),  # top, p, bottom
    ]


def second_order_constraint(
    points: Tensor,
    grid_shape: tuple[int, int] = (5, 5),
    lambda_r: float = 0.1,
    lambda_s: float = 0.1,
    delta: float = 0.0,
) -> Tensor:
    """Eqs. 3-4 (paper form): for every control point p with neighbours p_i, p_j on the same axis,
    ``λ_r·| |p p_i| - |p p_j| | + λ_s·|(y_i - y)(x_j - x) - (y_j - y)(x_i - x)|`` (eq. 4 is the
    division-free slope difference), summed over the lattice; then ``max(L_3 - Δ, 0)`` per sample,
    averaged over the batch. Zero exactly on affine lattices (equal, collinear intervals).
    """
    total = points.new_zeros(points.shape[0])
    for before, p, after in _triples(_lattice(points, grid_shape)):
        u, v = before - p, after - p  # (B, r, c, 2)
        dist = ((u * u).sum(-1) + 1e-12).sqrt() - ((v * v).sum(-1) + 1e-12).sqrt()
        slope = u[..., 1] * v[..., 0] - v[..., 1] * u[..., 0]
        total = total + lambda_r * dist.abs().flatten(1).sum(1) + lambda_s * slope.abs().flatten(1).sum(1)
    return (total - delta).clamp_min(0).mean()


def second_order_constraint_official(
    points: Tensor, grid_shape: tuple[int, int] = (5, 5), interval_floor: float = 0.08, collinear_floor: float = 0.02
) -> Tensor:
    """Eqs. 3-4 as the official training code computes them (spec §4): per axis, the difference of
    the *squared* neighbouring intervals ``|(p_{+1} - p)^2 - (p - p_{-1})^2|`` floored at
    ``interval_floor`` element-wise and averaged (terms rx, ry, cx, cy), plus the eq. 4 collinearity
    term averaged over the triples of a sample and floored at ``collinear_floor`` per sample (rg, cg).
    Returns rx + ry + cx + cy + rg + cg (the official code weighs the sum by 0.1). Below the floors
    the gradient is zero; on an affine lattice the value is ``4·0.08 + 2·0.02``.
    """
    total = points.new_zeros(())
    for before, p, after in _triples(_lattice(points, grid_shape)):
        d = ((after - p) ** 2 - (p - before) ** 2).abs()  # (B, r, c, 2)
        total = total + d[..., 0].clamp_min(interval_floor).mean() + d[..., 1].clamp_min(interval_floor).mean()
        u, v = before - p, after - p
        collinear = (u[..., 1] * v[..., 0] - v[..., 1] * u[..., 0]).abs().flatten(1).mean(1)
        total = total + collinear.clamp_min(collinear_floor).mean()
    return total


# ----------------------------------------------------------------------------- eqs. 5-6
def warp_l1(warped: Tensor, target: Tensor) -> Tensor:
    """Eq. 5's ``L_4 = ||T^W_c - I_c||_1`` (mean absolute error), also used for the warped product mask."""
    return F.l1_loss(warped, target)


def refinement_losses(
    refined_cloth: Tensor, rendered_cloth: Tensor, raw_alpha: Tensor, target: Tensor, target_cloth_mask: Tensor
) -> dict[str, Tensor]:
    """Eq. 6 terms, per sample (the official α broadcast bug is fixed: all (B, 1, H, W)).

    ``refine_l1``: L1 of the refined cloth T^R_c to the person's cloth I_c; ``rendered_l1``: L1 of
    the refinement net's own RGB (tanh, before the blend); ``alpha_reg``: the α regulariser of
    CP-VTON, ``||α - M||_1``, which keeps α (the weight of the warped cloth) at 1 on the target
    cloth mask so the warped texture is preserved unless the net has reason to repaint it.
    """
    if raw_alpha.shape != target_cloth_mask.shape:
        raise ValueError(f"alpha {tuple(raw_alpha.shape)} and mask {tuple(target_cloth_mask.shape)} must have one shape")
    return {
        "refine_l1": F.l1_loss(refined_cloth, target),
        "rendered_l1": F.l1_loss(rendered_cloth, target),
        "alpha_reg": F.l1_loss(raw_alpha, target_cloth_mask),
    }


# ----------------------------------------------------------------------------- CFM
def fusion_l1(fake_image: Tensor, image: Tensor, region: Tensor | None = None) -> Tensor:
    """Step IV reconstruction term: ``||I^S - I||_1`` (mean absolute error); with ``region``
    ((B, 1, H, W) weights), the mean over the region's pixels only."""
    if region is None:
        return F.l1_loss(fake_image, image)
    return ((fake_image - image).abs() * region).sum() / (region.sum() * fake_image.shape[1]).clamp_min(1)


# ----------------------------------------------------------------------------- perceptual
def perceptual_loss(vgg: nn.Module, x: Tensor, y: Tensor, weights: Sequence[float] = VGG_WEIGHTS) -> Tensor:
    """``Σ_k w_k · L1(φ_k(x), φ_k(y))`` over VGG19 relu_k_1 features (target features without gradient)."""
    with torch.no_grad():
        target_feats = vgg(y)
    total = x.new_zeros(())
    for w, f, t in zip(weights, vgg(x), target_feats):
        if w:
            total = total + w * F.l1_loss(f, t)
    return total
