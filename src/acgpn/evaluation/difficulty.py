"""Difficulty levels of the test set (paper §4): easy, medium, hard, by the spread of the upper limbs.

    C = mean over the detected keypoints k ∈ {neck, shoulders, elbows, wrists} of |x_k − x̄| + |y_k − ȳ|,

the mean L1 distance of those seven COCO-18 keypoints to their centroid (x̄, ȳ). A small C means the
arms are gathered over the body (crossed, on the torso): hard, since arms occlude the clothes. C is
measured in pixels of a 256-row image (scaled by 256 / H), so thresholds carry across sizes.

Levels: ``hard`` if C < t1, ``medium`` if t1 ≤ C < t2, ``easy`` if C ≥ t2, with (t1, t2) given or
the terciles of the set. Undetected keypoints (x ≤ 1 or y ≤ 1, the pose-map rule) are left out of
C and counted; a person with fewer than :data:`MIN_KEYPOINTS` of the seven has no level
("undetermined").
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import torch
from torch import Tensor

from acgpn.data.files import load_image, size_hw
from acgpn.data.layouts import get_layout, pose_name
from acgpn.data.pairs import list_images
from acgpn.errors import InputError
from acgpn.fileio import read_text, save_text
from acgpn.pose import REFERENCE_HEIGHT, read_openpose_json

#: COCO-18 indices: neck, right shoulder, elbow, wrist, left shoulder, elbow, wrist.
ARM_KEYPOINTS: Final = (1, 2, 3, 4, 5, 6, 7)
MIN_KEYPOINTS: Final = 3
LEVELS: Final = ("easy", "medium", "hard")
UNDETERMINED: Final = "undetermined"
SUMMARY_FILE: Final = "difficulty.json"


def difficulty_c(keypoints: Tensor, height: int) -> tuple[Tensor, Tensor]:
    """C of (..., 18, 3) pixel keypoints in an image of ``height`` rows -> (C (...,) float64, NaN
    with fewer than :data:`MIN_KEYPOINTS` detected; number of detected arm keypoints (...,))."""
    xy = keypoints[..., list(ARM_KEYPOINTS), :2].to(torch.float64)  # (..., 7, 2)
    detected = (xy[..., 0] > 1) & (xy[..., 1] > 1)  # (..., 7)
    count = detected.sum(dim=-1)
    weight = detected.to(torch.float64)[..., None]
    centroid = (xy * weight).sum(dim=-2, keepdim=True) / count.clamp(min=1)[..., None, None]
    dist = ((xy - centroid).abs().sum(dim=-1) * weight[..., 0]).sum(dim=-1) / count.clamp(min=1)
    c = dist * (REFERENCE_HEIGHT / height)
    return torch.where(count >= MIN_KEYPOINTS, c, torch.full_like(c, math.nan)), count


@dataclass
class DifficultyLevels:
    """C per person and the level each falls in."""

    c: dict[str, float | None]  # person image name -> C (None: undetermined)
    detected: dict[str, int]  # person -> detected arm keypoints (of 7)
    thresholds: tuple[float, float]  # (t1, t2): hard below t1, easy from t2
    source: str  # "given" or "terciles"
    levels: dict[str, list[str]] = field(default_factory=dict)  # level -> persons (sorted)

    def level_of(self) -> dict[str, str]:
        """person -> level (or "undetermined")."""
        return {p: level for level, persons in self.levels.items() for p in persons}

    def summary(self) -> dict:
        """What ``difficulty.json`` holds."""
        missing = {p: len(ARM_KEYPOINTS) - n for p, n in self.detected.items() if n < len(ARM_KEYPOINTS)}
        return {
            "criterion": "C = mean L1 distance of the neck, shoulder, elbow and wrist keypoints to their "
            "centroid, in px at 256 rows; hard: C < t1, medium: t1 <= C < t2, easy: C >= t2",
            "thresholds": {"t1": self.thresholds[0], "t2": self.thresholds[1], "source": self.source},
            "counts": {k: len(v) for k, v in self.levels.items()},
            "persons_with_missing_keypoints": len(missing),
            "missing_keypoints": sum(missing.values()),
            "min_keypoints": MIN_KEYPOINTS,
            "c": self.c,
            "detected": self.detected,
        }


def check_thresholds(thresholds: Sequence[float]) -> tuple[float, float]:
    """Two finite thresholds t1 <= t2."""
    if len(thresholds) != 2 or not all(math.isfinite(float(t)) for t in thresholds) or thresholds[0] > thresholds[1]:
        raise InputError(f"difficulty thresholds must be two numbers t1 <= t2, got {list(thresholds)}")
    return float(thresholds[0]), float(thresholds[1])


def assign_levels(c: dict[str, float | None], detected: dict[str, int], thresholds: Sequence[float] | None = None) -> DifficultyLevels:
    """Split persons into levels by C, with ``thresholds`` (t1, t2) or the terciles of the known C."""
    known = {p: v for p, v in c.items() if v is not None}
    if thresholds is None:
        if len(known) < 3:
            raise InputError(f"terciles need at least 3 persons with {MIN_KEYPOINTS}+ arm keypoints, found {len(known)}; give thresholds")
        values = torch.tensor(sorted(known.values()), dtype=torch.float64)
        t = torch.quantile(values, torch.tensor([1 / 3, 2 / 3], dtype=torch.float64))
        bounds, source = (float(t[0]), float(t[1])), "terciles"
    else:
        bounds, source = check_thresholds(thresholds), "given"
    levels: dict[str, list[str]] = {name: [] for name in (*LEVELS, UNDETERMINED)}
    for person in sorted(c):
        v = c[person]
        name = UNDETERMINED if v is None else "hard" if v < bounds[0] else "medium" if v < bounds[1] else "easy"
        levels[name].append(person)
    return DifficultyLevels(dict(c), dict(detected), bounds, source, levels)


def dataset_difficulty(
    root: str | Path,
    dataset_layout: str = "viton",
    phase: str = "test",
    thresholds: Sequence[float] | None = None,
    persons: Sequence[str] | None = None,
) -> DifficultyLevels:
    """C of every person image of a dataset (or of ``persons``) from its pose files, and the levels."""
    folders = get_layout(dataset_layout).resolve(Path(root), phase)
    names = list(persons) if persons is not None else list_images(folders["image"])
    if not names:
        raise InputError("no person images found", folders["image"])
    c: dict[str, float | None] = {}
    detected: dict[str, int] = {}
    for person in names:
        height = size_hw(load_image(folders["image"] / person, "a person image"))[0]
        value, count = difficulty_c(read_openpose_json(folders["pose"] / pose_name(person)), height)
        c[person] = None if math.isnan(float(value)) else round(float(value), 4)
        detected[person] = int(count)
    return assign_levels(c, detected, thresholds)


def _header(levels: DifficultyLevels, name: str) -> str:
    t1, t2 = levels.thresholds
    rule = {"hard": f"C < {t1:.4f}", "medium": f"{t1:.4f} <= C < {t2:.4f}", "easy": f"C >= {t2:.4f}",
            UNDETERMINED: f"fewer than {MIN_KEYPOINTS} of the 7 arm keypoints detected"}[name]  # fmt: skip
    return (f"# acgpn difficulty level {name}: {rule} (thresholds t1={t1:.4f}, t2={t2:.4f} from {levels.source}; "
            f"C = mean L1 distance of neck/shoulders/elbows/wrists to their centroid, px at 256 rows)\n")  # fmt: skip


def write_levels(out_dir: str | Path, levels: DifficultyLevels) -> list[Path]:
    """Write ``easy.txt``, ``medium.txt``, ``hard.txt`` (one person image per line, thresholds in a
    ``#`` header), ``undetermined.txt`` when some persons have no level, and ``difficulty.json``."""
    out = Path(out_dir)
    written = []
    for name in (*LEVELS, UNDETERMINED):
        persons = levels.levels.get(name, [])
        if name == UNDETERMINED and not persons:
            (out / f"{name}.txt").unlink(missing_ok=True)
            continue
        written.append(save_text(out / f"{name}.txt", _header(levels, name) + "".join(f"{p}\n" for p in persons)))
    written.append(save_text(out / SUMMARY_FILE, json.dumps(levels.summary(), indent=1) + "\n"))
    return written


def default_levels_dir(root: str | Path, phase: str = "test") -> Path:
    """Where ``acgpn difficulty`` writes by default and ``acgpn eval`` looks: ``<root>/<phase>_difficulty``."""
    return Path(root) / f"{phase}_difficulty"


def read_levels(folder: str | Path) -> dict[str, str]:
    """person image name -> level, from the ``<level>.txt`` files in ``folder`` (``#`` lines ignored)."""
    folder = Path(folder)
    if not all((folder / f"{name}.txt").is_file() for name in LEVELS):
        raise InputError(f"expected {', '.join(n + '.txt' for n in LEVELS)} (written by acgpn difficulty)", folder)
    out: dict[str, str] = {}
    for name in (*LEVELS, UNDETERMINED):
        path = folder / f"{name}.txt"
        if path.is_file():
            for line in read_text(path, "a list of person image names, one per line").splitlines():
                person = line.split("#", 1)[0].strip()
                if person:
                    out[person] = name
    return out
