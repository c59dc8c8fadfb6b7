"""The portrait frame: photo -> the model's H x W (3:4 portrait at 256x192), and back (``--paste-back``).

ACGPN sees a person centred in a 256x192 frame (VITON photos). A user's photo is cut to a box of
the working size's aspect ratio around the person, resized once, and the box is recorded as a
:class:`CropTransform` so that the try-on result can be resized back and pasted into the photo.

Box rule (:func:`portrait_box`): the person's bounding box (from the segmentation or parse) plus a
margin, clamped to the photo vertically; the frame is as tall as that and as wide as the aspect
ratio says, or wider (then taller) if the person would not fit; horizontally it is centred on the
torso (mean x of the detected shoulders and hips; else the bounding box's centre). Parts of the box
outside the photo are filled with the photo's background colour (the median of its border pixels
off the person), label 0 and mask 0.

Coordinates are pixels with pixel centres on integers (the OpenPose convention); a box is
``(left, top, right, bottom)`` in photo pixels, right/bottom exclusive, and may extend past the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import torch
from PIL import Image, ImageFilter

from acgpn.data.size import Size
from acgpn.errors import InputError

#: Margin around the person's bounding box, as a fraction of its height (top and bottom) and width.
MARGIN: Final = 0.06
#: Smallest photo side we accept, in pixels: below this there is no detail left to try on.
MIN_PHOTO_SIDE: Final = 64
#: Largest photo we decode (pixels); a 40-megapixel photo is ~120 MB as RGB.
MAX_PHOTO_PIXELS: Final = 40_000_000

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class CropTransform:
    """Photo <-> frame mapping: ``box`` (photo pixels) resized to ``size`` (H, W)."""

    photo_size: Size  # (H, W) of the photo, after EXIF orientation
    box: Box  # (left, top, right, bottom) in photo pixels; may extend past the photo
    size: Size  # (H, W) of the frame (the working size)

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): frame pixels per photo pixel."""
        left, top, right, bottom = self.box
        return self.size[1] / (right - left), self.size[0] / (bottom - top)

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        """(..., 2) photo pixel coordinates -> frame pixel coordinates (pixel centres on integers)."""
        sx, sy = self.scale
        out = np.asarray(xy, dtype=np.float64).copy()
        out[..., 0] = (out[..., 0] + 0.5 - self.box[0]) * sx - 0.5
        out[..., 1] = (out[..., 1] + 0.5 - self.box[1]) * sy - 0.5
        return out

    def to_photo(self, xy: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_frame`."""
        sx, sy = self.scale
        out = np.asarray(xy, dtype=np.float64).copy()
        out[..., 0] = (out[..., 0] + 0.5) / sx + self.box[0] - 0.5
        out[..., 1] = (out[..., 1] + 0.5) / sy + self.box[1] - 0.5
        return out

    def to_json(self) -> dict[str, Any]:
        return {"photo_size": list(self.photo_size), "box": list(self.box), "size": list(self.size)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CropTransform:
        return cls(tuple(data["photo_size"]), tuple(data["box"]), tuple(data["size"]))  # type: ignore[arg-type]


def check_photo(img: Image.Image, path: object, what: str) -> None:
    """Photo size limits: each side at least :data:`MIN_PHOTO_SIDE`, at most :data:`MAX_PHOTO_PIXELS`."""
    w, h = img.size
    if min(w, h) < MIN_PHOTO_SIDE:
        raise InputError(f"{what} is only {h}x{w} (HxW) pixels; at least {MIN_PHOTO_SIDE} pixels on each side expected", path)
    if w * h > MAX_PHOTO_PIXELS:
        raise InputError(f"{what} is {h}x{w} (HxW) = {w * h:,} pixels, above the limit of {MAX_PHOTO_PIXELS:,}; "
                         "downscale it first", path)  # fmt: skip


def bounding_box(mask: np.ndarray) -> Box | None:
    """(left, top, right, bottom) of the nonzero pixels of a (H, W) mask, or ``None`` if empty."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def torso_x(keypoints: torch.Tensor | None) -> float | None:
    """Mean x of the detected shoulders and hips (COCO-18 2, 5, 8, 11), or ``None``."""
    if keypoints is None:
        return None
    pts = keypoints[[2, 5, 8, 11]]
    seen = (pts[:, 0] > 1) & (pts[:, 1] > 1)
    return float(pts[seen, 0].mean()) if bool(seen.any()) else None


def portrait_box(person: np.ndarray, size: Size, keypoints: torch.Tensor | None = None, margin: float = MARGIN) -> Box:
    """The crop box for a person mask (H, W) bool in photo pixels (see the module docstring)."""
    bbox = bounding_box(person)
    if bbox is None:
        raise ValueError("empty person mask")
    ph, pw = person.shape
    left, top, right, bottom = bbox
    aspect = size[1] / size[0]  # W / H of the frame
    bw, bh = right - left, bottom - top
    y0, y1 = max(0.0, top - margin * bh), min(float(ph), bottom + margin * bh)
    height = y1 - y0
    need_w = bw * (1 + 2 * margin)
    if height * aspect < need_w:  # too narrow for the person: widen, then grow vertically about the centre
        height = need_w / aspect
        centre = (top + bottom) / 2
        y0 = min(max(centre - height / 2, 0.0), max(ph - height, 0.0)) if height <= ph else centre - height / 2
    width = height * aspect
    cx = torso_x(keypoints)
    cx = (left + right) / 2 if cx is None else cx
    x0 = cx - width / 2
    x0 = min(max(x0, right + margin * bw - width), left - margin * bw)  # keep the whole person inside
    x0, y0 = round(x0), round(y0)
    return x0, y0, x0 + max(1, round(width)), y0 + max(1, round(height))


def border_colour(rgb: np.ndarray, person: np.ndarray | None = None) -> tuple[int, int, int]:
    """Median colour of the outermost pixel rows/columns, off the person where a mask is given."""
    edge = np.zeros(rgb.shape[:2], dtype=bool)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = True
    if person is not None and (edge & ~person).any():
        edge &= ~person
    return tuple(int(v) for v in np.median(rgb[edge], axis=0))  # type: ignore[return-value]


def crop(img: Image.Image, transform: CropTransform, resample: Image.Resampling, fill: int | tuple[int, ...] = 0) -> Image.Image:
    """Cut ``transform.box`` out of ``img`` (filling outside the photo with ``fill``), resize to the frame."""
    left, top, right, bottom = transform.box
    canvas = Image.new(img.mode, (right - left, bottom - top), fill)
    inside = (max(left, 0), max(top, 0), min(right, img.width), min(bottom, img.height))
    if inside[0] < inside[2] and inside[1] < inside[3]:
        canvas.paste(img.crop(inside), (inside[0] - left, inside[1] - top))
    h, w = transform.size
    return canvas if canvas.size == (w, h) else canvas.resize((w, h), resample)


def keypoints_to_frame(keypoints: torch.Tensor, transform: CropTransform) -> torch.Tensor:
    """(18, 3) photo keypoints -> frame keypoints; points that leave the frame become undetected (0, 0, 0)."""
    out = keypoints.clone().float()
    seen = (keypoints[:, 0] > 1) & (keypoints[:, 1] > 1)
    xy = torch.from_numpy(transform.to_frame(keypoints[:, :2].double().numpy())).float()
    h, w = transform.size
    inside = seen & (xy[:, 0] > 1) & (xy[:, 1] > 1) & (xy[:, 0] <= w - 1) & (xy[:, 1] <= h - 1)
    out[:, :2] = torch.where(inside[:, None], xy, torch.zeros_like(xy))
    out[:, 2] = torch.where(inside, keypoints[:, 2].float(), torch.zeros(()))
    return out


def paste_back(photo: Image.Image, result: Image.Image, transform: CropTransform, region: np.ndarray | None = None,
               feather: float = 1.5) -> Image.Image:  # fmt: skip
    """Put a frame-sized ``result`` back into ``photo`` (a new image), inverse of :func:`crop`.

    ``region`` (H, W) in [0, 1] at the frame size limits the paste (e.g. the person before and after
    try-on, so the photo's own background stays sharp); its edge is softened by a Gaussian blur of
    ``feather`` frame pixels. ``None`` pastes the whole box.
    """
    left, top, right, bottom = transform.box
    size = (right - left, bottom - top)
    patch = result.convert("RGB").resize(size, Image.Resampling.BICUBIC)
    if region is None:
        alpha = Image.new("L", size, 255)
    else:
        mask = Image.fromarray(np.clip(np.asarray(region, dtype=np.float32) * 255, 0, 255).round().astype(np.uint8), "L")
        if feather > 0:
            mask = mask.filter(ImageFilter.GaussianBlur(feather))
        alpha = mask.resize(size, Image.Resampling.BILINEAR)
    out = photo.convert("RGB").copy()
    out.paste(patch, (left, top), alpha)
    return out
