"""Dressing a person: TPS warps of each garment piece onto the body, and the layered render.

Each piece (torso panel, each sleeve piece) has control points in the product image (template)
and on the body; :func:`acgpn.ops.tps.sampling_grid` turns them into a backward warp applied
with ``grid_sample(align_corners=True)``. The torso panel follows neckline, shoulders, armpits,
waist and hem; sleeves follow the arm bones (shoulder -> elbow -> wrist). A warped piece is kept
inside its body-side control polygon (grown by a few pixels) so the spline cannot leak.

Paint order (back to front): background, legs, pants, shoes, bare torso and neck, torso panel,
arms at the side, sleeves, forearms in front (with their lower sleeves), head, hair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from acgpn import labels as L
from acgpn.ops.tps import sampling_grid
from acgpn.synth import person as P
from acgpn.synth.garment import TORSO_POINTS, Cloth, sleeve_pieces
from acgpn.synth.raster import Canvas, Point, full, grow, polygon

#: How far a warped piece may reach past its body-side control polygon (reference pixels).
REGION_MARGIN = 2.5
#: The TPS is evaluated every TPS_STEP pixels and interpolated (it is smooth; < 0.1 px error).
TPS_STEP = 4
#: How much a piece's seam (edge band) is darkened.
RIM_DARKEN = 0.3


@dataclass
class Piece:
    """One garment piece to warp: template/body control points and the body-side region."""

    name: str
    template: np.ndarray  # (K, 2) pixels in the product image
    body: np.ndarray  # (K, 2) pixels on the person
    region: list[Point]  # body-side polygon the piece must stay inside


@dataclass
class Rendered:
    """A person wearing a garment, with exact ground truth (all (H, W[, 3]) uint8 / bool)."""

    image: np.ndarray
    label: np.ndarray
    warped_cloth: np.ndarray  # the whole warped garment (all pieces) on white
    warped_mask: np.ndarray  # bool: the whole warped garment, before occlusion by arms/head
    cloth_share: np.ndarray  # float32 (H, W): share of each image pixel's colour that is garment
    pieces: list[Piece] = field(default_factory=list)


def _unit(v: tuple[float, float]) -> tuple[float, float]:
    n = max(math.hypot(*v), 1e-9)
    return v[0] / n, v[1] / n


def _normal(d: tuple[float, float], sx: float) -> tuple[float, float]:
    """Unit normal of bone direction ``d`` pointing to the outer edge of a sleeve on side ``sx``."""
    return sx * d[1], -sx * d[0]


def _mid(a: Point, b: Point) -> Point:
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def torso_body_points(person: P.Person, cloth: Cloth) -> np.ndarray:
    """Body-side torso control points, in :data:`acgpn.synth.garment.TORSO_POINTS` order."""
    s, fit = person.scale, cloth.fit
    (nx, ny), (hx, hy), hw = person.neck, person.hip_centre, person.hip_half
    hem_y = hy + 10 * s + fit
    pts: dict[str, Point] = {}
    for k, tag in ((0, "r"), (1, "l")):
        sx, arm = P.SIDE_SIGN[k], person.arms[k]
        sh, r = arm.shoulder, arm.r_shoulder
        pts[f"neck_{tag}"] = (nx + sx * (person.neck_r + 1.5 * s + fit * 0.5), ny - r - 3.5 * s)
        pts[f"shoulder_{tag}"] = (sh[0] + sx * (fit + 0.5 * r), sh[1] - r - 0.5 * s)
        pts[f"armpit_{tag}"] = (sh[0] + sx * (fit - 0.75 * r), sh[1] + 24 * s)
        pts[f"hem_{tag}"] = (hx + sx * (hw + 11 * s + fit), hem_y)
    for tag in ("r", "l"):
        ax, ay = pts[f"armpit_{tag}"]
        ex, ey = pts[f"hem_{tag}"]
        sx = -1.0 if tag == "r" else 1.0
        pts[f"waist_{tag}"] = ((ax + ex) / 2 - sx * 2 * s, (ay + ey) / 2)
    centre = lambda y: nx + (hx - nx) * (y - ny) / max(hy - ny, 1e-6)  # noqa: E731
    ap_y = pts["armpit_r"][1]
    wy = pts["waist_r"][1]
    pts["hem_c"] = (centre(hem_y), hem_y)
    pts["chest_c"] = (centre(ap_y), ap_y)
    pts["belly_c"] = (centre(wy), wy)
    return np.asarray([pts[name] for name in TORSO_POINTS], dtype=np.float64)


def _arm_sections(person: P.Person, cloth: Cloth, k: int) -> dict[str, tuple[Point, Point]]:
    """Body-side (outer, inner) sleeve edge points: 'top' and 'cuff' (short sleeves) or
    'elbow_upper', 'elbow_lower', 'wrist' (long sleeves: each piece ends square to its bone and
    they overlap at the elbow)."""
    arm, sx, s, fit = person.arms[k], P.SIDE_SIGN[k], person.scale, cloth.fit
    d1 = _unit((arm.elbow[0] - arm.shoulder[0], arm.elbow[1] - arm.shoulder[1]))
    d2 = _unit((arm.wrist[0] - arm.elbow[0], arm.wrist[1] - arm.elbow[1]))
    n1, n2 = _normal(d1, sx), _normal(d2, sx)
    loose = 1.0 * s + 0.6 * fit

    def section(c: Point, n: tuple[float, float], half: float) -> tuple[Point, Point]:
        return (c[0] + n[0] * half, c[1] + n[1] * half), (c[0] - n[0] * half, c[1] - n[1] * half)

    r = arm.r_shoulder
    top = (arm.shoulder[0] - d1[0] * 0.6 * r, arm.shoulder[1] - d1[1] * 0.6 * r)
    out = {"top": section(top, n1, 0.9 * r + loose)}
    if cloth.kind != "longsleeve":
        t = cloth.sleeve_cover
        length = math.hypot(arm.elbow[0] - arm.shoulder[0], arm.elbow[1] - arm.shoulder[1])
        c = (arm.shoulder[0] + d1[0] * t * length, arm.shoulder[1] + d1[1] * t * length)
        r = arm.r_shoulder + t * (arm.r_elbow - arm.r_shoulder)
        out["cuff"] = section(c, n1, r + loose)
        return out
    elbow_end = (arm.elbow[0] + d1[0] * arm.r_elbow, arm.elbow[1] + d1[1] * arm.r_elbow)
    out["elbow_upper"] = section(elbow_end, n1, arm.r_elbow + loose)
    elbow_start = (arm.elbow[0] - d2[0] * 0.3 * arm.r_elbow, arm.elbow[1] - d2[1] * 0.3 * arm.r_elbow)
    out["elbow_lower"] = section(elbow_start, n2, arm.r_elbow + loose)
    wrist = (arm.wrist[0] - d2[0] * 1.0 * s, arm.wrist[1] - d2[1] * 1.0 * s)
    out["wrist"] = section(wrist, n2, arm.r_wrist + loose)
    return out


def _quad_piece(name: str, tq: list[Point], bq: list[Point], margin: float) -> Piece:
    """A quad piece (outer-top, outer-end, inner-end, inner-top) with edge midpoints added."""
    def with_mids(q: list[Point]) -> np.ndarray:
        return np.asarray(q + [_mid(q[0], q[1]), _mid(q[3], q[2])], dtype=np.float64)

    return Piece(name, with_mids(tq), with_mids(bq), grow(bq, margin))


def garment_pieces(person: P.Person, cloth: Cloth) -> list[Piece]:
    """All pieces of ``cloth`` fitted to ``person``: torso panel first, then sleeve pieces."""
    margin = REGION_MARGIN * person.scale
    body = torso_body_points(person, cloth)
    outline_idx = (0, 2, 4, 6, 8, 9, 7, 5, 3, 1)
    pieces = [Piece("torso", cloth.torso_points.astype(np.float64), body,
                    grow([tuple(body[i]) for i in outline_idx], margin))]  # fmt: skip
    for k in (0, 1):
        tmpl = sleeve_pieces(cloth, k)
        if not tmpl:
            continue
        sec = _arm_sections(person, cloth, k)
        (to, ti) = sec["top"]
        if "upper" in tmpl and "lower" not in tmpl:
            (co, ci) = sec["cuff"]
            pieces.append(_quad_piece(f"sleeve{k}_upper", tmpl["upper"], [to, co, ci, ti], margin))
        else:
            (eo, ei), (fo, fi), (wo, wi) = sec["elbow_upper"], sec["elbow_lower"], sec["wrist"]
            pieces.append(_quad_piece(f"sleeve{k}_upper", tmpl["upper"], [to, eo, ei, ti], margin))
            pieces.append(_quad_piece(f"sleeve{k}_lower", tmpl["lower"], [fo, wo, wi, fi], margin))
    return pieces


def _normalise(points: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Pixels -> align_corners=True normalised (x, y)."""
    h, w = size
    scale = np.asarray([2.0 / (w - 1), 2.0 / (h - 1)])
    return torch.from_numpy(points * scale - 1.0).to(torch.float32)


def _tps_grid(control: torch.Tensor, values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TPS sampling grid (1, H, W, 2): evaluated on a lattice ``TPS_STEP`` times coarser, then
    bilinearly upsampled (both with align_corners=True, so lattice points stay exact)."""
    h, w = size
    coarse = sampling_grid(control, values, max(2, h // TPS_STEP), max(2, w // TPS_STEP))
    fine = F.interpolate(coarse.permute(0, 3, 1, 2), size=(h, w), mode="bilinear", align_corners=True)
    return fine.permute(0, 2, 3, 1).contiguous()


def _rim_shade(alpha: np.ndarray, scale: float) -> np.ndarray:
    """Brightness factor darkening a ~1.5 reference-pixel band inside a piece's edge (a seam)."""
    k = 2 * max(1, round(1.5 * scale)) + 1
    outside = torch.from_numpy(1.0 - alpha)[None, None]
    eroded = 1.0 - F.max_pool2d(outside, k, stride=1, padding=k // 2)[0, 0].numpy()
    return 1.0 - RIM_DARKEN * np.clip(alpha - eroded, 0.0, 1.0)


def warp_pieces(
    pieces: list[Piece], fabric: np.ndarray, alphas: dict[str, np.ndarray], size: tuple[int, int],
    scale: float,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """TPS-warp each piece: {name: (alpha (H, W) float32, rgb (H, W, 3) float32)} on the body.

    The rgb carries a darker seam along the piece's edge so overlapping pieces stay readable.
    """
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    fab = torch.from_numpy(np.ascontiguousarray(fabric.transpose(2, 0, 1)))
    for piece in pieces:
        control = _normalise(piece.body, size)  # (K, 2): one piece per call
        values = _normalise(piece.template, size)[None]
        grid = _tps_grid(control, values, size)
        src = torch.cat([fab, torch.from_numpy(alphas[piece.name])[None]])[None]
        arr = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=True)[0].numpy()
        region = full(size, *polygon(size, piece.region))
        alpha = arr[3] * region
        alpha = np.where(alpha > 0.999, 1.0, np.where(alpha < 0.002, 0.0, alpha)).astype(np.float32)
        rgb = arr[:3].transpose(1, 2, 0) * _rim_shade(alpha, scale)[..., None]
        out[piece.name] = (alpha, np.ascontiguousarray(rgb, dtype=np.float32))
    return out


def _paint_piece(canvases: list[Canvas], warped: dict, name: str, masks: list[np.ndarray]) -> None:
    """Paint warped piece ``name`` (if the garment has it) on every canvas; record its hard mask."""
    if name not in warped:
        return
    alpha, rgb = warped[name]
    whole = (slice(0, alpha.shape[0]), slice(0, alpha.shape[1]))
    for canvas in canvases:
        hard = canvas.paint(whole, alpha, rgb, L.UPPER_CLOTHES, cloth=True)
    masks.append(hard)


def render(person: P.Person, cloth: Cloth, fabric: np.ndarray, alphas: dict[str, np.ndarray]) -> Rendered:
    """Draw ``person`` wearing ``cloth`` (fabric / piece coverages from ``product_images``)."""
    h, w = person.size
    pieces = garment_pieces(person, cloth)
    warped = warp_pieces(pieces, fabric, alphas, person.size, person.scale)
    canvas = Canvas(P.background(person))
    bare = Canvas(np.full((h, w, 3), 255.0, np.float32))
    masks: list[np.ndarray] = []
    P.paint_lower_body(canvas, person)
    P.paint_torso_skin(canvas, person)
    _paint_piece([canvas, bare], warped, "torso", masks)
    for k in (0, 1):
        P.paint_upper_arm(canvas, person, k)
        if not person.arms[k].front:
            P.paint_forearm(canvas, person, k)
    for k in (0, 1):
        _paint_piece([canvas, bare], warped, f"sleeve{k}_upper", masks)
        if not person.arms[k].front:
            _paint_piece([canvas, bare], warped, f"sleeve{k}_lower", masks)
    for k in person.front_order:
        P.paint_forearm(canvas, person, k, from_wrist=cloth.kind == "longsleeve")
        _paint_piece([canvas, bare], warped, f"sleeve{k}_lower", masks)
    P.paint_head(canvas, person)
    mask = np.logical_or.reduce(masks) if masks else np.zeros((h, w), bool)
    return Rendered(canvas.image(), canvas.label.copy(), bare.image(), mask, canvas.cloth_share, pieces)

