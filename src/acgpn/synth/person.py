"""Procedural people: sampled body proportions, COCO-18 pose, colours; and painting of body parts.

Proportions are drawn in a 256x192 *reference frame* and mapped to pixels by :class:`Frame`
(uniform scale ``min(H/256, W/192)`` times the framing's zoom, centred on the framing's centre row),
so every size gets the same figure. Framings (:data:`FRAMINGS`): ``full`` (the default: the whole
body, head to shoes) and ``upper`` (VITON's camera: head to mid-thigh, the body 1.5x larger; legs,
shoes and hands may leave the picture, and keypoints outside it are undetected).
Side index ``k``: 0 = the person's right (image left, ``sx = -1``), 1 = the person's left
(image right, ``sx = +1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

import numpy as np

from acgpn import labels as L
from acgpn.synth.raster import Canvas, Point, capsule, coverage, ellipse, polygon

SIDE_SIGN = (-1.0, 1.0)
ARM_LABEL = (L.RIGHT_ARM, L.LEFT_ARM)
LEG_LABEL = (L.RIGHT_LEG, L.LEFT_LEG)
SHOE_LABEL = (L.RIGHT_SHOE, L.LEFT_SHOE)
POSE_FAMILIES = ("down", "out", "bent", "hips", "cross_one", "cross_both")

SKIN_TONES = ((255, 224, 196), (241, 194, 167), (224, 172, 138), (198, 134, 99), (160, 105, 72),
              (120, 78, 52), (92, 60, 40))  # fmt: skip
HAIR_COLOURS = ((20, 16, 14), (55, 35, 22), (100, 66, 38), (170, 130, 80), (205, 175, 115),
                (130, 50, 25), (150, 150, 150))  # fmt: skip
PANTS_COLOURS = ((40, 60, 110), (70, 100, 150), (28, 28, 32), (150, 130, 95), (95, 95, 100),
                 (30, 40, 72), (85, 95, 60), (120, 45, 45))  # fmt: skip
SHOE_COLOURS = ((238, 238, 238), (30, 30, 30), (100, 60, 35), (175, 40, 40), (60, 60, 140))


#: Camera framings of the person: (zoom, reference row at the image centre).
FRAMINGS: Final = MappingProxyType({"full": (1.0, 127.5), "upper": (1.5, 92.0)})


@dataclass(frozen=True)
class Frame:
    """Maps reference-frame (256x192) coordinates and lengths to pixels of an H x W image, under
    a camera ``zoom`` centred on reference row ``centre_y`` (see :data:`FRAMINGS`)."""

    height: int
    width: int
    zoom: float = 1.0
    centre_y: float = 127.5

    @classmethod
    def framed(cls, size: tuple[int, int], framing: str) -> Frame:
        """The frame of an image of ``size`` (H, W) under the named framing."""
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}, got {framing!r}")
        return cls(size[0], size[1], *FRAMINGS[framing])

    @property
    def scale(self) -> float:
        """Pixels per reference unit."""
        return min(self.height / 256.0, self.width / 192.0) * self.zoom

    def p(self, x: float, y: float) -> Point:
        """Reference point -> pixel point (pixel centres on integers)."""
        s = self.scale
        return ((self.width - 1) / 2 + (x - 95.5) * s, (self.height - 1) / 2 + (y - self.centre_y) * s)


@dataclass(frozen=True)
class Arm:
    """One arm in pixels: joints, radii, and whether the forearm lies in front of the torso."""

    shoulder: Point
    elbow: Point
    wrist: Point
    r_shoulder: float
    r_elbow: float
    r_wrist: float
    r_hand: float
    front: bool


@dataclass(frozen=True)
class Person:
    """Everything needed to draw one person (pixels), independent of the garment worn."""

    size: tuple[int, int]
    scale: float
    family: str
    head: Point
    head_r: tuple[float, float]
    tilt: float
    neck: Point
    neck_r: float
    hip_centre: Point
    hip_half: float
    arms: tuple[Arm, Arm]
    front_order: tuple[int, ...]
    hips: tuple[Point, Point]
    knees: tuple[Point, Point]
    ankles: tuple[Point, Point]
    leg_r: tuple[float, float, float]
    keypoints: np.ndarray  # (18, 3) float64 (x, y, confidence); undetected = (0, 0, 0)
    skin: tuple[float, float, float]
    hair: tuple[float, float, float]
    hair_style: str
    hair_len: float
    hairline: float
    pants: tuple[float, float, float]
    pants_len: float  # 1 = long trousers, else fraction of the thigh covered (shorts)
    shoes: tuple[float, float, float]
    background: tuple[tuple[float, float, float], float]  # (base colour, vertical gradient)


def _pick(rng: np.random.Generator, options: tuple, jitter: float) -> tuple[float, float, float]:
    base = np.asarray(options[int(rng.integers(len(options)))], dtype=np.float64)
    return tuple(np.clip(base + rng.uniform(-jitter, jitter, 3), 0, 255).tolist())  # type: ignore[return-value]


def _direction(sx: float, angle_deg: float) -> tuple[float, float]:
    """Unit vector at ``angle_deg`` from straight down; positive = outward (away from the body)."""
    a = math.radians(angle_deg)
    return sx * math.sin(a), math.cos(a)


def _arm_angles(rng: np.random.Generator, family: str, k: int, crossing: tuple[int, ...]) -> tuple[float, float]:
    """(upper-arm angle, forearm angle) in degrees from straight down, outward positive."""
    if family == "out":
        up = rng.uniform(25, 42)
        return up, up + rng.uniform(0, 18)
    if family == "bent":
        return rng.uniform(4, 18), rng.uniform(60, 125)
    if family == "hips":
        return rng.uniform(28, 42), 0.0  # forearm aimed at the hip later
    if k in crossing:
        up = rng.uniform(1, 9)
        return up, (-rng.uniform(62, 80) if k == crossing[0] else -rng.uniform(95, 112))
    return rng.uniform(5, 16), rng.uniform(5, 22)


def _sample_arm(
    rng: np.random.Generator, ref: dict, family: str, k: int, crossing: tuple[int, ...]
) -> tuple[tuple[Point, Point, Point], tuple[float, float, float, float], bool]:
    """Joints (reference frame), radii and front flag of arm ``k``."""
    sx = SIDE_SIGN[k]
    shoulder = (ref["cx"] + sx * ref["sw"], ref["sy"])
    l1, l2 = rng.uniform(40, 45), rng.uniform(34, 39)
    r_sh = rng.uniform(8.0, 9.5)
    radii = (r_sh, r_sh * 0.78, r_sh * 0.6, r_sh * 0.72)
    up, fore = _arm_angles(rng, family, k, crossing)
    d1 = _direction(sx, up)
    elbow = (shoulder[0] + l1 * d1[0], shoulder[1] + l1 * d1[1])
    if family == "hips":
        target = (ref["hx"] + sx * (ref["hw"] + 6), ref["hy"] - 12)
        vx, vy = target[0] - elbow[0], target[1] - elbow[1]
        n = math.hypot(vx, vy)
        length = min(l2, n + 3)
        wrist = (elbow[0] + vx / n * length, elbow[1] + vy / n * length)
        return (shoulder, elbow, wrist), radii, True
    for _ in range(40):  # fold the forearm in until the hand fits in the frame
        d2 = _direction(sx, fore)
        wrist = (elbow[0] + l2 * d2[0], elbow[1] + l2 * d2[1])
        reach = wrist[0] + d2[0] * radii[3] * 1.8
        if 5 <= reach <= 187 and wrist[1] > 8:
            break
        fore -= 5 * math.copysign(1.0, fore) if abs(fore) > 5 else 0
    return (shoulder, elbow, wrist), radii, k in crossing


def _reference_body(rng: np.random.Generator) -> dict:
    """Torso, head and leg geometry in the reference frame."""
    ref: dict = {"cx": 96 + rng.uniform(-5, 5), "sy": rng.uniform(60, 64), "sw": rng.uniform(25, 31)}
    ref["hx"] = ref["cx"] + rng.uniform(-4, 4)
    ref["hw"] = rng.uniform(12, 16)
    ref["hy"] = rng.uniform(142, 150)
    ref["hrx"] = rng.uniform(12.5, 15)
    ref["hry"] = ref["hrx"] * rng.uniform(1.15, 1.27)
    ref["head"] = (ref["cx"] + rng.uniform(-2, 2), ref["sy"] - rng.uniform(30, 33))
    ref["neck"] = (ref["cx"], ref["sy"] - rng.uniform(0, 2))
    ref["nr"] = rng.uniform(6.5, 8.0)
    knees, ankles = [], []
    for k in (0, 1):
        sx = SIDE_SIGN[k]
        knee = (ref["hx"] + sx * (ref["hw"] + rng.uniform(-2, 5)), ref["hy"] + rng.uniform(47, 52))
        ankles.append((knee[0] + sx * rng.uniform(-2, 5), min(knee[1] + 46, 242.0)))
        knees.append(knee)
    ref["knees"], ref["ankles"] = tuple(knees), tuple(ankles)
    ref["legr"] = (rng.uniform(10.5, 12.5), rng.uniform(7.5, 8.5), rng.uniform(5.5, 6.5))
    return ref


def _face_points(head: Point, rx: float, ry: float, tilt: float) -> list[Point]:
    """Nose, right eye, left eye, right ear, left ear (pixels), rotated by the head tilt."""
    offsets = ((0, 0.22 * ry), (-0.38 * rx, -0.05 * ry), (0.38 * rx, -0.05 * ry),
               (-(rx + 0.5), 0.05 * ry), (rx + 0.5, 0.05 * ry))  # fmt: skip
    c, s = math.cos(tilt), math.sin(tilt)
    return [(head[0] + c * dx - s * dy, head[1] + s * dx + c * dy) for dx, dy in offsets]


def _keypoints(p: dict, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """COCO-18 keypoints (pixels) with confidences; an ear is sometimes undetected, and so is
    every point outside the ``size`` (H, W) picture."""
    arms, face = p["arms"], _face_points(p["head"], *p["head_r"], p["tilt"])
    pts = [face[0], p["neck"], arms[0].shoulder, arms[0].elbow, arms[0].wrist, arms[1].shoulder,
           arms[1].elbow, arms[1].wrist, p["hips"][0], p["knees"][0], p["ankles"][0], p["hips"][1],
           p["knees"][1], p["ankles"][1], face[1], face[2], face[3], face[4]]  # fmt: skip
    kp = np.zeros((18, 3), dtype=np.float64)
    kp[:, :2] = np.round(np.asarray(pts), 3)
    kp[:, 2] = np.round(rng.uniform(0.55, 0.98, 18), 3)
    for ear in (16, 17):
        if rng.random() < 0.15:
            kp[ear] = 0.0
    h, w = size
    outside = (kp[:, 0] < 0) | (kp[:, 0] > w - 1) | (kp[:, 1] < 0) | (kp[:, 1] > h - 1)
    kp[outside] = 0.0
    return kp


def sample_person(rng: np.random.Generator, size: tuple[int, int], framing: str = "full") -> Person:
    """Draw a random person (pose family, proportions, colours) for an image of ``size`` (H, W),
    seen through the camera ``framing`` (:data:`FRAMINGS`; the same draws for every framing)."""
    frame = Frame.framed(size, framing)
    s = frame.scale
    ref = _reference_body(rng)
    family = POSE_FAMILIES[int(rng.integers(len(POSE_FAMILIES)))]
    crossing: tuple[int, ...] = ()
    if family == "cross_one":
        crossing = (int(rng.integers(2)),)
    elif family == "cross_both":
        first = int(rng.integers(2))
        crossing = (first, 1 - first)
    arms = []
    for k in (0, 1):
        joints, radii, front = _sample_arm(rng, ref, family, k, crossing)
        j = [frame.p(*q) for q in joints]
        arms.append(Arm(j[0], j[1], j[2], *(r * s for r in radii), front=front))
    order = crossing if crossing else tuple(k for k in (0, 1) if arms[k].front)
    tilt = rng.uniform(-0.1, 0.1)
    base_l = rng.uniform(196, 242)
    bg = tuple(np.clip(base_l + rng.uniform(-14, 14, 3), 0, 255).tolist())
    hair_style = ("short", "long", "buzz")[int(rng.integers(3))]
    pants_len = 1.0 if rng.random() < 0.7 else rng.uniform(0.45, 0.85)
    parts = {
        "head": frame.p(*ref["head"]), "head_r": (ref["hrx"] * s, ref["hry"] * s), "tilt": tilt,
        "neck": frame.p(*ref["neck"]), "arms": arms,
        "hips": tuple(frame.p(ref["hx"] + SIDE_SIGN[k] * ref["hw"], ref["hy"]) for k in (0, 1)),
        "knees": tuple(frame.p(*q) for q in ref["knees"]),
        "ankles": tuple(frame.p(*q) for q in ref["ankles"]),
    }  # fmt: skip
    return Person(
        size=size, scale=s, family=family, head=parts["head"], head_r=parts["head_r"], tilt=tilt,
        neck=parts["neck"], neck_r=ref["nr"] * s, hip_centre=frame.p(ref["hx"], ref["hy"]),
        hip_half=ref["hw"] * s, arms=(arms[0], arms[1]), front_order=order, hips=parts["hips"],
        knees=parts["knees"], ankles=parts["ankles"], leg_r=tuple(r * s for r in ref["legr"]),  # type: ignore[arg-type]
        keypoints=_keypoints(parts, rng, size), skin=_pick(rng, SKIN_TONES, 8),
        hair=_pick(rng, HAIR_COLOURS, 10), hair_style=hair_style, hair_len=rng.uniform(8, 22) * s,
        hairline=rng.uniform(0.3, 0.5), pants=_pick(rng, PANTS_COLOURS, 12), pants_len=pants_len,
        shoes=_pick(rng, SHOE_COLOURS, 10), background=(bg, rng.uniform(-0.12, 0.12)),  # type: ignore[arg-type]
    )  # fmt: skip


# ------------------------------------------------------------------------------------ painting


def background(person: Person) -> np.ndarray:
    """Plain light background with a gentle vertical gradient: (H, W, 3) float32."""
    h, w = person.size
    base, grad = person.background
    rows = 1.0 + grad * (np.arange(h, dtype=np.float32) / max(h - 1, 1) - 0.5)
    img = np.asarray(base, np.float32)[None, None, :] * rows[:, None, None]
    return np.broadcast_to(np.clip(img, 0, 255), (h, w, 3)).astype(np.float32)


def paint_lower_body(canvas: Canvas, p: Person) -> None:
    """Legs (skin), then pants (long or shorts), then shoes."""
    size, s = p.size, p.scale
    r_hip, r_knee, r_ankle = p.leg_r
    for k in (0, 1):
        canvas.paint_sd(capsule(size, p.hips[k], p.knees[k], r_hip, r_knee), p.skin, LEG_LABEL[k], 0.2, r_knee)
        canvas.paint_sd(capsule(size, p.knees[k], p.ankles[k], r_knee, r_ankle), p.skin, LEG_LABEL[k], 0.2, r_ankle)
    cx, hy, hw = p.hip_centre[0], p.hip_centre[1], p.hip_half
    pelvis = [(cx - hw - 10 * s, hy - 16 * s), (cx + hw + 10 * s, hy - 16 * s),
              (cx + hw + 12 * s, hy + 6 * s), (cx, hy + 18 * s), (cx - hw - 12 * s, hy + 6 * s)]  # fmt: skip
    for k in (0, 1):
        hip, knee, ankle = p.hips[k], p.knees[k], p.ankles[k]
        if p.pants_len >= 1.0:
            canvas.paint_sd(capsule(size, hip, knee, r_hip + 3 * s, r_knee + 3 * s), p.pants, L.PANTS, 0.15, 6 * s)
            end = (ankle[0], ankle[1] - 1 * s)
            canvas.paint_sd(capsule(size, knee, end, r_knee + 3 * s, r_ankle + 3.5 * s), p.pants, L.PANTS, 0.15, 6 * s)
        else:
            t = p.pants_len
            end = (hip[0] + t * (knee[0] - hip[0]), hip[1] + t * (knee[1] - hip[1]))
            r_end = r_hip + t * (r_knee - r_hip) + 3.5 * s
            canvas.paint_sd(capsule(size, hip, end, r_hip + 3 * s, r_end), p.pants, L.PANTS, 0.15, 6 * s)
    win, cov = polygon(size, pelvis)
    canvas.paint(win, cov, p.pants, L.PANTS)
    for k in (0, 1):
        sx = SIDE_SIGN[k]
        c = (p.ankles[k][0] + sx * 2.5 * s, p.ankles[k][1] + 5 * s)
        canvas.paint_sd(ellipse(size, c, 9.5 * s, 5.5 * s), p.shoes, SHOE_LABEL[k], 0.25, 3 * s)


def torso_skin_polygon(p: Person) -> list[Point]:
    """Outline of the bare torso (neck base, shoulders, armpits, waist, hips), image-left first."""
    s, (nx, ny), nr = p.scale, p.neck, p.neck_r
    (hx, hy), hw = p.hip_centre, p.hip_half
    side: list[list[Point]] = []
    for k in (0, 1):
        sx, arm = SIDE_SIGN[k], p.arms[k]
        sh = arm.shoulder
        side.append([(nx + sx * nr, ny - arm.r_shoulder - 4 * s),
                     (sh[0] - sx * 2 * s, sh[1] - arm.r_shoulder * 0.9),
                     (sh[0] + sx * arm.r_shoulder * 0.5, sh[1] + 2 * s),
                     (sh[0] - sx * arm.r_shoulder * 0.4, sh[1] + 24 * s),
                     (hx + sx * (hw + 8 * s), hy - 22 * s), (hx + sx * (hw + 10 * s), hy + 6 * s)])  # fmt: skip
    return side[0] + side[1][::-1]


def paint_torso_skin(canvas: Canvas, p: Person) -> None:
    """Bare torso and neck: neck/chest skin is label 12 (face), shoulder skin the arm labels."""
    size = p.size
    xs = np.arange(size[1], dtype=np.float32)[None, :]
    near_neck = np.abs(xs - p.neck[0]) < 1.6 * p.neck_r
    side = np.where(xs < p.neck[0], ARM_LABEL[0], ARM_LABEL[1])
    lab_full = np.broadcast_to(np.where(near_neck, L.FACE, side), size).astype(np.uint8)
    win, cov = polygon(size, torso_skin_polygon(p))
    canvas.paint(win, cov, p.skin, lab_full[win])
    top = (p.head[0] * 0.5 + p.neck[0] * 0.5, p.head[1] * 0.5 + p.neck[1] * 0.5)
    canvas.paint_sd(capsule(size, top, p.neck, p.neck_r, p.neck_r * 1.1), p.skin, L.FACE, 0.15, p.neck_r)


def upper_arm_shape(p: Person, k: int) -> tuple:
    """Signed distance of the upper arm (from just below the shoulder joint to the elbow)."""
    a = p.arms[k]
    dx, dy = a.elbow[0] - a.shoulder[0], a.elbow[1] - a.shoulder[1]
    n = max(math.hypot(dx, dy), 1e-6)
    start = (a.shoulder[0] + dx / n * 0.25 * a.r_shoulder, a.shoulder[1] + dy / n * 0.25 * a.r_shoulder)
    return capsule(p.size, start, a.elbow, a.r_shoulder, a.r_elbow)


def paint_forearm(canvas: Canvas, p: Person, k: int, from_wrist: bool = False) -> None:
    """Forearm and hand of arm ``k``; ``from_wrist`` paints only the part next to the hand."""
    a, size = p.arms[k], p.size
    dx, dy = a.wrist[0] - a.elbow[0], a.wrist[1] - a.elbow[1]
    n = max(math.hypot(dx, dy), 1e-6)
    start = a.elbow
    if from_wrist:
        start = (a.wrist[0] - dx / n * 3 * a.r_wrist, a.wrist[1] - dy / n * 3 * a.r_wrist)
    lab = ARM_LABEL[k]
    canvas.paint_sd(capsule(size, start, a.wrist, a.r_elbow, a.r_wrist), p.skin, lab, 0.2, a.r_wrist)
    hand = (a.wrist[0] + dx / n * a.r_hand * 0.9, a.wrist[1] + dy / n * a.r_hand * 0.9)
    angle = math.atan2(dy, dx)
    canvas.paint_sd(ellipse(size, hand, a.r_hand * 1.25, a.r_hand * 0.95, angle), p.skin, lab, 0.2, a.r_hand)


def paint_upper_arm(canvas: Canvas, p: Person, k: int) -> None:
    """Upper arm skin (under the sleeve)."""
    canvas.paint_sd(upper_arm_shape(p, k), p.skin, ARM_LABEL[k], 0.2, p.arms[k].r_elbow)


def paint_head(canvas: Canvas, p: Person) -> None:
    """Hair (cap and, for long hair, strands over the shoulders), ears, face and facial marks."""
    size, s, (hx, hy), (rx, ry) = p.size, p.scale, p.head, p.head_r
    grow = 1.0 if p.hair_style == "buzz" else 2.5
    if p.hair_style == "long":
        for sx in SIDE_SIGN:
            a = (hx + sx * rx * 0.75, hy - ry * 0.2)
            b = (hx + sx * (rx + 2 * s), hy + ry + p.hair_len)
            canvas.paint_sd(capsule(size, a, b, 6 * s, 4.5 * s), p.hair, L.HAIR, 0.3, 4 * s)
    cap_c = (hx + math.sin(p.tilt) * 2 * s, hy - 2.5 * s)
    canvas.paint_sd(ellipse(size, cap_c, rx + grow * s, ry + grow * s * 0.8, p.tilt), p.hair, L.HAIR, 0.3, 5 * s)
    face = _face_points(p.head, rx, ry, p.tilt)
    for ear in face[3:]:
        canvas.paint_sd(ellipse(size, ear, 2.6 * s, 4.5 * s, p.tilt), p.skin, L.FACE, 0.2, 2 * s)
    win, sd = ellipse(size, p.head, rx, ry, p.tilt)
    hairline = hy - ry * (0.75 if p.hair_style == "buzz" else p.hairline)
    rows = np.arange(win[0].start, win[0].stop, dtype=np.float32)[:, None]
    alpha = np.minimum(coverage(sd), np.clip(rows - hairline + 0.5, 0.0, 1.0))
    shade = 0.88 + 0.12 * np.sqrt(np.clip(-sd / (4 * s), 0, 1))
    canvas.paint(win, alpha, np.asarray(p.skin, np.float32) * shade[..., None], L.FACE)
    dark = (45.0, 32.0, 30.0)
    for eye in face[1:3]:
        canvas.paint_sd(ellipse(size, eye, 1.9 * s, 1.3 * s, p.tilt), dark, L.FACE)
    c, sn = math.cos(p.tilt), math.sin(p.tilt)
    mouth = (hx - sn * 0.55 * ry, hy + c * 0.55 * ry)
    lips = tuple(0.7 * np.asarray(p.skin) + 0.3 * np.asarray((160.0, 60.0, 60.0)))
    canvas.paint_sd(ellipse(size, mouth, 3.8 * s, 1.3 * s, p.tilt), lips, L.FACE)
