"""Contact sheet of a synthetic (or any VITON-layout) dataset: one PNG, one row per pair.

Columns: person | label map (coloured) | pose (pose-map squares and limbs on the dimmed person) |
cloth | cloth mask | unpaired ground truth (when the dataset has one, else blank).
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from acgpn.data.files import as_grey, as_rgb, label_ids, load_image
from acgpn.data.layouts import label_name, output_name, pose_name
from acgpn.data.pairs import read_pairs
from acgpn.errors import InputError
from acgpn.fileio import save_image
from acgpn.labels import colorize
from acgpn.pose import pose_map, read_openpose_json
from acgpn.synth.dataset import PAIR_FILES, VITON, folder_paths

COLUMNS = ("person", "label", "pose", "cloth", "cloth mask", "unpaired GT")
SHORT_COLUMNS = ("img", "lbl", "pose", "cloth", "mask", "GT")
#: COCO-18 limbs drawn on the pose panel.
LIMBS = ((1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12),
         (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17))  # fmt: skip
HEADER = 16


def _colours(n: int) -> list[tuple[int, int, int]]:
    return [tuple(int(255 * c) for c in colorsys.hsv_to_rgb(i / n, 0.9, 1.0)) for i in range(n)]  # type: ignore[misc]


def _load(path: Path, mode: str, what: str) -> np.ndarray:
    img = load_image(path, what)
    return np.asarray(as_rgb(img) if mode == "RGB" else as_grey(img))


def pose_panel(image: np.ndarray, keypoints: torch.Tensor) -> np.ndarray:
    """The person dimmed, with the pose map's squares and the COCO-18 limbs drawn on it."""
    h, w = image.shape[:2]
    out = image.astype(np.float32) * 0.4
    squares = (pose_map(keypoints, h, w) > 0).numpy()
    for k, colour in enumerate(_colours(18)):
        out[squares[k]] = 0.35 * out[squares[k]] + 0.65 * np.asarray(colour, np.float32)
    canvas = Image.fromarray(out.astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    kp = keypoints.tolist()
    width = max(1, round(2 * h / 256))
    for (a, b), colour in zip(LIMBS, _colours(len(LIMBS))):
        if min(kp[a][0], kp[a][1], kp[b][0], kp[b][1]) > 1:
            draw.line([(kp[a][0], kp[a][1]), (kp[b][0], kp[b][1])], fill=colour, width=width)
    return np.asarray(canvas)


def _row(root: Path, phase: str, person: str, cloth: str) -> list[np.ndarray]:
    """The six panels of one (person, unpaired cloth) line: the person's own cloth, the GT wearing ``cloth``."""
    f = folder_paths(root, phase)
    own = VITON.own_cloth(person)
    image = _load(f["image"] / person, "RGB", "a person image")
    label_path = f["label"] / label_name(person)
    label = label_ids(load_image(label_path, f"the label map of {person}"), label_path)
    keypoints = read_openpose_json(f["pose"] / pose_name(person))
    gt_path = f["gt_unpaired"] / output_name(person, cloth, ".jpg")
    gt = _load(gt_path, "RGB", "a ground-truth image") if gt_path.exists() else np.full_like(image, 255)
    mask = _load(f["product_mask"] / own, "L", f"the cloth mask of {own}")
    cloth_image = _load(f["cloth"] / own, "RGB", "a cloth image")
    return [image, colorize(label), pose_panel(image, keypoints), cloth_image, np.repeat(mask[..., None], 3, axis=2), gt]


def _pairs(root: Path, phase: str, num_rows: int) -> list[tuple[str, str]]:
    """The first ``num_rows`` pairs of the unpaired pair file (else the paired one)."""
    candidates = [root / f"{phase}_{name}" for name in reversed(PAIR_FILES)]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        raise InputError(f"no {candidates[0].name} or {candidates[1].name} here", root)
    return read_pairs(path)[:num_rows]


def contact_sheet(dataset_dir: Path, out_png: Path, num_rows: int = 6, phase: str = "test") -> Path:
    """Write a contact sheet PNG of the first ``num_rows`` unpaired pairs; returns ``out_png``."""
    root, out_png = Path(dataset_dir), Path(out_png)
    if num_rows < 1:
        raise InputError(f"num_rows must be at least 1, got {num_rows}")
    if out_png.suffix.lower() != ".png":  # the sheet is a PNG: not one under another name
        raise InputError("expected a .png file name for the contact sheet", out_png)
    if not root.is_dir():
        raise InputError("dataset folder not found", root)
    panels = [_row(root, phase, p, c) for p, c in _pairs(root, phase, num_rows)]
    if len({panel.shape for row in panels for panel in row}) != 1:
        raise InputError("images of different sizes; cannot tile them", root)
    return draw_sheet(panels, out_png, COLUMNS, SHORT_COLUMNS)


def draw_sheet(
    panels: Sequence[Sequence[np.ndarray]], out_png: str | Path, columns: Sequence[str], short_columns: Sequence[str] | None = None
) -> Path:
    """Tile rows of equally sized (H, W, 3) uint8 panels under a white header of column titles
    (``short_columns``, else each title's last word, where a column is under 96 px); returns ``out_png``."""
    rows = [np.concatenate(list(row), axis=1) for row in panels]
    width = rows[0].shape[1] // len(columns)
    titles = columns if width >= 96 else short_columns or [t.split()[-1][:8] for t in columns]
    header = Image.new("RGB", (rows[0].shape[1], HEADER), (255, 255, 255))
    draw = ImageDraw.Draw(header)
    for i, title in enumerate(titles):
        draw.text((i * width + 4, 2), title, fill=(0, 0, 0))
    return save_image(out_png, np.concatenate([np.asarray(header)] + rows, axis=0))


