"""The working size (H, W) of a dataset or a run: what the nets accept, and the memory cap.

* Both sides are positive multiples of 16 (the U-Nets halve the maps 4 times).
* The 1/16-scale bottleneck has at least 2 pixels (instance norm is undefined on one pixel), so
  16x16 is refused; the smallest sizes are 32x16 and 16x32. The released nets were trained at
  256x192; other sizes work, but are not what they learned.
* At most :data:`MAX_WORKING_PIXELS` pixels (1024x768, the VITON-HD size) unless the caller raises
  the cap (``max_pixels``; CLI ``--max-pixels``). Activation memory grows linearly with H x W (16x
  from 256x192 to the cap); an 8000x6000 photo taken as the working size would need about a
  thousand times the memory of 256x192. A larger image is fine as input: pick a working size
  (``size=(H, W)``, CLI ``--size HxW``) and it is resized once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from acgpn.errors import InputError

Size = tuple[int, int]  # (H, W)
#: Default cap on H x W of the working size (1024 x 768 pixels).
MAX_WORKING_PIXELS: Final = 1024 * 768
#: The nets' total downsampling factor.
STRIDE: Final = 16


def format_size(size: Sequence[int]) -> str:
    """(H, W) -> ``"HxW"``."""
    return f"{size[0]}x{size[1]}"


def check_size(
    size: Sequence[int], source: str | Path | None = None, max_pixels: int | None = MAX_WORKING_PIXELS
) -> Size:
    """Validate a working size (H, W) by the rules above; ``max_pixels=None`` lifts the cap."""
    if len(size) != 2:
        raise InputError(f"a size is two numbers (H, W), got {tuple(size)}", source)
    if any(int(s) <= 0 for s in size):
        raise InputError(f"size {format_size(size)} (HxW) must be two positive multiples of 16", source)
    if any(int(s) % STRIDE for s in size):
        raise InputError(
            f"size {format_size(size)} (HxW) is not a multiple of 16: a working size must be two "
            f"positive multiples of 16" + ("; pass size=(H, W) (CLI --size HxW) to resize" if source is not None else ""),
            source,
        )
    h, w = int(size[0]), int(size[1])
    if (h // STRIDE) * (w // STRIDE) < 2:
        raise InputError(
            f"size {h}x{w} (HxW) is too small: a working size is two multiples of 16 with at least 2 "
            f"pixels at 1/16 scale (the U-Nets' bottleneck, where instance norm needs 2); the smallest "
            f"are 32x16 and 16x32 (the nets were trained at 256x192)",
            source,
        )
    if max_pixels is not None and h * w > max_pixels:
        raise InputError(
            f"working size {h}x{w} (HxW) is {h * w:,} pixels, above the cap of {max_pixels:,} "
            f"(memory grows with H x W); pass a smaller size (CLI --size HxW, e.g. 256x192; images are "
            f"resized once) or raise the cap (CLI --max-pixels N)",
            source,
        )
    return h, w


def split_size(text: str) -> Size:
    """``"256x192"`` -> (256, 192), unchecked (H x W)."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"size must look like HxW (e.g. 256x192), got {text!r}")
    return int(match.group(1)), int(match.group(2))


def parse_size(text: str, max_pixels: int | None = MAX_WORKING_PIXELS) -> Size:
    """Parse ``"256x192"`` (H x W) into a checked working size."""
    return check_size(split_size(text), max_pixels=max_pixels)
