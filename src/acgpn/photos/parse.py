"""The person's label map: a given parser output converted to ACGPN ids, or an approximate one.

**Given** (``--parse PNG --parse-format lip|cihp|atr|acgpn``): read with the dataset reader's rules
(:func:`acgpn.data.files.label_ids`: mode L or P, ids checked and converted by
:func:`acgpn.labels.convert_labels`).

**Approximate** (:func:`approximate_parse`, flagged as such in every output): built in the frame from
the person segmentation, the COCO-18 pose and the face-oval landmarks. ``s`` is the shoulder width.

* background: outside the segmentation (probability <= 0.5);
* face (12): inside the face oval (else an ellipse around the nose); neck (12): skin-coloured pixels
  in a box from the chin to the shoulders; ACGPN keeps face and neck in one id;
* hair (1): person pixels above the chin (less 15 % of the face height) within 0.8 face widths of
  the face's centre, not face;
* arms (11 left, 13 right; the person's left is image right): skin-coloured pixels within 0.17 s of
  the shoulder-elbow-wrist(-hand) bones; covered arms (sleeves) stay upper clothes;
* upper clothes (4): every other person pixel down to the hips (the hip keypoints, else 1.5 s
  below the shoulders); below them pants (8), legs (9 left, 10 right: skin within 0.2 s of the
  hip-knee-ankle bones) and shoes (5 left, 6 right: non-skin pixels below the ankles).

Skin colour is learnt from the face (mean and spread of Cb, Cr inside the shrunk face oval), else a
fixed YCbCr box (Cb 77..127, Cr 133..173); isolated skin specks are removed by a 3x3 opening.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import torch
from PIL import Image, ImageDraw

from acgpn import labels as L
from acgpn.data.files import label_ids
from acgpn.data.layouts import PARSE_SOURCES

#: COCO-18 chains (shoulder, elbow, wrist) and (hip, knee, ankle) per side, with the ACGPN ids.
ARMS: Final = (((5, 6, 7), L.LEFT_ARM), ((2, 3, 4), L.RIGHT_ARM))
LEGS: Final = (((11, 12, 13), L.LEFT_LEG, L.LEFT_SHOE), ((8, 9, 10), L.RIGHT_LEG, L.RIGHT_SHOE))
ARM_RADIUS: Final = 0.17  # x shoulder width
LEG_RADIUS: Final = 0.2
#: Fixed skin box in YCbCr (Chai & Ngan 1999), used when no face is available.
SKIN_CB: Final = (77, 127)
SKIN_CR: Final = (133, 173)
APPROXIMATE_NOTE: Final = ("APPROXIMATE parse (mediapipe person segmentation + pose + face landmarks, "
                           "no human parser); give --parse for better results")  # fmt: skip


def read_parse(img: Image.Image, parse_format: str, path: object) -> np.ndarray:
    """A parser's label map (mode L or P) -> (H, W) uint8 ACGPN ids; :class:`InputError` naming ``path``."""
    if parse_format not in PARSE_SOURCES:
        raise ValueError(f"parse_format must be one of {PARSE_SOURCES}")
    return label_ids(img, path, parse_format)  # type: ignore[arg-type]


def _seen(keypoints: torch.Tensor, i: int) -> bool:
    return bool(keypoints[i, 0] > 1 and keypoints[i, 1] > 1)


def _point(keypoints: torch.Tensor, i: int) -> tuple[float, float]:
    return float(keypoints[i, 0]), float(keypoints[i, 1])


def _draw(shape: tuple[int, int], polylines: Sequence[Sequence[tuple[float, float]]] = (), radius: float = 0,
          polygon: np.ndarray | None = None, ellipse: tuple[float, float, float, float] | None = None) -> np.ndarray:  # fmt: skip
    """A (H, W) bool mask of thick polylines (round joints), a polygon or an ellipse box."""
    img = Image.new("L", (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(img)
    r = max(1.0, radius)
    for line in polylines:
        if len(line) > 1:
            draw.line([tuple(p) for p in line], fill=255, width=max(1, round(2 * r)))
        for x, y in line:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    if polygon is not None and len(polygon) >= 3:
        draw.polygon([tuple(p) for p in polygon], fill=255)
    if ellipse is not None:
        draw.ellipse(ellipse, fill=255)
    return np.asarray(img) > 127


def skin_mask(rgb: np.ndarray, face: np.ndarray | None) -> np.ndarray:
    """Skin-coloured pixels of an (H, W, 3) uint8 image, by a Cb/Cr model learnt on ``face`` pixels."""
    from scipy import ndimage  # the 'photos' extra

    ycc = np.asarray(Image.fromarray(rgb).convert("YCbCr"), dtype=np.float32)
    y, cb, cr = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    if face is not None and face.sum() >= 20:
        mb, sb = float(np.median(cb[face])), max(4.0, float(cb[face].std()))
        mr, sr = float(np.median(cr[face])), max(4.0, float(cr[face].std()))
        near = (np.abs(cb - mb) <= 2.5 * sb + 3) & (np.abs(cr - mr) <= 2.5 * sr + 3)
    else:
        near = (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1]) & (cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1])
    return ndimage.binary_opening(near & (y > 35), np.ones((3, 3), dtype=bool))  # no isolated specks


def approximate_parse(rgb: np.ndarray, person_prob: np.ndarray, keypoints: torch.Tensor,
                      face_oval: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(H, W) uint8 ACGPN ids from a frame's image, person probability, COCO-18 keypoints and face oval.

    All inputs are in frame pixels. See the module docstring for the rules.
    """
    h, w = person_prob.shape
    person = person_prob > 0.5
    label = np.zeros((h, w), dtype=np.uint8)
    rows = np.arange(h, dtype=np.float32)[:, None]
    cols = np.arange(w, dtype=np.float32)[None, :]
    if _seen(keypoints, 2) and _seen(keypoints, 5):
        s = float(np.hypot(*np.subtract(_point(keypoints, 2), _point(keypoints, 5))))
    elif face_oval is not None:
        s = 2.2 * float(np.ptp(face_oval[:, 0]))
    else:
        s = 0.3 * w
    s = max(s, 4.0)
    shoulder_ys = [_point(keypoints, i)[1] for i in (2, 5) if _seen(keypoints, i)]

    # Face and head.
    face = np.zeros((h, w), dtype=bool)
    core = None
    if face_oval is not None:
        face = _draw((h, w), polygon=face_oval)
        centre = face_oval.mean(axis=0)
        core = _draw((h, w), polygon=centre + 0.6 * (face_oval - centre))
        chin_y, face_cx, face_w = float(face_oval[:, 1].max()), float(centre[0]), float(np.ptp(face_oval[:, 0]))
        face_h = float(np.ptp(face_oval[:, 1]))
    elif _seen(keypoints, 0):
        nx, ny = _point(keypoints, 0)
        rx, ry = 0.2 * s, 0.27 * s
        face = _draw((h, w), ellipse=(nx - rx, ny - 0.8 * ry, nx + rx, ny + 1.2 * ry))
        core = _draw((h, w), ellipse=(nx - 0.6 * rx, ny - 0.5 * ry, nx + 0.6 * rx, ny + 0.7 * ry))
        chin_y, face_cx, face_w, face_h = ny + 1.2 * ry, nx, 2 * rx, 2 * ry
    else:
        chin_y, face_cx, face_w, face_h = (min(shoulder_ys) - 0.35 * s if shoulder_ys else -1.0), w / 2, 0.4 * s, 0.5 * s
    face &= person
    skin = skin_mask(rgb, core & person if core is not None else None)
    head = person & (rows < chin_y - 0.15 * face_h) & (np.abs(cols - face_cx) <= 0.8 * face_w) & ~face
    label[head] = L.HAIR
    label[face] = L.FACE

    # Neck: skin between the chin and the shoulder line, around the neck keypoint.
    shoulder_y = float(np.mean(shoulder_ys)) if shoulder_ys else chin_y + 0.35 * s
    neck_x = _point(keypoints, 1)[0] if _seen(keypoints, 1) else face_cx
    neck = person & skin & (label == 0) & (rows >= chin_y - 2) & (rows <= shoulder_y) & (np.abs(cols - neck_x) <= 0.22 * s)
    label[neck] = L.FACE

    # Arms: skin near the bones (hands extend the forearm by 40 %).
    free = person & (label == 0)
    for chain, arm_id in ARMS:
        pts = [_point(keypoints, i) for i in chain if _seen(keypoints, i)]
        if len(pts) >= 2 and _seen(keypoints, chain[-1]) and _seen(keypoints, chain[-2]):
            (ex, ey), (wx, wy) = pts[-2], pts[-1]
            pts.append((wx + 0.4 * (wx - ex), wy + 0.4 * (wy - ey)))
        if len(pts) < 2:
            continue
        zone = _draw((h, w), [pts], ARM_RADIUS * s)
        label[zone & free & skin] = arm_id
        free &= label == 0

    # Torso down to the hips, then the lower body.
    hip_ys = [_point(keypoints, i)[1] for i in (8, 11) if _seen(keypoints, i)]
    hip_y = float(np.mean(hip_ys)) if hip_ys else shoulder_y + 1.5 * s
    label[free & (rows <= hip_y)] = L.UPPER_CLOTHES
    lower = free & (rows > hip_y)
    label[lower] = L.PANTS
    for chain, leg_id, shoe_id in LEGS:
        pts = [_point(keypoints, i) for i in chain if _seen(keypoints, i)]
        if len(pts) < 2:
            continue
        zone = _draw((h, w), [pts], LEG_RADIUS * s) & lower
        label[zone & skin] = leg_id
        if _seen(keypoints, chain[-1]):
            ax, ay = _point(keypoints, chain[-1])
            foot = _draw((h, w), [[(ax, ay), (ax, ay + 0.25 * s)]], LEG_RADIUS * s) & lower & (rows >= ay) & ~skin
            label[foot] = shoe_id
    label[~person] = L.BACKGROUND
    return label
