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
from PIL import Image

from acgpn.data import Sample, build_sample
from acgpn.data.files import as_grey, as_rgb, load_image, size_hw
from acgpn.data.layouts import get_layout, is_image_name, label_name, pose_name, same_stems
from acgpn.data.pairs import format_pairs
from acgpn.data.size import Size, format_size
from acgpn.errors import InputError
from acgpn.fileio import check_folder_target, ensure_dir, folder_lock, save_image, save_text
from acgpn.pose import read_openpose_json, write_openpose_json
from acgpn.photos.cloth import estimate_cloth_mask, frame_cloth
from acgpn.photos.detect import MIN_BODY_KEYPOINTS, keypoints_on_photo
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
    """A JPEG/PNG photo as RGB, EXIF orientation applied (:func:`load_image`), size limits checked."""
    img = load_image(path, what)
    check_photo(img, path, what)
    return as_rgb(img)


def _companion(path: str | Path, what: str, photo: Image.Image, photo_path: str | Path) -> Image.Image:
    img = load_image(path, what)
    if img.size != photo.size:
        raise InputError(f"{what} is {format_size(size_hw(img))} (HxW) but the photo {photo_path} is "
                         f"{format_size(size_hw(photo))}; they must match", path)  # fmt: skip
    return img


def _given_pose(pose: str | Path, photo: Image.Image, photo_path: str | Path) -> torch.Tensor:
    """A given OpenPose JSON's keypoints; refused like a photo with no person when too few lie on the photo."""
    keypoints = read_openpose_json(pose)
    found = keypoints_on_photo(keypoints, photo.height, photo.width)
    if found < MIN_BODY_KEYPOINTS:
        raise InputError(f"no person in this pose: {found}/18 keypoints detected on the {format_size(size_hw(photo))} (HxW) "
                         f"photo {photo_path}; expected at least {MIN_BODY_KEYPOINTS} (OpenPose JSON in photo pixels)", pose)  # fmt: skip
    return keypoints


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
    given_keypoints = None if pose is None else _given_pose(pose, photo, photo_path)
    detection = None
    if pose is None or ids is None:
        from acgpn.photos.detect import detect_person  # mediapipe, only when something must be estimated

        detection = detect_person(rgb, photo_path)
    keypoints = given_keypoints if given_keypoints is not None else detection.keypoints  # type: ignore[union-attr]
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
    if pose is not None and found < MIN_BODY_KEYPOINTS:
        raise InputError(f"only {found}/18 keypoints of this pose fall in the person's frame (crop box {list(transform.box)} "
                         f"of {photo_path}); expected at least {MIN_BODY_KEYPOINTS}: the pose of the person on that photo", pose)  # fmt: skip
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


def input_folder(path: str | Path, option: str, what: str) -> Path:
    """A folder the user named with ``option``: it must exist and be a folder (no fallback)."""
    folder = Path(path)
    if not folder.is_dir():
        found = folder.exists() or folder.is_symlink()
        raise InputError(f"{'is not a folder' if found else 'folder not found'}; {option} expects a folder of {what}", folder)
    return folder


def check_apart(out: str | Path, inputs: dict[str, Path]) -> None:
    """The output folder is none of the input folders, lies inside none and holds none (after resolving links)."""
    target = Path(out).resolve()
    for option, folder in inputs.items():
        read = folder.resolve()
        if target == read:
            where = f"is the {option} folder"
        elif read in target.parents:
            where = f"lies inside the {option} folder {folder}"
        elif target in read.parents:
            where = f"holds the {option} folder {folder}"
        else:
            continue
        raise InputError(f"the output folder {where}; choose an --out outside every input folder", out)


def _photos_in(folder: Path, option: str, what: str) -> list[Path]:
    photos = sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p.name) and not p.name.startswith("."))
    if not photos:
        raise InputError(f"no .jpg, .jpeg or .png files found; {option} expects a folder of {what}", folder)
    return photos


def _find(folder: Path | None, option: str, photo: Path, suffixes: Sequence[str], what: str) -> Path | None:
    """``folder/<photo stem><suffix>`` for the first suffix that exists; :class:`InputError` when none does."""
    if folder is None:
        return None
    for suffix in suffixes:
        if (folder / f"{photo.stem}{suffix}").exists():
            return folder / f"{photo.stem}{suffix}"
    others = ", ".join(f"{photo.stem}{suffix}" for suffix in suffixes[1:])
    raise InputError(f"not found{f' (nor {others})' if others else ''}; {option} is given, so {what} of the photo "
                     f"{photo} is expected here", folder / f"{photo.stem}{suffixes[0]}")  # fmt: skip


def prepare_dataset(people: str | Path, clothes: str | Path, out: str | Path, size: Size, *, parses: str | Path | None = None,
                    parse_format: str | None = None, poses: str | Path | None = None, cloth_masks: str | Path | None = None,
                    phase: str = "test", log: Log | None = None) -> tuple[Path, list[PreparedPerson], list[PreparedCloth]]:  # fmt: skip
    """Prepare every photo of two folders (every person with every cloth) into an ACGPN-VITON dataset.

    Companion folders, when given, must hold a file for every photo, found by stem:
    ``parses/<stem>.png``, ``poses/<stem>_keypoints.json`` (or ``<stem>.json``),
    ``cloth_masks/<stem>.png|.jpg|.jpeg``. ``out`` must lie apart from every input folder.
    Everything is checked and analysed before the first file is written, so bad input leaves no
    half-written dataset.
    """
    check_folder_target(out)
    given = {"--people": (people, "person photos"), "--clothes": (clothes, "cloth photos"), "--parses": (parses, "parse maps"),
             "--poses": (poses, "OpenPose JSON files"), "--cloth-masks": (cloth_masks, "cloth masks")}  # fmt: skip
    folders = {option: input_folder(path, option, what) for option, (path, what) in given.items() if path is not None}
    check_apart(out, folders)
    parse_dir, pose_dir, mask_dir = (folders.get(option) for option in ("--parses", "--poses", "--cloth-masks"))
    if parse_dir is not None and parse_format is None:
        raise InputError("--parses needs --parse-format (lip, cihp, atr or acgpn): the label ids differ", parse_dir)
    person_photos = _photos_in(folders["--people"], "--people", "person photos")
    cloth_photos = _photos_in(folders["--clothes"], "--clothes", "cloth photos")
    check_names([p.name for p in person_photos], people, "person photos")
    check_names([c.name for c in cloth_photos], clothes, "cloth photos")
    person_files = [(p, _find(parse_dir, "--parses", p, (".png",), "the parse map"),
                     _find(pose_dir, "--poses", p, ("_keypoints.json", ".json"), "the OpenPose JSON")) for p in person_photos]  # fmt: skip
    cloth_files = [(c, _find(mask_dir, "--cloth-masks", c, (".png", ".jpg", ".jpeg"), "the cloth mask")) for c in cloth_photos]
    persons = [prepare_person(p, size, parse=parse, parse_format=parse_format, pose=pose, log=log) for p, parse, pose in person_files]
    cloths = [prepare_cloth(c, size, mask=mask, log=log) for c, mask in cloth_files]
    pairs = [(p.name, c.name) for p in persons for c in cloths]
    return write_prepared(out, persons, cloths, pairs, phase), persons, cloths
