"""Evaluation the way the papers report it (paper §4): SSIM, L1, LPIPS, FID, KID, IS, the difficulty
levels (the C criterion), the synthetic-ground-truth scores, and the reports.

The core metrics (:mod:`ssim`, :mod:`fid`, :mod:`kid`, :mod:`inception_score`, :mod:`difficulty`)
need only torch. Pretrained networks (Inception, LPIPS backbones) are loaded from paths the user
gives; nothing is downloaded.
"""

from acgpn.evaluation.difficulty import LEVELS, assign_levels, dataset_difficulty, difficulty_c
from acgpn.evaluation.fid import frechet_distance
from acgpn.evaluation.inception_score import inception_score
from acgpn.evaluation.kid import kernel_inception_distance
from acgpn.evaluation.ssim import ssim

__all__ = [
    "LEVELS",
    "assign_levels",
    "dataset_difficulty",
    "difficulty_c",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "ssim",
]
