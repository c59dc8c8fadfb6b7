"""Flat product clothes on white (T-shirt, long sleeve, tank top) with patterns, and their parts.

A garment is a *torso panel* plus, except for tank tops, two sleeves. Each sleeve is a straight
tube in the product shot, split at ``ELBOW_SPLIT`` for long sleeves (upper / lower piece), so
that every piece can follow one arm bone when worn. All geometry is in pixels of the product
canvas (same size as the person image, garment centred like a VITON product shot).
Torso control points, in order: see :data:`TORSO_POINTS`.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np

from acgpn.synth.person import SIDE_SIGN, Frame
from acgpn.synth.raster import (
    Point,
    capsule,
    coverage,
    ellipse,
    full,
    pixel_coords,
    polygon,
)

KINDS = ("tshirt", "longsleeve", "tank")
PATTERNS = ("solid", "hstripes", "vstripes", "checks", "logo")
#: Names of the torso control points (index order of ``Cloth.torso_points``); R = image left.
TORSO_POINTS = ("neck_r", "neck_l", "shoulder_r", "shoulder_l", "armpit_r", "armpit_l", "waist_r",
                "waist_l", "hem_r", "hem_l", "hem_c", "chest_c", "belly_c")  # fmt: skip
#: Where a long sleeve is split (fraction of its length from the shoulder) to follow the elbow.
ELBOW_SPLIT = 0.52


@dataclass(frozen=True)
class SleeveTemplate:
    """A sleeve tube in the product shot: top edge (outer, inner), cuff centre and half-widths."""

    top_outer: Point
    top_inner: Point
    direction: Point  # unit vector along the sleeve
    normal: Point  # unit vector towards the outer edge
    length: float  # from the top-edge midpoint to the cuff
    cuff_half: float

    def section(self, t: float) -> tuple[Point, Point]:
        """(outer, inner) edge points at fraction ``t`` of the length (0 = top edge, 1 = cuff)."""
        mx = (self.top_outer[0] + self.top_inner[0]) / 2 + t * self.length * self.direction[0]
        my = (self.top_outer[1] + self.top_inner[1]) / 2 + t * self.length * self.direction[1]
        top_half = math.hypot(self.top_outer[0] - self.top_inner[0], self.top_outer[1] - self.top_inner[1]) / 2
        half = top_half + t * (self.cuff_half - top_half)
        nx, ny = self.normal
        return (mx + nx * half, my + ny * half), (mx - nx * half, my - ny * half)


@dataclass(frozen=True)
class Cloth:
    """One product garment: its kind, look, template geometry and how it fits when worn."""

    size: tuple[int, int]
    kind: str
    pattern: str
    colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    pattern_params: tuple[float, ...]
    torso_points: np.ndarray  # (13, 2) template torso control points, see TORSO_POINTS
    torso_outline: tuple[Point, ...]
    back_collar: tuple[Point, float, float] | None  # centre, rx, ry of the inside-back patch
    sleeves: tuple[SleeveTemplate, SleeveTemplate] | None
    fit: float  # looseness in pixels when worn
    sleeve_cover: float  # short sleeves: fraction of the upper arm covered


def _colour_pair(rng: np.random.Generator) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """A base colour and a contrasting second colour (RGB 0..255)."""
    h, s, v = rng.uniform(0, 1), rng.uniform(0.15, 0.85), rng.uniform(0.3, 0.95)
    if rng.random() < 0.35:
        h2, s2, v2 = h, rng.uniform(0, 0.1), (0.97 if v < 0.6 else 0.12)
    else:
        h2, s2, v2 = (h + rng.uniform(0.3, 0.7)) % 1.0, rng.uniform(0.3, 0.9), rng.uniform(0.2, 0.95)
        if abs(v2 - v) < 0.3:
            v2 = min(0.97, v + 0.4) if v < 0.55 else max(0.1, v - 0.4)
    rgb1 = tuple(255.0 * c for c in colorsys.hsv_to_rgb(h, s, v))
    rgb2 = tuple(255.0 * c for c in colorsys.hsv_to_rgb(h2, s2, v2))
    return rgb1, rgb2  # type: ignore[return-value]


def _neckline(centre: Point, half: float, depth: float, v_neck: bool, n: int = 9) -> list[Point]:
    """Neckline from the wearer's left collar point (image right) to the right one, dipping down."""
    pts = []
    for i in range(n):
        t = i / (n - 1)
        x = centre[0] + half * math.cos(math.pi * t)
        y = centre[1] + (depth * (1 - abs(2 * t - 1)) if v_neck else depth * math.sin(math.pi * t))
        pts.append((x, y))
    return pts


def _sleeve(frame: Frame, sx: float, shoulder: Point, long: bool, rng: np.random.Generator) -> SleeveTemplate:
    """Sample one sleeve tube hanging from the shoulder corner."""
    s = frame.scale
    angle = math.radians(rng.uniform(20, 27) if long else rng.uniform(48, 62))
    d = (sx * math.sin(angle), math.cos(angle))
    normal = (sx * math.cos(angle), -math.sin(angle))
    top = (rng.uniform(22, 26) if long else rng.uniform(27, 32)) * s
    inner = (shoulder[0] - normal[0] * top, shoulder[1] - normal[1] * top)
    length = (rng.uniform(95, 104) if long else rng.uniform(26, 34)) * s
    cuff = (rng.uniform(7, 8.5) if long else rng.uniform(10, 12)) * s
    return SleeveTemplate(shoulder, inner, d, normal, length, cuff)


def sample_cloth(rng: np.random.Generator, size: tuple[int, int]) -> Cloth:
    """Draw a random product garment for a canvas of ``size`` (H, W)."""
    frame = Frame(*size)
    s = frame.scale
    kind = KINDS[int(rng.choice(3, p=(0.45, 0.3, 0.25)))]
    pattern = PATTERNS[int(rng.choice(5, p=(0.24, 0.2, 0.16, 0.18, 0.22)))]
    colours = _colour_pair(rng)
    pattern_params = tuple(rng.uniform(0, 1, 6).tolist())
    sy, sw, nw = rng.uniform(50, 58), rng.uniform(45, 51), rng.uniform(14, 17)
    ny, ap = sy - rng.uniform(6, 9), sy + rng.uniform(30, 36)
    hem, hw = rng.uniform(200, 216), sw + rng.uniform(-5, 0)
    wy, ww = (ap + hem) / 2, (sw + hw) / 2 - rng.uniform(0, 3)
    if kind == "tank":
        nw = sw * rng.uniform(0.38, 0.45)
    ref = [(96 - nw, ny), (96 + nw, ny), (96 - sw, sy), (96 + sw, sy), (96 - sw + 2, ap), (96 + sw - 2, ap),
           (96 - ww, wy), (96 + ww, wy), (96 - hw, hem), (96 + hw, hem), (96, hem), (96, ap), (96, wy)]  # fmt: skip
    pts = np.asarray([frame.p(*q) for q in ref])
    v_neck = kind != "tank" and rng.random() < 0.3
    depth = rng.uniform(20, 30) if kind == "tank" else (rng.uniform(18, 26) if v_neck else rng.uniform(8, 13))
    neck = _neckline(frame.p(96, ny), nw * s, depth * s, v_neck)
    if kind == "tank":
        strap = rng.uniform(6, 9)
        bottom = (96 - sw + 2, ap + 4)
        arm_r = [frame.p(96 - nw - strap - (sw - 2 - nw - strap) * (1 - math.cos(t)), ny + 1 + (ap + 3 - ny) * math.sin(t))
                 for t in np.linspace(0, math.pi / 2, 7)]  # fmt: skip
        right = [tuple(pts[0])] + arm_r + [frame.p(*bottom)]
        back = None
    else:
        right = [tuple(pts[0]), tuple(pts[2]), tuple(pts[4])]
        back = (frame.p(96, ny + depth * 0.45 - 0.2), nw * s * 0.97, (depth * 0.55 + 1.8) * s)
    right += [tuple(pts[6]), tuple(pts[8])]
    mirror = [(2 * pts[10][0] - x, y) for x, y in right]
    outline = right + mirror[::-1] + neck[1:-1]
    sleeves = None
    if kind != "tank":
        sleeves = tuple(_sleeve(frame, SIDE_SIGN[k], tuple(pts[2 + k]), kind == "longsleeve", rng) for k in (0, 1))
    return Cloth(
        size=size, kind=kind, pattern=pattern, colours=colours, pattern_params=pattern_params,
        torso_points=pts, torso_outline=tuple(outline), back_collar=back, sleeves=sleeves,  # type: ignore[arg-type]
        fit=rng.uniform(1.0, 3.5) * s, sleeve_cover=rng.uniform(0.45, 0.7),
    )  # fmt: skip


# ------------------------------------------------------------------------------------ pixels


def sleeve_pieces(cloth: Cloth, k: int, overlap: float = 0.0) -> dict[str, list[Point]]:
    """Template quads (outer-top, outer-end, inner-end, inner-top) of sleeve ``k``: 'upper' (and
    'lower' for long sleeves). ``overlap`` (pixels) extends both pieces across the split."""
    if cloth.sleeves is None:
        return {}
    sl = cloth.sleeves[k]
    if cloth.kind != "longsleeve":
        (to, ti), (co, ci) = sl.section(0.0), sl.section(1.0)
        return {"upper": [to, co, ci, ti]}
    e = overlap / max(sl.length, 1e-6)
    (to, ti), (co, ci) = sl.section(0.0), sl.section(1.0)
    (eo, ei), (fo, fi) = sl.section(ELBOW_SPLIT + e), sl.section(ELBOW_SPLIT - e)
    return {"upper": [to, eo, ei, ti], "lower": [fo, co, ci, fi]}


def part_alphas(cloth: Cloth) -> dict[str, np.ndarray]:
    """Full-canvas coverage of each piece to warp ('torso', 'sleeve{k}_{upper|lower}'; sleeve
    pieces overlap by 2 px across the elbow split) and of the whole garment ('mask')."""
    size = cloth.size
    torso = full(size, *polygon(size, cloth.torso_outline))
    out = {"torso": torso}
    mask = torso.copy()
    if cloth.back_collar is not None:
        c, rx, ry = cloth.back_collar
        out["back"] = full(size, *_coverage_of(ellipse(size, c, rx, ry)))
        mask = np.maximum(mask, out["back"])
    for k in (0, 1):
        for name, quad in sleeve_pieces(cloth, k, overlap=2.0 * Frame(*size).scale).items():
            out[f"sleeve{k}_{name}"] = full(size, *polygon(size, quad))
        if cloth.sleeves is not None:
            (to, ti), (co, ci) = cloth.sleeves[k].section(0.0), cloth.sleeves[k].section(1.0)
            mask = np.maximum(mask, full(size, *polygon(size, [to, co, ci, ti])))
    out["mask"] = mask
    return out


def _coverage_of(shape: tuple) -> tuple:
    win, sd = shape
    return win, coverage(sd)


def _stripes(coord: np.ndarray, period: float, duty: float) -> np.ndarray:
    """Anti-aliased stripe coverage along one axis."""
    phase = np.mod(coord, period) - period / 2
    return np.clip(duty * period / 2 - np.abs(phase) + 0.5, 0.0, 1.0)


def _logo(cloth: Cloth) -> np.ndarray:
    """Coverage of a printed mark on the chest (ring, star, triangle, diamond or text bars)."""
    size, s, pp = cloth.size, Frame(*cloth.size).scale, cloth.pattern_params
    chest = cloth.torso_points[11]
    c = (chest[0] + (pp[2] - 0.5) * 14 * s, chest[1] + pp[3] * 20 * s)
    r = (9 + 6 * pp[4]) * s
    shape = int(pp[5] * 5)
    if shape == 0:
        win, sd = ellipse(size, c, r, r)
        return full(size, win, coverage(np.abs(sd + r * 0.3) - r * 0.22))
    if shape == 4:
        out = np.zeros(size, np.float32)
        for i in range(3):
            y = c[1] + (i - 1) * r * 0.55
            win, sd = capsule(size, (c[0] - r, y), (c[0] + r * (1 - 0.3 * i), y), r * 0.16, r * 0.16)
            out[win] = np.maximum(out[win], coverage(sd))
        return out
    n, radii = {1: (5, (r, r * 0.45)), 2: (3, (r, r)), 3: (4, (r, r))}[shape]
    pts = []
    for i in range(n * (2 if shape == 1 else 1)):
        a = -math.pi / 2 + i * math.pi / (n if shape == 1 else n / 2)
        rad = radii[i % 2] if shape == 1 else radii[0]
        pts.append((c[0] + rad * math.cos(a), c[1] + rad * math.sin(a)))
    return full(size, *polygon(size, pts))


def pattern_image(cloth: Cloth) -> np.ndarray:
    """The garment's fabric over the whole canvas (no white): (H, W, 3) float32."""
    size, s, pp = cloth.size, Frame(*cloth.size).scale, cloth.pattern_params
    c1, c2 = (np.asarray(c, np.float32) for c in cloth.colours)
    xs, ys = pixel_coords(*size)
    period, duty = (7 + 11 * pp[0]) * s, 0.3 + 0.3 * pp[1]
    if cloth.pattern == "solid":
        mix = np.zeros(size, np.float32)
    elif cloth.pattern == "hstripes":
        mix = _stripes(ys, period, duty)
    elif cloth.pattern == "vstripes":
        mix = _stripes(xs - np.float32(cloth.torso_points[10][0]), period, duty)
    elif cloth.pattern == "checks":
        mix = 0.5 * (_stripes(xs, period, duty) + _stripes(ys, period, duty))
    else:
        mix = _logo(cloth)
    mix = mix.astype(np.float32)[..., None]
    return c1 * (1 - mix) + c2 * mix


def product_images(cloth: Cloth) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(product RGB uint8 on white, mask uint8 0..255, fabric float32, piece coverages)."""
    alphas = part_alphas(cloth)
    fabric = pattern_image(cloth)
    mask = alphas["mask"]
    colour = fabric
    if "back" in alphas:
        inside = (alphas["back"] * (1 - alphas["torso"]))[..., None]
        colour = fabric * (1 - inside) + fabric * 0.72 * inside
    rgb = 255.0 * (1 - mask[..., None]) + colour * mask[..., None]
    as_u8 = lambda a: np.clip(np.rint(a), 0, 255).astype(np.uint8)  # noqa: E731
    return as_u8(rgb), as_u8(mask * 255.0), fabric, alphas
