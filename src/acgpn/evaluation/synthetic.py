"""Scores against the synthetic dataset's exact ground truth (what ``acgpn eval`` adds on
``acgpn synth`` data; the learning targets of the synthetic training recipe).

Per pair, with the reference R (the person image for a paired pair, ``<phase>_gt_unpaired`` for an
unpaired one) and its label map:

* ``layout_miou`` — G1's layout ids (``layout_ids.png``) against R's label, IoU per id over the
  14 ACGPN ids, mean over the ids present in either (intersections and unions summed over the set);
* ``cloth_mask_iou`` — the final composed cloth mask M (``target_cloth_mask.png``) against R's
  upper-clothes pixels (id 4); ``g2_cloth_mask_iou`` the same for G2's mask (``cloth_mask_prob`` > 0.5);
* ``warped_l1`` — the warped cloth T^W_c (``warped_cloth.png``) against the ground-truth warped
  cloth inside its mask: ``gt_warped_cloth`` / ``gt_warped_mask`` for a paired pair, R inside its
  id-4 pixels for an unpaired one (the only exact ground truth of another cloth's warp), beside
  ``warped_l1_no_warp``, the unwarped product image scored the same way, and their ratio;
* ``masked_l1`` — L1 of the try-on inside the clothes-and-arms region (ids 4, 7, 11, 13 in the
  person's label or R's label), beside ``masked_l1_do_nothing`` (the person image itself as the
  output) and the ratio of their set means (unpaired pairs only: there doing nothing is wrong);
  ``ssim_do_nothing``, the SSIM of the person image against R, says what SSIM alone is worth;
* ``tps_folded_cells`` and ``tps_area_cv`` — warp distortion from the 5x5 TPS control points:
  the number of the 16 lattice cells whose orientation flipped, and the coefficient of variation
  of the cell areas (0 for an affine warp).

L1 values are mean absolute differences of RGB in [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from acgpn.evaluation.ssim import ssim
from acgpn.labels import LEFT_ARM, NOISE, NUM_LABELS, RIGHT_ARM, UPPER_CLOTHES

CLOTHES_AND_ARMS = (UPPER_CLOTHES, NOISE, LEFT_ARM, RIGHT_ARM)
GRID = (5, 5)  # TPS control lattice (rows, cols), point k = 5 * row + col


def label_iou_counts(pred: Tensor, target: Tensor, num_labels: int = NUM_LABELS) -> tuple[Tensor, Tensor]:
    """Per-id intersection and union pixel counts of two (H, W) id maps -> (num_labels,) x2."""
    p, t = pred.long().flatten(), target.long().flatten()
    inter = torch.bincount(p[p == t], minlength=num_labels)[:num_labels]
    area = torch.bincount(p, minlength=num_labels)[:num_labels] + torch.bincount(t, minlength=num_labels)[:num_labels]
    return inter, area - inter


def mean_iou(inter: Tensor, union: Tensor) -> float | None:
    """Mean IoU over the ids with a non-empty union (None if none)."""
    present = union > 0
    if not bool(present.any()):
        return None
    return float((inter[present].double() / union[present].double()).mean())


def mask_counts(pred: Tensor, target: Tensor) -> tuple[int, int]:
    """Intersection and union pixel counts of two boolean masks."""
    return int((pred & target).sum()), int((pred | target).sum())


def masked_l1(x: Tensor, y: Tensor, mask: Tensor) -> float | None:
    """Mean |x − y| over the (H, W) ``mask`` pixels and the channels of (C, H, W) images; None if empty."""
    n = int(mask.sum())
    if n == 0:
        return None
    return float((x - y).abs().sum(dim=0)[mask].sum() / (n * x.shape[0]))


def tps_distortion(control_points: Tensor, grid: tuple[int, int] = GRID) -> tuple[int, float]:
    """(K, 2) control points on a rows x cols lattice -> (folded cells, coefficient of variation of
    the cell areas). A cell is folded when its signed area has the opposite sign to the mean's."""
    p = control_points.to(torch.float64).view(grid[0], grid[1], 2)
    corners = [p[:-1, :-1], p[:-1, 1:], p[1:, 1:], p[1:, :-1]]  # each (rows-1, cols-1, 2), in order
    area = torch.zeros(p.shape[0] - 1, p.shape[1] - 1, dtype=torch.float64)
    for a, b in zip(corners, corners[1:] + corners[:1]):
        area += a[..., 0] * b[..., 1] - b[..., 0] * a[..., 1]
    area = area / 2  # shoelace
    sign = 1.0 if float(area.sum()) >= 0 else -1.0
    folded = int((area * sign <= 0).sum())
    mean = float(area.mean().abs())
    cv = float(area.std(unbiased=False) / mean) if mean > 0 else math.inf
    return folded, cv


@dataclass
class SyntheticPairScores:
    """One pair's synthetic scores and the counts that set-level scores sum."""

    values: dict[str, float] = field(default_factory=dict)
    layout_inter: Tensor | None = None
    layout_union: Tensor | None = None
    cloth_counts: tuple[int, int] | None = None
    g2_counts: tuple[int, int] | None = None


def score_synthetic_pair(
    tryon: Tensor,
    person: Tensor,
    person_label: Tensor,
    reference: Tensor,
    reference_label: Tensor,
    paired: bool,
    cloth: Tensor,
    warped_reference: tuple[Tensor, Tensor] | None = None,
    layout_ids: Tensor | None = None,
    target_cloth_mask: Tensor | None = None,
    g2_cloth_mask: Tensor | None = None,
    warped_cloth: Tensor | None = None,
    control_points: Tensor | None = None,
) -> SyntheticPairScores:
    """Scores of one pair (images (3, H, W) in [0, 1], labels and masks (H, W)); see the module docstring.

    ``warped_reference`` is (ground-truth warped cloth, its boolean mask); None: R inside its id-4 pixels.
    """
    out = SyntheticPairScores()
    v = out.values
    region = torch.zeros_like(person_label, dtype=torch.bool)
    for i in CLOTHES_AND_ARMS:
        region |= (person_label == i) | (reference_label == i)
    score = masked_l1(tryon, reference, region)
    if score is not None:
        v["masked_l1"] = score
    if not paired:
        baseline = masked_l1(person, reference, region)
        if baseline is not None:
            v["masked_l1_do_nothing"] = baseline
        v["ssim_do_nothing"] = float(ssim(person[None], reference[None])[0])
    cloth_pixels = reference_label == UPPER_CLOTHES
    if layout_ids is not None:
        out.layout_inter, out.layout_union = label_iou_counts(layout_ids, reference_label)
        miou = mean_iou(out.layout_inter, out.layout_union)
        if miou is not None:
            v["layout_miou"] = miou
    for name, mask in (("cloth_mask_iou", target_cloth_mask), ("g2_cloth_mask_iou", g2_cloth_mask)):
        if mask is not None:
            counts = mask_counts(mask, cloth_pixels)
            setattr(out, "cloth_counts" if name == "cloth_mask_iou" else "g2_counts", counts)
            if counts[1]:
                v[name] = counts[0] / counts[1]
    if warped_cloth is not None:
        target, mask = warped_reference if warped_reference is not None else (reference, cloth_pixels)
        warped, no_warp = masked_l1(warped_cloth, target, mask), masked_l1(cloth, target, mask)
        if warped is not None and no_warp is not None:
            v["warped_l1"], v["warped_l1_no_warp"] = warped, no_warp
    if control_points is not None:
        folded, cv = tps_distortion(control_points)
        v["tps_folded_cells"] = float(folded)
        if math.isfinite(cv):  # all cells collapsed: no spread to report
            v["tps_area_cv"] = cv
    return out


def summarize_synthetic(scores: list[SyntheticPairScores]) -> dict[str, float]:
    """Set-level synthetic scores: summed-count IoUs, means of the rest, and the two ratios."""
    out: dict[str, float] = {}
    names = sorted({k for s in scores for k in s.values} - {"layout_miou", "cloth_mask_iou", "g2_cloth_mask_iou"})
    for name in names:
        vals = [s.values[name] for s in scores if name in s.values]
        out[name] = sum(vals) / len(vals)
    layouts = [s for s in scores if s.layout_inter is not None]
    if layouts:
        miou = mean_iou(sum(s.layout_inter for s in layouts), sum(s.layout_union for s in layouts))  # type: ignore[arg-type, misc]
        if miou is not None:
            out["layout_miou"] = miou
    for name, attr in (("cloth_mask_iou", "cloth_counts"), ("g2_cloth_mask_iou", "g2_counts")):
        counts = [getattr(s, attr) for s in scores if getattr(s, attr) is not None]
        union = sum(c[1] for c in counts)
        if union:
            out[name] = sum(c[0] for c in counts) / union
    for name, base in (("masked_l1", "masked_l1_do_nothing"), ("warped_l1", "warped_l1_no_warp")):
        both = [s.values for s in scores if name in s.values and base in s.values]
        denominator = sum(b[base] for b in both)
        if both and denominator > 0:
            out[f"{name}_ratio"] = sum(b[name] for b in both) / denominator
    return out
