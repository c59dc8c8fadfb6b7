"""Reading one file of a sample: decode fully, check, resize, normalise. Errors are :class:`InputError`.

* Only regular files are read (:func:`acgpn.fileio.read_bytes`: no hang on a pipe), and only JPEG
  and PNG content is decoded, whatever the file name says (:data:`IMAGE_FORMATS`). Images are
  decoded completely (``Image.load()``), so truncated files fail here, not later.
* A camera JPEG's EXIF orientation is applied (:func:`load_image`): the pixels are read upright, as
  shown, as OpenCV's ``imread`` (used by pose estimators and human parsers) reads them.
* Person images, cloth images and cloth masks must be opaque (:func:`has_transparency`: an alpha
  channel would be dropped silently, and a mask stored in alpha read as black).
* Person and cloth images: converted to RGB, resized with PIL BICUBIC, ``x / 255 * 2 - 1``.
* Cloth masks ("product_mask"): converted to L (as the official code), NEAREST, ``x / 255`` in [0, 1].
* 16-bit grey images (Pillow modes ``I;16*``, ``I``) are scaled to 8 bits (``round(v / 257)``) before
  either conversion; Pillow's own ``convert`` would clip them to white.
* Label maps: the PNG is read **as stored**, without ``convert``: mode ``L`` (ids as grey levels,
  what the official code expects) or mode ``P`` (palette PNG: the palette *indices* are the ids,
  as in CP-VTON / VITON-HD parse maps); a 16-bit grey PNG is read as ids too. Other modes (RGB
  colour pictures) are rejected.
  Ids are checked against ``parse_source`` (ACGPN ids: 0, 1, 4..13; LIP/CIHP: 0..19; ATR: 0..17),
  converted to ACGPN ids with :func:`acgpn.labels.convert_labels`, resized with NEAREST and
  returned as exact integer values in float32.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Final

import numpy as np
import torch
from PIL import Image, ImageOps

from acgpn.data.size import Size
from acgpn.errors import InputError
from acgpn.fileio import read_bytes
from acgpn.labels import CONVERSIONS, VALID_IDS, convert_labels

#: Pillow formats decoded (camera multi-picture JPEGs open as JPEG). Nothing else is parsed, so
#: exotic decoders never see user files.
IMAGE_FORMATS: Final = ("JPEG", "PNG")
_SIGNATURES: Final = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
_SIXTEEN_BIT: Final = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})


#: The EXIF tag of the orientation a viewer applies (1: as stored).
EXIF_ORIENTATION: Final = 0x0112


def load_image(path: str | Path, what: str) -> Image.Image:
    """Read a regular JPEG / PNG file and decode it fully, upright (EXIF orientation applied);
    :class:`InputError` naming ``path`` and ``what``."""
    data = read_bytes(path, what)
    if not data.startswith(_SIGNATURES):
        raise InputError(f"not a JPEG or PNG file (expected {what}; accepted image types: JPEG, PNG)", path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
            img.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise InputError(f"too large to decode ({exc}); downscale it first (expected {what})", path) from None
        except (OSError, SyntaxError, ValueError) as exc:
            raise InputError(f"unreadable or truncated image, expected {what} ({exc})", path) from None
    if img.getexif().get(EXIF_ORIENTATION, 1) != 1:  # only then: exif_transpose copies the image
        img = ImageOps.exif_transpose(img)
    return img


def eight_bit(img: Image.Image) -> Image.Image:
    """A 16-bit grey image as 8-bit ``L`` (``round(v / 257)``); any other image unchanged."""
    if img.mode not in _SIXTEEN_BIT:
        return img
    arr = np.asarray(img).astype(np.float64)
    return Image.fromarray(np.clip(np.rint(arr / 257), 0, 255).astype(np.uint8), "L")


def as_rgb(img: Image.Image) -> Image.Image:
    """Any decoded image as 8-bit RGB (16-bit grey scaled, not clipped)."""
    return eight_bit(img).convert("RGB")


def as_grey(img: Image.Image) -> Image.Image:
    """Any decoded image as 8-bit grey ``L`` (16-bit grey scaled, not clipped)."""
    return eight_bit(img).convert("L")


def has_transparency(img: Image.Image) -> bool:
    """Whether some pixel of ``img`` is not fully opaque (an alpha channel or a transparent colour
    that ``convert`` would silently drop)."""
    if img.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and "transparency" not in img.info:
        return False
    return img.convert("RGBA").getchannel("A").getextrema()[0] < 255


def check_opaque(img: Image.Image, source: str | Path, what: str) -> None:
    """:class:`InputError` if ``img`` (``what``, e.g. "the cloth mask") has transparent pixels."""
    if has_transparency(img):
        hint = ": the mask as white on black, not in the alpha channel" if "mask" in what else " (flatten it onto white)"
        raise InputError(f"{what} has transparent pixels (alpha); expected an opaque image{hint}", source)


def check_mask_not_empty(img: Image.Image, source: str | Path) -> None:
    """:class:`InputError` if a cloth mask E has no pixel that reads as cloth (grey >= 128, the
    one-half threshold): all black, or a 0/1 mask, would blank the cloth (``T_c * E``)."""
    brightest = as_grey(img).getextrema()[1]
    if brightest == 0:
        raise InputError("the cloth mask is empty (all black); expected the garment's pixels in white", source)
    if brightest < 128:
        raise InputError(f"the cloth mask has no pixel brighter than {brightest} of 255, so none reads as cloth "
                         "(a 0/1 mask?); expected the garment's pixels in white (255)", source)  # fmt: skip


def size_hw(img: Image.Image) -> Size:
    """Pillow's (W, H) as (H, W)."""
    return img.size[1], img.size[0]


def label_ids(img: Image.Image, path: str | Path, source: str = "acgpn") -> np.ndarray:
    """Label map image -> (H, W) uint8 ACGPN ids, checking mode and ids (see module docstring)."""
    if img.mode not in ("L", "P") and img.mode not in _SIXTEEN_BIT:
        raise InputError(
            f"label map must be a mode L (grey-level ids) or mode P (palette-index ids) PNG, "
            f"got mode {img.mode}",
            path,
        )
    raw = np.asarray(img)
    if raw.dtype != np.uint8:  # 16-bit grey: the values are the ids
        top = int(raw.max()) if raw.size else 0
        if top > 255 or int(raw.min()) < 0:
            raise InputError(f"16-bit label map holds values up to {top}; expected label ids", path)
        raw = raw.astype(np.uint8)
    ids = raw
    present = set(np.unique(ids).tolist())
    if source == "acgpn":
        bad = sorted(present - VALID_IDS)
        if bad:
            raise InputError(
                f"label ids {bad} are not ACGPN ids (expected 0, 1, 4..13; 2 and 3 are unused)", path
            )
        return ids
    count = len(CONVERSIONS[source])
    bad = sorted(i for i in present if i >= count)
    if bad:
        raise InputError(f"label ids {bad} outside the {source} classes 0..{count - 1}", path)
    return np.asarray(convert_labels(ids, source), dtype=np.uint8)


def _resized(img: Image.Image, size: Size, resample: Image.Resampling) -> Image.Image:
    return img if size_hw(img) == size else img.resize((size[1], size[0]), resample)


def rgb_tensor(img: Image.Image, size: Size) -> torch.Tensor:
    """Image -> (3, H, W) float32 RGB in [-1, 1], BICUBIC-resized to ``size`` if needed."""
    arr = np.asarray(_resized(as_rgb(img), size, Image.Resampling.BICUBIC), dtype=np.float32)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous() / 255 * 2 - 1


def mask_tensor(img: Image.Image, size: Size) -> torch.Tensor:
    """Mask image -> (1, H, W) float32 in [0, 1] (grey level / 255), NEAREST-resized if needed."""
    arr = np.asarray(_resized(as_grey(img), size, Image.Resampling.NEAREST), dtype=np.float32)
    return torch.from_numpy(arr.copy())[None] / 255


def label_tensor(ids: np.ndarray, size: Size) -> torch.Tensor:
    """(H, W) uint8 ids -> (1, H, W) float32 exact ids, NEAREST-resized if needed."""
    img = Image.fromarray(np.ascontiguousarray(ids, dtype=np.uint8))
    img = _resized(img, size, Image.Resampling.NEAREST)
    return torch.from_numpy(np.asarray(img, dtype=np.float32).copy())[None]
