"""Write a synthetic dataset in the ACGPN / VITON layout, with exact ground truth.

Sample ``i`` (name ``NNNNNN`` = ``f"{i:06d}"``) draws its person from ``PCG64(SeedSequence([seed,
i, 0]))`` and its cloth from ``PCG64(SeedSequence([seed, i, 1]))``, so every file depends only on
(seed, size, i, num): the same call gives the same bytes. Person ``i``'s unpaired cloth is cloth
``(i + 1) % num``. Files under the root (``p`` = phase):

* ``p_img/NNNNNN_0.jpg`` person, ``p_label/NNNNNN_0.png`` ACGPN label ids ('L'),
  ``p_pose/NNNNNN_0_keypoints.json`` OpenPose COCO-18 (undetected points are (0, 0, 0));
* ``p_color/NNNNNN_1.jpg`` product cloth on white, ``p_edge/NNNNNN_1.jpg`` its mask (white = cloth);
* ``p_pairs_paired.txt`` (own cloth) and ``p_pairs_unpaired.txt`` (cloth ``(i + 1) % num``);
* ``p_gt_unpaired/NNNNNN_0__MMMMMM_1.jpg`` + ``p_gt_unpaired_label/...png``: the same person and
  scene wearing cloth ``M``;
* ``p_gt_warped_cloth/NNNNNN_0.jpg``: the person's own cloth warped onto the body, **on white**,
  whole garment (before occlusion by arms / hair); ``p_gt_warped_mask/NNNNNN_0.png`` its 0/255 mask;
* ``p_gt_tps/NNNNNN_0.json``: per garment piece, the TPS control points in the cloth image
  ("template") and on the body ("body"), pixels with pixel centres on integers;
* ``meta.json``: generator, version, seed, size, num, phase, framing.

``framing`` is the camera (:data:`acgpn.synth.person.FRAMINGS`): ``full`` (default) shows the
whole body, ``upper`` frames head to mid-thigh as VITON does, with the same people and clothes.

JPEGs use quality 95; PNGs are 8-bit grey.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from numpy.random import PCG64, Generator, SeedSequence

from acgpn.data.layouts import ROLES, get_layout, label_name, output_name, pose_name
from acgpn.data.pairs import format_pairs
from acgpn.data.size import MAX_WORKING_PIXELS, check_size
from acgpn.errors import InputError
from acgpn.fileio import save_image, save_text
from acgpn.pose import write_openpose_json
from acgpn.synth.garment import TORSO_POINTS, Cloth, product_images, sample_cloth
from acgpn.synth.person import FRAMINGS, Person, sample_person
from acgpn.synth.wear import TPS_STEP, Rendered, render

GENERATOR = "acgpn.synth"
VERSION = 1
META_NAME = "meta.json"
JPEG_QUALITY = 95
#: The layout written: its folder table and naming rules (:mod:`acgpn.data.layouts`) are used as is.
VITON = get_layout("viton")
#: Ground-truth folders written beside the layout's five (suffixes after ``<phase>_``).
GT_FOLDERS = ("gt_unpaired", "gt_unpaired_label", "gt_warped_cloth", "gt_warped_mask", "gt_tps")
#: Every per-phase folder written by :func:`generate_dataset` (suffixes after ``<phase>_``).
FOLDERS = tuple(VITON.folders[role][0].removeprefix("{phase}_") for role in ROLES) + GT_FOLDERS
PAIR_FILES = ("pairs_paired.txt", "pairs_unpaired.txt")


@dataclass
class SynthSample:
    """One sample in memory: the person wearing its own cloth and the unpaired one, and the cloth."""

    index: int
    cloth_index: int  # the unpaired cloth
    person: Person
    cloth: Cloth
    product: np.ndarray  # (H, W, 3) uint8, cloth on white
    product_mask: np.ndarray  # (H, W) uint8 0..255
    paired: Rendered
    unpaired: Rendered


def name(index: int) -> str:
    """Zero-padded sample stem, e.g. ``000007``."""
    return f"{index:06d}"


def person_name(index: int) -> str:
    """Person image file name of sample ``index``, e.g. ``000007_0.jpg``; its cloth is ``VITON.own_cloth``."""
    return f"{name(index)}_0.jpg"


def folder_paths(root: Path, phase: str) -> dict[str, Path]:
    """Every folder of a synthetic dataset: the layout's roles, then the ground-truth folders."""
    paths = {role: VITON.folder(root, phase, role) for role in ROLES}
    paths.update({gt: Path(root) / f"{phase}_{gt}" for gt in GT_FOLDERS})
    return paths


def unpaired_index(index: int, num: int) -> int:
    """The cloth person ``index`` wears in the unpaired pairs: the next sample's (a derangement)."""
    return (index + 1) % num


def check_synth_size(size: tuple[int, int]) -> tuple[int, int]:
    """A working size (:func:`acgpn.data.check_size`) of at least 32x32, the smallest figure we draw."""
    try:
        ints = tuple(int(v) for v in size)
    except (TypeError, ValueError):
        raise InputError(f"size must be two integers HxW, got {size!r}") from None
    if len(ints) != 2 or min(ints) < 32 or any(v % 16 for v in ints):
        raise InputError(f"size {'x'.join(map(str, ints))} (HxW): synth draws sizes whose height and width are "
                         "multiples of 16 and at least 32 (e.g. 256x192)")  # fmt: skip
    h, w = check_size(ints, max_pixels=None)
    if h * w > MAX_WORKING_PIXELS:
        raise InputError(f"size {h}x{w} (HxW) is {h * w:,} pixels; synth draws at most {MAX_WORKING_PIXELS:,} (e.g. 1024x768)")
    return h, w


def _rng(seed: int, index: int, stream: int) -> Generator:
    return Generator(PCG64(SeedSequence([seed, index, stream])))


@lru_cache(maxsize=4)
def _cloth(seed: int, index: int, size: tuple[int, int]) -> tuple[Cloth, tuple]:
    """Cloth ``index`` and its images (cached: a sample also wears the next one's cloth; shared,
    so :func:`make_sample` hands out copies)."""
    cloth = sample_cloth(_rng(seed, index, 1), size)
    return cloth, product_images(cloth)


@contextmanager
def _single_thread() -> Iterator[None]:
    """Run torch on one thread (faster for these small ops, and thread-count independent)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_sample(
    seed: int, index: int, num: int, size: tuple[int, int] = (256, 192), framing: str = "full"
) -> SynthSample:
    """Build sample ``index`` of a ``num``-sample dataset in memory (no files)."""
    size = check_synth_size(size)
    check_framing(framing)
    person = sample_person(_rng(seed, index, 0), size, framing)
    j = unpaired_index(index, num)
    cloth, (product, mask, fabric, alphas) = _cloth(seed, index, size)
    other, (_, _, fabric_j, alphas_j) = _cloth(seed, j, size)
    with _single_thread():
        paired = render(person, cloth, fabric, alphas)
        unpaired = render(person, other, fabric_j, alphas_j)
    return SynthSample(index, j, person, cloth, product.copy(), mask.copy(), paired, unpaired)


def _tps_json(sample: SynthSample) -> dict:
    h, w = sample.person.size
    pieces = {
        p.name: {"template": np.round(p.template, 3).tolist(), "body": np.round(p.body, 3).tolist()}
        for p in sample.paired.pieces
    }
    return {
        "size": [h, w],
        "cloth": VITON.own_cloth(person_name(sample.index)),
        "coordinates": "pixels (x = column, y = row), pixel centres on integers",
        "warp": "per piece, a TPS with control points 'body' (target) and values 'template' "
        "(source, in the cloth image): acgpn.ops.tps.sampling_grid + grid_sample(align_corners="
        f"True); evaluated every {TPS_STEP} px and bilinearly upsampled",
        "torso_point_names": list(TORSO_POINTS),
        "sleeve_point_order": ["outer_top", "outer_end", "inner_end", "inner_top", "outer_mid", "inner_mid"],
        "pieces": pieces,
    }


def write_sample(root: Path, phase: str, sample: SynthSample) -> None:
    """Write every per-sample file of ``sample`` under ``root`` (folders must exist)."""
    person = person_name(sample.index)
    cloth, other = VITON.own_cloth(person), VITON.own_cloth(person_name(sample.cloth_index))
    d = folder_paths(root, phase)
    save_image(d["image"] / person, sample.paired.image, JPEG_QUALITY)
    save_image(d["label"] / label_name(person), sample.paired.label, JPEG_QUALITY)
    save_image(d["cloth"] / cloth, sample.product, JPEG_QUALITY)
    save_image(d["product_mask"] / cloth, sample.product_mask, JPEG_QUALITY)
    write_openpose_json(d["pose"] / pose_name(person), torch.from_numpy(sample.person.keypoints))
    save_image(d["gt_unpaired"] / output_name(person, other, ".jpg"), sample.unpaired.image, JPEG_QUALITY)
    save_image(d["gt_unpaired_label"] / output_name(person, other, ".png"), sample.unpaired.label, JPEG_QUALITY)
    save_image(d["gt_warped_cloth"] / person, sample.paired.warped_cloth, JPEG_QUALITY)
    save_image(d["gt_warped_mask"] / label_name(person), sample.paired.warped_mask.astype(np.uint8) * 255, JPEG_QUALITY)
    text = json.dumps(_tps_json(sample), indent=1, sort_keys=True)
    save_text(d["gt_tps"] / f"{Path(person).stem}.json", text + "\n")


def is_synth_dir(path: Path) -> bool:
    """Whether ``path`` holds a dataset written by this generator (its meta.json says so)."""
    try:
        meta = json.loads((path / META_NAME).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(meta, dict) and meta.get("generator") == GENERATOR


def _prepare_root(out: Path, phase: str) -> None:
    """Create ``out`` or clear this phase's files in an earlier synthetic dataset there."""
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder", out)
    if out.is_dir() and any(out.iterdir()):
        if not is_synth_dir(out):
            raise InputError("folder is not empty and not a synthetic dataset (no acgpn.synth meta.json); "
                             "choose a new or empty folder", out)  # fmt: skip
        (out / META_NAME).unlink()
        for folder in folder_paths(out, phase).values():
            shutil.rmtree(folder, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    for folder in folder_paths(out, phase).values():
        folder.mkdir()


def check_framing(framing: str) -> None:
    """The camera framing must be one of :data:`acgpn.synth.person.FRAMINGS`."""
    if framing not in FRAMINGS:
        raise InputError(f"framing must be one of {', '.join(FRAMINGS)}, got {framing!r}")


def check_args(num: int, seed: int, phase: str) -> None:
    """Validate the scalar arguments of :func:`generate_dataset`."""
    if num < 2:
        raise InputError(f"--num must be at least 2 (unpaired pairs need another cloth), got {num}")
    if not 0 <= seed < 2**63:
        raise InputError(f"seed must be a non-negative integer below 2**63, got {seed}")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", phase):
        raise InputError(f"phase must be letters, digits, '_' or '-', got {phase!r}")


def generate_dataset(
    out: Path, num: int, size: tuple[int, int] = (256, 192), seed: int = 0, phase: str = "test", framing: str = "full"
) -> Path:
    """Write ``num`` synthetic samples of ``size`` (H, W) into ``out``, seen through the camera
    ``framing`` (module docstring); returns ``out``.

    Byte-identical for the same arguments. ``out`` must be new, empty, or an earlier synthetic
    dataset (this phase's folders are then replaced). Raises :class:`InputError` on bad input.
    """
    out = Path(out)
    size = check_synth_size(size)
    check_args(num, seed, phase)
    check_framing(framing)
    _prepare_root(out, phase)
    for i in range(num):
        write_sample(out, phase, make_sample(seed, i, num, size, framing))
    persons = [person_name(i) for i in range(num)]
    paired = [(p, VITON.own_cloth(p)) for p in persons]
    unpaired = [(p, paired[unpaired_index(i, num)][1]) for i, p in enumerate(persons)]
    save_text(out / f"{phase}_{PAIR_FILES[0]}", format_pairs(paired))
    save_text(out / f"{phase}_{PAIR_FILES[1]}", format_pairs(unpaired))
    meta = {
        "generator": GENERATOR, "version": VERSION, "seed": seed, "size": list(size), "num": num,
        "phase": phase, "framing": framing, "unpaired": "person i wears cloth (i + 1) % num",
        "gt_warped_cloth_background": "white", "jpeg_quality": JPEG_QUALITY,
    }  # fmt: skip
    save_text(out / META_NAME, json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return out
