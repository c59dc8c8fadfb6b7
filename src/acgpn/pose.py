"""OpenPose keypoints (COCO-18) and the pose map M_p fed to G1 and G2 (paper Fig. 2).

Pose map rule (reference README): 18 channels, -1 everywhere; keypoint k with ``x > 1 and y > 1``
(strict) sets the square ``|col - x| <= r, |row - y| <= r`` to +1, clipped to the image, with
r = 5 px at 256 rows. Float coordinates are floored to the pixel grid first (what Pillow's
rectangle does with float corners for on-image points).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import torch

from acgpn.errors import InputError
from acgpn.fileio import read_text, save_text

NUM_KEYPOINTS: Final = 18
#: For COCO-18 index i, the BODY_25 index holding the same joint (BODY_25 adds mid-hip and feet).
BODY25_TO_COCO18: Final = (0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18)
#: Square half-size in pixels at the official 256-row resolution.
REFERENCE_RADIUS: Final = 5
REFERENCE_HEIGHT: Final = 256


def _json_kind(value: object) -> str:
    """What a (non-number) JSON value is, in words, for error messages: ``a string "12"``, ``true``."""
    if isinstance(value, str):
        return f"a string {json.dumps(value[:20])}" + ("..." if len(value) > 20 else "")
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return {list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def keypoints_from_openpose(data: object, source: str = "<json>") -> torch.Tensor:
    """Parse an OpenPose JSON dict into (18, 3) float32 ``(x, y, confidence)`` in pixels.

    Accepts ``pose_keypoints`` (OpenPose <= 1.0) and ``pose_keypoints_2d``; COCO-18 (54 numbers)
    or BODY_25 (75 numbers, converted to COCO-18); every entry must be a JSON number (strings such
    as ``"12"`` and booleans are refused). Only ``people[0]`` is used; no person gives
    all-zero keypoints (nothing drawn, as the official code). Values are kept as written (a NaN
    or negative point is simply not drawn; :func:`keypoint_warnings` reports them). Raises
    :class:`InputError` naming ``source`` for anything else.
    """
    people = data.get("people") if isinstance(data, dict) else None
    if not isinstance(people, list):
        raise InputError("expected an OpenPose JSON object with a 'people' list", source)
    if not people:
        return torch.zeros(NUM_KEYPOINTS, 3)
    person = people[0]
    if not isinstance(person, dict):
        raise InputError(f"people[0] must be an object with 'pose_keypoints_2d', got {type(person).__name__}", source)
    key = "pose_keypoints_2d" if "pose_keypoints_2d" in person else "pose_keypoints"
    values = person.get(key)
    if values is None:
        raise InputError("people[0] has neither 'pose_keypoints_2d' nor 'pose_keypoints'", source)
    if not isinstance(values, list):
        raise InputError(f"keypoints must be a list of numbers, got {type(values).__name__}", source)
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"people[0].{key}[{index}] is {_json_kind(value)}; expected a JSON number "
                             "(x, y, confidence per point)", source)  # fmt: skip
    try:
        flat = torch.tensor([float(v) for v in values], dtype=torch.float32)
    except OverflowError:
        raise InputError("a keypoint number is too large for a float; expected pixel coordinates", source) from None
    if flat.numel() == 3 * NUM_KEYPOINTS:
        return flat.view(NUM_KEYPOINTS, 3)
    if flat.numel() == 3 * 25:
        return flat.view(25, 3)[list(BODY25_TO_COCO18)].clone()
    raise InputError(
        f"expected 54 (COCO-18) or 75 (BODY_25) keypoint numbers, found {flat.numel()}", source
    )


def read_openpose_json(path: str | Path) -> torch.Tensor:
    """Read an OpenPose ``*_keypoints.json`` file -> (18, 3) keypoints (see above)."""
    path = Path(path)
    text = read_text(path, "an OpenPose keypoints JSON")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, or an integer past Python's digit limit
        raise InputError(f"not a readable JSON file ({exc.__class__.__name__})", path) from None
    return keypoints_from_openpose(data, str(path))


def keypoint_warnings(keypoints: torch.Tensor, height: int, width: int) -> list[str]:
    """What the pose map will silently ignore in (18, 3) keypoints of an ``height x width`` image.

    One message per kind, naming the COCO-18 indices: non-finite or negative coordinates (not
    drawn), detected points outside the image (their squares are clipped to it, so mostly or
    wholly lost), and no detected point at all (the pose map is empty, as in the official code).
    """
    x, y = keypoints[:, 0], keypoints[:, 1]
    messages = []

    def note(mask: torch.Tensor, text: str) -> None:
        if bool(mask.any()):
            messages.append(f"keypoint(s) {mask.nonzero().flatten().tolist()} {text}")

    finite = torch.isfinite(keypoints[:, :2]).all(dim=1)
    note(~finite, "have NaN or infinite coordinates; they are not drawn")
    note(finite & ((x < 0) | (y < 0)), "have negative coordinates; they are not drawn")
    detected = finite & (x > 1) & (y > 1)
    note(detected & ((x >= width) | (y >= height)), f"lie outside the {height}x{width} (HxW) image")
    if not bool(detected.any()):
        messages.append("no keypoint detected (no people, or all points undetected): the pose map is empty")
    return messages


def write_openpose_json(path: str | Path, keypoints: torch.Tensor) -> None:
    """Write (18, 3) keypoints as OpenPose JSON with both key names (readable by the official code)."""
    flat = [round(float(v), 3) for v in keypoints.reshape(-1)]
    data = {"version": 1.0, "people": [{"pose_keypoints": flat, "pose_keypoints_2d": flat}]}
    save_text(path, json.dumps(data))


def default_radius(height: int) -> int:
    """Square half-size for an image of ``height`` rows: 5 px at 256, scaled (halves up), at least 1."""
    return max(1, int(REFERENCE_RADIUS * height / REFERENCE_HEIGHT + 0.5))


def scale_keypoints(keypoints: torch.Tensor, sx: float, sy: float) -> torch.Tensor:
    """Scale pixel keypoints (..., 18, 3) by (sx, sy); undetected points (x, y <= 1) stay put."""
    out = keypoints.clone()
    detected = (keypoints[..., 0] > 1) & (keypoints[..., 1] > 1)
    out[..., 0] = torch.where(detected, keypoints[..., 0] * sx, keypoints[..., 0])
    out[..., 1] = torch.where(detected, keypoints[..., 1] * sy, keypoints[..., 1])
    return out


def pose_map(
    keypoints: torch.Tensor, height: int, width: int, radius: int | None = None
) -> torch.Tensor:
    """Rasterise keypoints (18, 3) or (B, 18, 3) into the pose map M_p: (…, 18, H, W) in {-1, +1}.

    Pure tensor code on the keypoints' device and dtype (float32 for integer input).
    """
    r = default_radius(height) if radius is None else radius
    dtype = keypoints.dtype if keypoints.is_floating_point() else torch.float32
    x, y = keypoints[..., 0], keypoints[..., 1]
    visible = (x > 1) & (y > 1)
    cx, cy = torch.floor(x)[..., None], torch.floor(y)[..., None]
    cols = torch.arange(width, device=keypoints.device, dtype=dtype)
    rows = torch.arange(height, device=keypoints.device, dtype=dtype)
    in_cols = (cols >= cx - r) & (cols <= cx + r)  # (..., 18, W)
    in_rows = (rows >= cy - r) & (rows <= cy + r)  # (..., 18, H)
    square = in_rows[..., :, None] & in_cols[..., None, :] & visible[..., None, None]
    return square.to(dtype) * 2 - 1
