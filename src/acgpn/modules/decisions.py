"""The two discrete decisions of ACGPN, as swappable policies.

Step I ends in two hard decisions: G1's per-pixel argmax over 14 channels gives the layout ids
M^S_w, and G2's probability thresholded at 0.5 gives the predicted warped-cloth mask (dilated in
step III into M). Everything after them is continuous. A :class:`Decisions` policy makes both:

* :class:`ThresholdDecisions` (the default): argmax (ties -> lowest id) and ``p > 0.5``;
* :class:`GivenDecisions`: take a forced layout and/or cloth mask (e.g. a user-drawn layout, teacher
  forcing in training, or a reference run), falling back to the thresholds for what is not given;
* :class:`TieAwareDecisions`: follow a reference decision only where this run is within ``margin``
  of its own decision boundary (a rounding tie), and count every pixel that differs by more. This
  is parity step 7: other CPUs, GPUs and dtypes round differently, and a 1e-6 difference flips a
  near-tie pixel, which the STN then amplifies into a different try-on.

Margins: G1, the gap between the top-2 probabilities of a pixel; G2, ``|p - 0.5|``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import Tensor

from acgpn.ops.masks import argmax_label

#: Threshold of G2's probability (spec §2.5).
CLOTH_MASK_THRESHOLD = 0.5


class Decisions(Protocol):
    """Makes step I's two discrete decisions."""

    def layout_ids(self, layout_prob: Tensor) -> Tensor:
        """(B, 14, H, W) probabilities -> (B, 1, H, W) ids, in ``layout_prob``'s dtype."""
        ...

    def predicted_cloth_mask(self, cloth_mask_prob: Tensor) -> Tensor:
        """(B, 1, H, W) probability -> (B, 1, H, W) binary {0, 1} mask, same dtype."""
        ...


class ThresholdDecisions:
    """The official rules: argmax of G1, ``> 0.5`` on G2."""

    def layout_ids(self, layout_prob: Tensor) -> Tensor:
        return argmax_label(layout_prob)

    def predicted_cloth_mask(self, cloth_mask_prob: Tensor) -> Tensor:
        return (cloth_mask_prob > CLOTH_MASK_THRESHOLD).to(cloth_mask_prob.dtype)


def layout_margin(layout_prob: Tensor) -> Tensor:
    """Gap between the two largest channel probabilities: (B, 14, H, W) -> (B, 1, H, W)."""
    top2 = layout_prob.topk(2, dim=1).values
    return top2[:, :1] - top2[:, 1:2]


def cloth_mask_margin(cloth_mask_prob: Tensor) -> Tensor:
    """Distance of G2's probability to the threshold: (B, 1, H, W)."""
    return (cloth_mask_prob - CLOTH_MASK_THRESHOLD).abs()


@dataclass
class GivenDecisions(ThresholdDecisions):
    """Forced decisions: ``layout_ids`` (B, 1, H, W) and/or ``predicted_cloth_mask`` (B, 1, H, W, binary);
    ``None`` falls back to the official thresholds. H, W are the size the nets run at (a model
    with a ``working_size`` runs at that size, not the input's)."""

    given_layout_ids: Tensor | None = None
    given_predicted_cloth_mask: Tensor | None = None

    def layout_ids(self, layout_prob: Tensor) -> Tensor:
        if self.given_layout_ids is None:
            return super().layout_ids(layout_prob)
        return _given("given_layout_ids", self.given_layout_ids, layout_prob)

    def predicted_cloth_mask(self, cloth_mask_prob: Tensor) -> Tensor:
        if self.given_predicted_cloth_mask is None:
            return super().predicted_cloth_mask(cloth_mask_prob)
        return _given("given_predicted_cloth_mask", self.given_predicted_cloth_mask, cloth_mask_prob)


def _given(name: str, given: Tensor, prob: Tensor) -> Tensor:
    """``given`` on ``prob``'s device and dtype, if it has the decision's shape (B, 1, H, W)."""
    expected = (prob.shape[0], 1, *prob.shape[-2:])
    if tuple(given.shape) != expected:
        raise ValueError(
            f"{name} has shape {tuple(given.shape)}, expected {expected}: batch, one channel, and the size "
            "the nets run at (the pipeline's working_size when it has one; resize ids with mode='nearest')"
        )
    return given.to(prob.device, prob.dtype)


@dataclass
class DecisionDiff:
    """Where one decision of this run differs from the reference."""

    decision: str  # "layout" (G1 argmax) or "cloth mask" (G2 > 0.5)
    ties: Tensor  # (B,) differing pixels within the margin, which took the reference decision
    violations: Tensor  # (B,) differing pixels beyond the margin (kept as this run decided)
    worst_margin: float  # largest own margin among the violations (0 if none)
    worst_pixel: tuple[int, int, int] | None  # (sample, row, col) of that violation

    def describe(self) -> str:
        if self.worst_pixel is None:
            return f"{self.decision}: {int(self.ties.sum())} ties resolved"
        b, y, x = self.worst_pixel
        return (
            f"{self.decision}: {int(self.violations.sum())} pixels decided differently beyond the tie margin "
            f"(worst: sample {b}, row {y}, col {x}, own margin {self.worst_margin:.3g})"
        )


def _compare(decision: str, own: Tensor, reference: Tensor, margin: Tensor, tie_margin: float) -> tuple[Tensor, DecisionDiff]:
    """Resolve ties toward ``reference``: returns (decision to use, what differed)."""
    differs = own != reference
    tie = differs & (margin < tie_margin)
    violation = differs & ~tie
    worst_margin, worst_pixel = 0.0, None
    if bool(violation.any()):
        scored = torch.where(violation, margin, torch.full_like(margin, -1.0))
        flat = int(scored.flatten().argmax())
        _, _, h, w = scored.shape
        worst_margin, worst_pixel = float(scored.flatten()[flat]), (flat // (h * w), flat % (h * w) // w, flat % w)
    diff = DecisionDiff(decision, tie.flatten(1).sum(1), violation.flatten(1).sum(1), worst_margin, worst_pixel)
    return torch.where(tie, reference, own), diff


@dataclass
class TieAwareDecisions(ThresholdDecisions):
    """Take the reference decision only at rounding ties (own margin < ``tie_margin``).

    After a forward pass, :attr:`diffs` holds one :class:`DecisionDiff` per decision made.
    """

    reference_layout_ids: Tensor | None = None
    reference_predicted_cloth_mask: Tensor | None = None
    tie_margin: float = 1e-4
    diffs: list[DecisionDiff] = field(default_factory=list)

    def layout_ids(self, layout_prob: Tensor) -> Tensor:
        own = super().layout_ids(layout_prob)
        if self.reference_layout_ids is None:
            return own
        ref = self.reference_layout_ids.to(own.device, own.dtype)
        ids, diff = _compare("layout", own, ref, layout_margin(layout_prob), self.tie_margin)
        self.diffs.append(diff)
        return ids

    def predicted_cloth_mask(self, cloth_mask_prob: Tensor) -> Tensor:
        own = super().predicted_cloth_mask(cloth_mask_prob)
        if self.reference_predicted_cloth_mask is None:
            return own
        ref = self.reference_predicted_cloth_mask.to(own.device, own.dtype)
        mask, diff = _compare("cloth mask", own, ref, cloth_mask_margin(cloth_mask_prob), self.tie_margin)
        self.diffs.append(diff)
        return mask

    @property
    def ties_resolved(self) -> int:
        return sum(int(d.ties.sum()) for d in self.diffs)

    @property
    def violations(self) -> int:
        return sum(int(d.violations.sum()) for d in self.diffs)
