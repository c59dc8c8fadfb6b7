"""Person detection on a photo with mediapipe 0.10.21's bundled models (offline), mapped to COCO-18.

Only this module imports mediapipe, and only inside :func:`detect_person` (the ``photos`` extra).
Models, all shipped inside the mediapipe wheel (nothing is downloaded):

* ``mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True)``:
  33 BlazePose landmarks and the person segmentation mask (complexity 2 would download a model);
* ``FaceDetection(model_selection=1)`` (full range): counts the faces, to refuse group photos;
* ``FaceMesh(static_image_mode=True)`` on a crop around the main face: the face-oval landmarks.

BlazePose -> COCO-18 (:data:`BLAZEPOSE_FOR_COCO18`): the same joints by name; COCO's neck is the
midpoint of the shoulders. A landmark counts as detected when its visibility is at least
``min_visibility`` and it lies on the photo; undetected points are (0, 0, 0) as in OpenPose.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import numpy as np
import torch
from PIL import Image

from acgpn.errors import InputError
from acgpn.pose import NUM_KEYPOINTS

#: For each COCO-18 index, the BlazePose landmark index (``None``: the neck, mid-shoulders).
BLAZEPOSE_FOR_COCO18: Final = (0, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27, 5, 2, 8, 7)
BLAZEPOSE_SHOULDERS: Final = (11, 12)
#: mediapipe's face-oval landmark ids (``FACEMESH_FACE_OVAL``'s vertices).
FACE_OVAL_IDS: Final = (10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150, 152, 162, 172, 176, 234,
                        251, 284, 288, 297, 323, 332, 338, 356, 361, 365, 377, 378, 379, 389, 397, 400, 454)  # fmt: skip
#: Photos are analysed at most this large (long side, pixels); landmarks are scaled back.
ANALYSIS_SIDE: Final = 1280
#: A second face at least this wide relative to the largest counts as a second person.
SECOND_FACE_RATIO: Final = 0.4
MIN_VISIBILITY: Final = 0.5
#: Fewer detected keypoints on the photo than this means no person (a detection or a given pose).
MIN_BODY_KEYPOINTS: Final = 3
INSTALL_HINT: Final = "pip install 'acgpn[photos]' (mediapipe 0.10.21, numpy<2)"

_NATIVE_LOG_LOCK = threading.Lock()


@dataclass
class PersonDetection:
    """What mediapipe found on one photo, in photo pixels."""

    keypoints: torch.Tensor  # (18, 3) COCO-18 (x, y, visibility); undetected (0, 0, 0)
    segmentation: np.ndarray  # (H, W) float32 person probability
    face_oval: np.ndarray | None  # (36, 2) face-oval polygon (x, y), ordered around the face
    faces: int  # faces found (group photos are refused before this is returned)


def coco18_from_blazepose(landmarks: np.ndarray, height: int, width: int, min_visibility: float = MIN_VISIBILITY) -> torch.Tensor:
    """(33, 3) BlazePose ``(x, y, visibility)`` with x, y normalised to [0, 1] -> (18, 3) COCO-18 pixels."""
    xy = landmarks[:, :2] * np.array([width, height]) - 0.5  # normalised edges -> pixel centres
    vis = landmarks[:, 2]
    on_photo = (xy[:, 0] > 1) & (xy[:, 1] > 1) & (xy[:, 0] <= width - 1) & (xy[:, 1] <= height - 1)
    ok = on_photo & (vis >= min_visibility)
    out = torch.zeros(NUM_KEYPOINTS, 3)
    for coco, blaze in enumerate(BLAZEPOSE_FOR_COCO18):
        if blaze is None:
            a, b = BLAZEPOSE_SHOULDERS
            if ok[a] and ok[b]:
                out[coco] = torch.tensor([*((xy[a] + xy[b]) / 2), min(vis[a], vis[b])])
        elif ok[blaze]:
            out[coco] = torch.tensor([*xy[blaze], vis[blaze]])
    return out


def keypoints_on_photo(keypoints: torch.Tensor, height: int, width: int) -> int:
    """How many of (18, 3) pixel keypoints are detected (x, y > 1, the OpenPose rule) and on an
    ``height x width`` photo; fewer than :data:`MIN_BODY_KEYPOINTS` means no person."""
    x, y = keypoints[:, 0], keypoints[:, 1]
    return int(((x > 1) & (y > 1) & (x <= width - 1) & (y <= height - 1)).sum())


@contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Silence mediapipe's C++ logging (written straight to file descriptor 2) for the block."""
    with _NATIVE_LOG_LOCK:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)


def import_mediapipe(path: object = None):  # type: ignore[no-untyped-def]
    """``mediapipe.solutions``, or :class:`InputError` saying how to install it."""
    try:
        with _quiet_native_logs():
            import mediapipe as mp
    except ImportError as exc:
        raise InputError(f"estimating pose and parse needs mediapipe ({exc}); {INSTALL_HINT}, "
                         "or give --pose and --parse", path) from None  # fmt: skip
    return mp.solutions


def _analysis_copy(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """The photo at most :data:`ANALYSIS_SIDE` on its long side, and the factor applied."""
    h, w = rgb.shape[:2]
    factor = min(1.0, ANALYSIS_SIDE / max(h, w))
    if factor == 1.0:
        return np.ascontiguousarray(rgb), 1.0
    small = Image.fromarray(rgb).resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BOX)
    return np.asarray(small), factor


def _face_boxes(solutions, rgb: np.ndarray) -> list[tuple[float, float, float, float]]:  # type: ignore[no-untyped-def]
    """Face boxes (x0, y0, x1, y1) in pixels of ``rgb``, largest first."""
    h, w = rgb.shape[:2]
    with solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as detector:
        found = detector.process(rgb).detections or []
    boxes = []
    for det in found:
        b = det.location_data.relative_bounding_box
        boxes.append((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w, (b.ymin + b.height) * h))
    return sorted(boxes, key=lambda b: -(b[2] - b[0]))


def _face_oval(solutions, rgb: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray | None:  # type: ignore[no-untyped-def]
    """Face-oval polygon (pixels of ``rgb``) from FaceMesh run on a crop around ``box``."""
    h, w = rgb.shape[:2]
    cx, cy, side = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 1.8 * max(box[2] - box[0], box[3] - box[1])
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    patch = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    with solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as mesh:
        faces = mesh.process(patch).multi_face_landmarks
    if not faces:
        return None
    marks = faces[0].landmark
    pts = np.array([(marks[i].x * (x1 - x0) + x0, marks[i].y * (y1 - y0) + y0) for i in FACE_OVAL_IDS])
    centre = pts.mean(axis=0)
    order = np.argsort(np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0]))
    return pts[order]


def detect_person(rgb: np.ndarray, path: object = None, min_visibility: float = MIN_VISIBILITY) -> PersonDetection:
    """Pose, segmentation and face oval of the one person on an (H, W, 3) uint8 photo.

    Raises :class:`InputError` (naming ``path``) when no person is found or when the photo shows
    several people (several faces of similar size).
    """
    solutions = import_mediapipe(path)
    h, w = rgb.shape[:2]
    small, factor = _analysis_copy(rgb)
    with _quiet_native_logs():
        boxes = _face_boxes(solutions, small)
        people = [b for b in boxes if b[2] - b[0] >= SECOND_FACE_RATIO * (boxes[0][2] - boxes[0][0])]
        if len(people) > 1:
            raise InputError(f"{len(people)} people found (faces detected); expected a photo of one person", path)
        with solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
            found = pose.process(small)
        oval = _face_oval(solutions, small, boxes[0]) if boxes else None
    if found.pose_landmarks is None or found.segmentation_mask is None:
        raise InputError("no person found (mediapipe found no body); expected a photo of one person, head and torso visible", path)
    marks = np.array([(m.x, m.y, m.visibility) for m in found.pose_landmarks.landmark], dtype=np.float64)
    keypoints = coco18_from_blazepose(marks, h, w, min_visibility)
    seg = np.asarray(found.segmentation_mask, dtype=np.float32)
    if factor != 1.0:
        seg = np.asarray(Image.fromarray(seg, "F").resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)
    if (seg > 0.5).mean() < 0.01 or keypoints_on_photo(keypoints, h, w) < MIN_BODY_KEYPOINTS:
        raise InputError("no person found (too little of a body detected); expected a photo of one person, head and torso visible", path)
    if oval is not None:
        oval = (oval + 0.5) / factor - 0.5
    return PersonDetection(keypoints=keypoints, segmentation=seg, face_oval=oval, faces=len(people))
