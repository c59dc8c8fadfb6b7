"""Vectorised rasterisation for the synthetic data: signed distance fields, polygons, compositing.

Coordinates are pixels with pixel centres on integers: pixel (row i, col j) is the point
``(x, y) = (j, i)``. Shapes are evaluated on the bounding box they can touch only; a shape is a
``(slices, field)`` pair where ``slices`` index the image and ``field`` covers that window.
Anti-aliased coverage is ``clip(0.5 - signed_distance, 0, 1)``; the *hard* shape (the label) is
``coverage >= 0.5``, i.e. ``signed_distance <= 0``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

Point = tuple[float, float]
Window = tuple[slice, slice]

#: Supersampling factor of the polygon rasteriser.
POLY_SS = 4


@lru_cache(maxsize=16)
def pixel_coords(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Read-only (H, W) float32 arrays of pixel x (column) and y (row) coordinates."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    xs.flags.writeable = False
    ys.flags.writeable = False
    return xs, ys


def window(height: int, width: int, x0: float, y0: float, x1: float, y1: float) -> Window:
    """Slices of the pixels whose centres lie in the box ``[x0, x1] x [y0, y1]`` (clipped)."""
    r0 = min(max(0, math.floor(y0)), height)
    r1 = min(max(0, math.ceil(y1) + 1), height)
    c0 = min(max(0, math.floor(x0)), width)
    c1 = min(max(0, math.ceil(x1) + 1), width)
    return slice(r0, max(r0, r1)), slice(c0, max(c0, c1))


def coverage(sd: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage in [0, 1] from a signed distance (negative inside)."""
    return np.clip(0.5 - sd, 0.0, 1.0)


def capsule(
    size: tuple[int, int], a: Point, b: Point, ra: float, rb: float
) -> tuple[Window, np.ndarray]:
    """Signed distance to a tapered capsule from ``a`` (radius ``ra``) to ``b`` (radius ``rb``)."""
    h, w = size
    pad = max(ra, rb) + 2
    win = window(h, w, min(a[0], b[0]) - pad, min(a[1], b[1]) - pad,
                 max(a[0], b[0]) + pad, max(a[1], b[1]) + pad)  # fmt: skip
    xs, ys = pixel_coords(h, w)
    px, py = xs[win] - a[0], ys[win] - a[1]
    bx, by = b[0] - a[0], b[1] - a[1]
    t = np.clip((px * bx + py * by) / max(bx * bx + by * by, 1e-6), 0.0, 1.0)
    dist = np.hypot(px - t * bx, py - t * by)
    return win, dist - (ra + (rb - ra) * t)


def ellipse(
    size: tuple[int, int], c: Point, rx: float, ry: float, angle: float = 0.0
) -> tuple[Window, np.ndarray]:
    """Approximate signed distance to an ellipse centred at ``c`` rotated by ``angle`` radians."""
    h, w = size
    pad = max(rx, ry) + 2
    win = window(h, w, c[0] - pad, c[1] - pad, c[0] + pad, c[1] + pad)
    xs, ys = pixel_coords(h, w)
    dx, dy = xs[win] - c[0], ys[win] - c[1]
    ca, sa = math.cos(angle), math.sin(angle)
    u, v = (dx * ca + dy * sa) / rx, (-dx * sa + dy * ca) / ry
    return win, (np.sqrt(u * u + v * v) - 1.0) * min(rx, ry)


def polygon(size: tuple[int, int], points: Sequence[Point]) -> tuple[Window, np.ndarray]:
    """Anti-aliased coverage (not a distance) of a filled polygon, by 4x supersampling in PIL."""
    h, w = size
    pts = np.asarray(points, dtype=np.float64)
    win = window(h, w, pts[:, 0].min() - 2, pts[:, 1].min() - 2,
                 pts[:, 0].max() + 2, pts[:, 1].max() + 2)  # fmt: skip
    wh, ww = win[0].stop - win[0].start, win[1].stop - win[1].start
    if wh == 0 or ww == 0:
        return win, np.zeros((wh, ww), np.float32)
    local = (pts - (win[1].start, win[0].start) + 0.5) * POLY_SS - 0.5
    canvas = Image.new("L", (ww * POLY_SS, wh * POLY_SS), 0)
    ImageDraw.Draw(canvas).polygon([tuple(p) for p in local.round(3).tolist()], fill=255)
    small = canvas.reduce(POLY_SS)
    return win, np.asarray(small, dtype=np.float32) / 255.0


def full(size: tuple[int, int], win: Window, field: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Paste a windowed field into a full (H, W) float32 array filled with ``fill``."""
    out = np.full(size, fill, dtype=np.float32)
    out[win] = field
    return out


def grow(points: Sequence[Point], amount: float) -> list[Point]:
    """Push each vertex ``amount`` pixels away from the centroid (a cheap polygon dilation)."""
    pts = np.asarray(points, dtype=np.float64)
    centre = pts.mean(axis=0)
    d = pts - centre
    n = np.maximum(np.hypot(d[:, 0], d[:, 1]), 1e-6)[:, None]
    return [tuple(p) for p in (pts + d / n * amount).tolist()]


class Canvas:
    """An RGB float image plus a label map, painted back to front (painter's algorithm)."""

    def __init__(self, background: np.ndarray) -> None:
        self.rgb = background.astype(np.float32).copy()
        self.label = np.zeros(background.shape[:2], dtype=np.uint8)
        #: Fraction of each pixel's colour that comes from layers painted with ``cloth=True``.
        self.cloth_share = np.zeros(background.shape[:2], dtype=np.float32)

    @property
    def size(self) -> tuple[int, int]:
        """(H, W)."""
        return self.label.shape[0], self.label.shape[1]

    def paint(
        self, win: Window, alpha: np.ndarray, color: np.ndarray | Sequence[float],
        label: int | np.ndarray, cloth: bool = False,
    ) -> np.ndarray:  # fmt: skip
        """Blend ``color`` with ``alpha`` into ``win``; set ``label`` where ``alpha >= 0.5``.

        ``color`` is an RGB triple or an array matching the window; ``label`` an id or an id array;
        ``cloth`` marks garment layers (tracked in :attr:`cloth_share`).
        Returns the hard mask (window-sized bool) that received the label.
        """
        a = alpha[..., None]
        col = np.asarray(color, dtype=np.float32)
        self.rgb[win] = self.rgb[win] * (1.0 - a) + col * a
        self.cloth_share[win] = self.cloth_share[win] * (1.0 - alpha) + (alpha if cloth else 0.0)
        hard = alpha >= 0.5
        lab = self.label[win]
        lab[hard] = label if isinstance(label, int) else np.asarray(label)[hard]
        return hard

    def paint_sd(
        self, shape: tuple[Window, np.ndarray], color: Sequence[float], label: int | np.ndarray,
        shade: float = 0.0, depth: float = 1.0,
    ) -> None:  # fmt: skip
        """Paint a signed-distance shape; ``shade`` darkens its rim (0 = flat) over ``depth`` px."""
        win, sd = shape
        col: np.ndarray | Sequence[float] = color
        if shade > 0:
            inner = np.clip(-sd / max(depth, 1e-3), 0.0, 1.0)
            col = np.asarray(color, np.float32) * (1.0 - shade + shade * np.sqrt(inner))[..., None]
        lab = label if isinstance(label, int) else label[win]
        self.paint(win, coverage(sd), col, lab)

    def image(self) -> np.ndarray:
        """The (H, W, 3) uint8 picture."""
        return np.clip(np.rint(self.rgb), 0, 255).astype(np.uint8)
