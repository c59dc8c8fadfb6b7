"""Your own photos -> a prepared person and cloth -> a :class:`~acgpn.data.Sample` or an ACGPN-VITON folder.

:func:`prepare_person` reads a person photo (JPEG/PNG, EXIF orientation applied), finds the pose
(given OpenPose JSON or mediapipe), the person's extent (the given parse, else mediapipe's
segmentation), cuts the portrait frame (:mod:`acgpn.photos.frame`) and makes the label map (given
parse converted to ACGPN ids, else :func:`~acgpn.photos.parse.approximate_parse`).
:func:`prepare_cloth` estimates or reads the cloth mask and frames the garment
(:mod:`acgpn.photos.cloth`). :func:`to_sample` hands both to :func:`acgpn.data.build_sample`, the
data layer's one sample builder; :func:`write_prepared` writes the same files in the ACGPN-VITON
layout (PNG, lossless, so ``acgpn infer`` on the folder gives the same result as ``acgpn tryon``).

Names: person ``alice.jpg`` becomes ``alice_0.png``, cloth ``shirt.jpg`` becomes ``shirt_1.png``
(VITON naming). ``<phase>_pairs.txt`` lists the pairs and ``photos.json`` records, per file, the
source photo, the crop transform (for paste-back) and where the pose, parse and mask came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from PIL import Image, ImageOps

from acgpn.data import Sample, build_sample
from acgpn.data.files import as_grey, as_rgb, load_image, size_hw
from acgpn.data.layouts import get_layout, is_image_name, label_name, pose_name, same_stems
from acgpn.data.pairs import format_pairs
from acgpn.data.size import Size, format_size
from acgpn.errors import InputError
from acgpn.fileio import check_folder_target, ensure_dir, folder_lock, save_image, save_text
from acgpn.pose import read_openpose_json, write_openpose_json
from acgpn.photos.cloth import estimate_cloth_mask, frame_cloth
from acgpn.photos.frame import CropTransform, border_colour, check_photo, crop, keypoints_to_frame, portrait_box
from acgpn.photos.parse import APPROXIMATE_NOTE, approximate_parse, read_parse

PHOTOS_JSON: Final = "photos.json"
Log = Callable[[str], None]


@dataclass
class PreparedPerson:
    """A person photo in the model's frame."""

    name: str  # file name in a prepared dataset, e.g. "alice_0.png"
    photo: str  # the source photo
    image: Image.Image  # RGB, frame size
    label: Image.Image  # L, ACGPN ids, frame size
    keypoints: torch.Tensor  # (18, 3) COCO-18 in frame pixels
    transform: CropTransform
    pose_source: str  # "mediapipe" or the JSON file
    parse_source: str  # "approximate" or "<format>:<file>"
    notes: list[str] = field(default_factory=list)

    @property
    def approximate(self) -> bool:
        return self.parse_source == "approximate"

    def record(self) -> dict[str, Any]:
        return {"photo": self.photo, "transform": self.transform.to_json(), "pose": self.pose_source,
                "parse": self.parse_source, "approximate_parse": self.approximate}  # fmt: skip


@dataclass
class PreparedCloth:
    """A product photo framed like a VITON cloth image."""

    name: str  # e.g. "shirt_1.png"
    photo: str
    image: Image.Image  # RGB, garment on white, frame size
    mask: Image.Image  # L, 0/255, frame size
    transform: CropTransform
    mask_source: str  # "estimated" or the mask file

    def record(self) -> dict[str, Any]:
        return {"photo": self.photo, "transform": self.transform.to_json(), "cloth_mask": self.mask_source}


def read_photo(path: str | Path, what: str) -> Image.Image:
    """A JPEG/PNG photo as RGB, EXIF orientation applied, size limits checked."""
    img = load_image(path, what)
    img = ImageOps.exif_transpose(img) or img
    check_photo(img, path, what)
    return as_rgb(img)


def _companion(path: str | Path, what: str, photo: Image.Image, photo_path: str | Path) -> Image.Image:
    img = load_image(path, what)
    if img.size != photo.size:
        raise InputError(f"{what} is {format_size(size_hw(img))} (HxW) but the photo {photo_path} is "
                         f"{format_size(size_hw(photo))}; they must match", path)  # fmt: skip
    return img


def prepare_person(
    photo_path: str | Path,
    size: Size,
    *,
    parse: str | Path | None = None,
    parse_format: str | None = None,
    pose: str | Path | None = None,
    name: str | None = None,
    log: Log | None = None,
) -> PreparedPerson:
    """Read, analyse and frame one person photo (see the module docstring). :class:`InputError` on bad input."""
    photo = read_photo(photo_path, "a person photo")
    rgb = np.asarray(photo)
    notes: list[str] = []
    ids = None
    if parse is not None:
        if parse_format is None:
            raise InputError("--parse needs --parse-format (lip, cihp, atr or acgpn): the label ids differ", parse)
        ids = read_parse(_companion(parse, "a parse map", photo, photo_path), parse_format, parse)
        if not (ids != 0).any():
            raise InputError("the parse map is all background; expected a parse of the person", parse)
    detection = None
    if pose is None or ids is None:
        from acgpn.photos.detect import detect_person  # mediapipe, only when something must be estimated

        detection = detect_person(rgb, photo_path)
    keypoints = read_openpose_json(pose) if pose is not None else detection.keypoints  # type: ignore[union-attr]
    person = ids != 0 if ids is not None else detection.segmentation > 0.5  # type: ignore[union-attr]
    transform = CropTransform(size_hw(photo), portrait_box(person, size, keypoints), size)
    image = crop(photo, transform, Image.Resampling.BICUBIC, border_colour(rgb, person))
    frame_keypoints = keypoints_to_frame(keypoints, transform)
    if ids is not None:
        label = crop(Image.fromarray(ids, "L"), transform, Image.Resampling.NEAREST, 0)
        parse_source = f"{parse_format}:{parse}"
    else:
        assert detection is not None
        prob = np.asarray(crop(Image.fromarray(detection.segmentation, "F"), transform, Image.Resampling.BILINEAR, 0.0))
        oval = None if detection.face_oval is None else transform.to_frame(detection.face_oval)
        label = Image.fromarray(approximate_parse(np.asarray(image), prob, frame_keypoints, oval), "L")
        parse_source = "approximate"
        notes.append(APPROXIMATE_NOTE)
    found = int(((frame_keypoints[:, 0] > 1) & (frame_keypoints[:, 1] > 1)).sum())
    pose_source = str(pose) if pose is not None else "mediapipe"
    if log is not None:
        log(f"person {photo_path}: pose from {pose_source} ({found}/18 keypoints in the frame), crop box "
            f"{list(transform.box)} -> {format_size(size)}; parse: {'APPROXIMATE' if ids is None else parse_source}")  # fmt: skip
        for note in notes:
            log(f"note: {photo_path}: {note}")
    return PreparedPerson(name or f"{Path(photo_path).stem}_0.png", str(photo_path), image, label, frame_keypoints,
                          transform, pose_source, parse_source, notes)  # fmt: skip


def prepare_cloth(photo_path: str | Path, size: Size, *, mask: str | Path | None = None, name: str | None = None,
                  log: Log | None = None) -> PreparedCloth:  # fmt: skip
    """Read a product photo, estimate or read its mask, frame it (see :mod:`acgpn.photos.cloth`)."""
    photo = read_photo(photo_path, "a cloth photo")
    if mask is not None:
        garment = np.asarray(as_grey(_companion(mask, "a cloth mask", photo, photo_path))) > 127
        if not garment.any():
            raise InputError("the cloth mask is empty (all black); expected white garment pixels", mask)
    else:
        garment = estimate_cloth_mask(np.asarray(photo), photo_path)
    image, framed, transform = frame_cloth(photo, garment, size)
    source = str(mask) if mask is not None else "estimated"
    if log is not None:
        log(f"cloth {photo_path}: mask {source}, garment covers {garment.mean():.0%} of the photo")
    return PreparedCloth(name or f"{Path(photo_path).stem}_1.png", str(photo_path), image, framed, transform, source)


def to_sample(person: PreparedPerson, cloth: PreparedCloth) -> Sample:
    """The :class:`~acgpn.data.Sample` of a prepared pair (through :func:`acgpn.data.build_sample`)."""
    return build_sample(person.image, person.label, cloth.image, cloth.mask, person.keypoints, parse_source="acgpn",
                        person=person.name, cloth_name=cloth.name, sources={"image": person.photo, "cloth": cloth.photo})  # fmt: skip


def check_names(names: Sequence[str], folder: object, what: str) -> None:
    """Photos whose stems clash would overwrite each other's prepared files."""
    for first, other in same_stems(names):
        raise InputError(f"{what} {first} and {other} share the stem {Path(first).stem}; rename one", folder)


def write_prepared(root: str | Path, persons: Sequence[PreparedPerson], clothes: Sequence[PreparedCloth],
                   pairs: Sequence[tuple[str, str]], phase: str = "test") -> Path:  # fmt: skip
    """Write prepared persons and clothes in the ACGPN-VITON layout, with ``<phase>_pairs.txt`` and ``photos.json``."""
    root = check_folder_target(root)
    viton = get_layout("viton")
    with folder_lock(ensure_dir(root), "acgpn prepare"):
        folders = {role: viton.folder(root, phase, role) for role in viton.folders}
        for p in persons:
            save_image(folders["image"] / p.name, np.asarray(p.image))
            save_image(folders["label"] / label_name(p.name), np.asarray(p.label))
            write_openpose_json(folders["pose"] / pose_name(p.name), p.keypoints)
        for c in clothes:
            save_image(folders["cloth"] / c.name, np.asarray(c.image))
            save_image(folders["product_mask"] / c.name, np.asarray(c.mask))
        save_text(root / f"{phase}_pairs.txt", format_pairs(pairs))
        record = {"phase": phase, "persons": {p.name: p.record() for p in persons}, "clothes": {c.name: c.record() for c in clothes}}
        save_text(root / PHOTOS_JSON, json.dumps(record, indent=1) + "\n")
    return root


def _photos_in(folder: str | Path, what: str) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"folder not found (expected {what})", folder)
    photos = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p.name) and not p.name.startswith("."))
    if not photos:
        raise InputError(f"no .jpg, .jpeg or .png files found (expected {what})", folder)
    return photos


def _find(folder: Path | None, stem: str, suffixes: Sequence[str]) -> Path | None:
    if folder is None:
        return None
    for suffix in suffixes:
        if (folder / f"{stem}{suffix}").exists():
            return folder / f"{stem}{suffix}"
    return None


def prepare_dataset(people: str | Path, clothes: str | Path, out: str | Path, size: Size, *, parses: str | Path | None = None,
                    parse_format: str | None = None, poses: str | Path | None = None, cloth_masks: str | Path | None = None,
                    phase: str = "test", log: Log | None = None) -> tuple[Path, list[PreparedPerson], list[PreparedCloth]]:  # fmt: skip
    """Prepare every photo of two folders (every person with every cloth) into an ACGPN-VITON dataset.

    Optional companions are found by stem: ``parses/<stem>.png``, ``poses/<stem>_keypoints.json`` (or
    ``<stem>.json``), ``cloth_masks/<stem>.png|.jpg``. Everything is analysed before the first file is
    written, so a bad photo leaves no half-written dataset.
    """
    check_folder_target(out)
    person_photos, cloth_photos = _photos_in(people, "person photos"), _photos_in(clothes, "cloth photos")
    check_names([p.name for p in person_photos], people, "person photos")
    check_names([c.name for c in cloth_photos], clothes, "cloth photos")
    parse_dir, pose_dir, mask_dir = (Path(d) if d is not None else None for d in (parses, poses, cloth_masks))
    persons = [
        prepare_person(p, size, parse=_find(parse_dir, p.stem, (".png",)), parse_format=parse_format,
                       pose=_find(pose_dir, p.stem, ("_keypoints.json", ".json")), log=log)
        for p in person_photos
    ]  # fmt: skip
    cloths = [prepare_cloth(c, size, mask=_find(mask_dir, c.stem, (".png", ".jpg", ".jpeg")), log=log) for c in cloth_photos]
    pairs = [(p.name, c.name) for p in persons for c in cloths]
    return write_prepared(out, persons, cloths, pairs, phase), persons, cloths
