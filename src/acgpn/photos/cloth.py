"""Product (in-shop) cloth photos: the cloth mask E, and the garment framed like a VITON cloth image.

**Mask estimation** (:func:`estimate_cloth_mask`), for a garment photographed on a plain background:

1. the background colour is the median of a border strip (2 % of the short side); at least
   :data:`MIN_PLAIN_BORDER` of the strip must lie within :data:`BORDER_TOLERANCE` of it, else the
   photo is refused as "busy background" (give ``--cloth-mask`` instead);
2. a pixel is garment when its largest channel difference to the background exceeds a threshold
   (the 99th percentile of the border's differences + 12, at least 20);
3. morphology (``scipy.ndimage``): a closing with a disk of 3 % of the short side (bridges
   stripes of the background's colour), an opening with 1 %, holes filled, and only the largest
   connected component kept;
4. the garment must cover between 2 % and 95 % of the photo.

**Framing** (:func:`frame_cloth`): the garment's bounding box plus 8 %, cut to the working size's
aspect ratio (centred), resized once; everything off the mask becomes white, like the product
images the model was trained on.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from PIL import Image

from acgpn.data.size import Size
from acgpn.errors import InputError
from acgpn.photos.frame import CropTransform, bounding_box, crop

#: The mask is estimated at most this large (long side), then resized to the photo.
MASK_SIDE: Final = 512
BORDER_TOLERANCE: Final = 24
MIN_PLAIN_BORDER: Final = 0.85
MIN_AREA, MAX_AREA = 0.02, 0.95
CLOTH_MARGIN: Final = 0.08
WHITE: Final = (255, 255, 255)


CLOSING_RADIUS, OPENING_RADIUS = 0.03, 0.01  # x the short side


def _disk(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2) <= radius**2 + 0.5


def estimate_cloth_mask(rgb: np.ndarray, path: object = None) -> np.ndarray:
    """(H, W) bool garment mask of an (H, W, 3) uint8 product photo; :class:`InputError` naming ``path``."""
    from scipy import ndimage  # the 'photos' extra

    h, w = rgb.shape[:2]
    factor = min(1.0, MASK_SIDE / max(h, w))
    small = rgb if factor == 1.0 else np.asarray(Image.fromarray(rgb).resize((max(1, round(w * factor)), max(1, round(h * factor))), Image.Resampling.BOX))
    sh, sw = small.shape[:2]
    b = max(2, round(0.02 * min(sh, sw)))
    strip = np.zeros((sh, sw), dtype=bool)
    strip[:b], strip[-b:], strip[:, :b], strip[:, -b:] = True, True, True, True
    img = small.astype(np.int16)
    background = np.median(img[strip], axis=0)
    diff = np.abs(img - background).max(axis=-1)
    plain = float((diff[strip] <= BORDER_TOLERANCE).mean())
    if plain < MIN_PLAIN_BORDER:
        raise InputError(f"the cloth photo's background is not plain (only {plain:.0%} of its border is one colour); "
                         "photograph the garment flat on a plain background, or give --cloth-mask", path)  # fmt: skip
    threshold = max(20.0, float(np.percentile(diff[strip], 99)) + 12)
    close = max(1, round(CLOSING_RADIUS * min(sh, sw)))
    mask = np.pad(diff > threshold, close)  # room for the closing at the photo's edges
    mask = ndimage.binary_closing(mask, _disk(close))[close:-close, close:-close]
    mask = ndimage.binary_opening(mask, _disk(max(1, round(OPENING_RADIUS * min(sh, sw)))))
    filled = ndimage.binary_fill_holes(mask)
    parts, count = ndimage.label(filled)
    if count == 0:
        raise InputError("no garment found on the cloth photo (nothing differs from the background); "
                         "use a background that contrasts with the garment, or give --cloth-mask", path)  # fmt: skip
    sizes = np.bincount(parts.ravel())[1:]
    garment = parts == (int(np.argmax(sizes)) + 1)
    area = float(garment.mean())
    if not MIN_AREA <= area <= MAX_AREA:
        raise InputError(f"the garment found covers {area:.0%} of the cloth photo (expected {MIN_AREA:.0%} to {MAX_AREA:.0%}); "
                         "use a plain background that contrasts with the garment, or give --cloth-mask", path)  # fmt: skip
    if factor != 1.0:
        garment = np.asarray(Image.fromarray(garment.astype(np.uint8) * 255).resize((w, h), Image.Resampling.BILINEAR)) > 127
    return garment


def cloth_box(mask: np.ndarray, size: Size, margin: float = CLOTH_MARGIN) -> tuple[int, int, int, int]:
    """The frame box around a garment mask: bounding box + ``margin``, at the frame's aspect, centred."""
    bbox = bounding_box(mask)
    if bbox is None:
        raise ValueError("empty cloth mask")
    left, top, right, bottom = bbox
    pad = margin * max(right - left, bottom - top)
    bw, bh = right - left + 2 * pad, bottom - top + 2 * pad
    aspect = size[1] / size[0]
    bw, bh = max(bw, bh * aspect), max(bh, bw / aspect)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0, y0 = round(cx - bw / 2), round(cy - bh / 2)
    return x0, y0, x0 + round(bw), y0 + round(bh)


def frame_cloth(photo: Image.Image, mask: np.ndarray, size: Size) -> tuple[Image.Image, Image.Image, CropTransform]:
    """The cloth image (RGB, garment on white) and its mask (L, 0/255) at the frame size, and the transform."""
    transform = CropTransform((photo.height, photo.width), cloth_box(mask, size), size)
    alpha = Image.fromarray(mask.astype(np.uint8) * 255, "L")
    on_white = Image.new("RGB", photo.size, WHITE)
    on_white.paste(photo.convert("RGB"), (0, 0), alpha)
    framed = np.asarray(crop(alpha, transform, Image.Resampling.BILINEAR, 0)) > 127
    cloth = np.array(crop(on_white, transform, Image.Resampling.BICUBIC, WHITE))
    cloth[~framed] = WHITE
    return Image.fromarray(cloth, "RGB"), Image.fromarray(framed.astype(np.uint8) * 255, "L"), transform
