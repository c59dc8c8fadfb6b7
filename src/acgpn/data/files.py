"""Reading one file of a sample: decode fully, check, resize, normalise. Errors are :class:`InputError`.

* Images are decoded completely (``Image.load()``), so truncated files fail here, not later.
* Person and cloth images: converted to RGB, resized with PIL BICUBIC, ``x / 255 * 2 - 1``.
* Cloth masks ("edge"): converted to L (as the official code), NEAREST, ``x / 255`` in [0, 1].
* Label maps: the PNG is read **as stored**, without ``convert``: mode ``L`` (ids as grey levels,
  what the official code expects) or mode ``P`` (palette PNG: the palette *indices* are the ids,
  as in CP-VTON / VITON-HD parse maps). Other modes (RGB colour pictures, 16-bit) are rejected.
  Ids are checked against ``parse_source`` (ACGPN ids: 0, 1, 4..13; LIP/CIHP: 0..19; ATR: 0..17),
  converted to ACGPN ids with :func:`acgpn.labels.convert_labels`, resized with NEAREST and
  returned as exact integer values in float32.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from acgpn.errors import InputError
from acgpn.labels import CONVERSIONS, VALID_IDS, convert_labels

Size = tuple[int, int]  # (H, W)


def load_image(path: str | Path, what: str) -> Image.Image:
    """Open and fully decode an image; :class:`InputError` naming ``path`` and ``what`` on failure."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"file not found (expected {what})", path) from None
    except OSError as exc:
        raise InputError(f"unreadable file, expected {what} ({exc.__class__.__name__})", path) from None
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"unreadable or truncated image, expected {what} ({exc})", path) from None
    return img


def size_hw(img: Image.Image) -> Size:
    """Pillow's (W, H) as (H, W)."""
    return img.size[1], img.size[0]


def format_size(size: Size) -> str:
    """(H, W) -> ``"HxW"``."""
    return f"{size[0]}x{size[1]}"


def label_ids(img: Image.Image, path: str | Path, source: str = "acgpn") -> np.ndarray:
    """Label map image -> (H, W) uint8 ACGPN ids, checking mode and ids (see module docstring)."""
    if img.mode not in ("L", "P"):
        raise InputError(
            f"label map must be a mode L (grey-level ids) or mode P (palette-index ids) PNG, "
            f"got mode {img.mode}",
            path,
        )
    ids = np.asarray(img, dtype=np.uint8)
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
    arr = np.asarray(_resized(img.convert("RGB"), size, Image.Resampling.BICUBIC), dtype=np.float32)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous() / 255 * 2 - 1


def mask_tensor(img: Image.Image, size: Size) -> torch.Tensor:
    """Mask image -> (1, H, W) float32 in [0, 1] (grey level / 255), NEAREST-resized if needed."""
    arr = np.asarray(_resized(img.convert("L"), size, Image.Resampling.NEAREST), dtype=np.float32)
    return torch.from_numpy(arr.copy())[None] / 255


def label_tensor(ids: np.ndarray, size: Size) -> torch.Tensor:
    """(H, W) uint8 ids -> (1, H, W) float32 exact ids, NEAREST-resized if needed."""
    img = Image.fromarray(np.ascontiguousarray(ids, dtype=np.uint8))
    img = _resized(img, size, Image.Resampling.NEAREST)
    return torch.from_numpy(np.asarray(img, dtype=np.float32).copy())[None]
