"""``inspect_dataset``: every problem of an on-disk dataset in one pass, one line per problem.

Problems (each line names the offending file, folder or pair-file line; any problem means the
dataset would fail in ``TryOnDataset`` / ``acgpn infer``):

* the layout's five folders exist (missing folder: one line, its files are then not reported);
* every person has a label map and a pose file, every cloth has a cloth mask;
* no unexpected entries in the layout folders (non-image files among images, labels / poses
  without a person image, masks without a cloth image, sub-folders, hidden files, links that do
  not lead to a regular file), and no two person images sharing a stem (``X.jpg``, ``X.png``);
* every image is a JPEG or PNG that decodes completely (truncated or corrupt files are reported);
* person and cloth sizes follow the working-size rules (:mod:`acgpn.data.size`: multiples of 16,
  not 16x16); a label has its person's size, a mask its cloth's size, and a pair's person and
  cloth share one size;
* label maps are mode L or P (or 16-bit grey) and hold valid ids for ``parse_source``;
* pose files are OpenPose JSON with 18 (COCO) or 25 (BODY_25) keypoints;
* the pair file exists, every line is ``person_image cloth_image``, names existing files, and no
  two different pairs share an output name (without a pair file: every person's own cloth exists).

Warnings (the data runs, but maybe not as meant): a pose with no detected keypoint (an empty pose
map, as the official code), keypoints that are NaN, infinite, negative or off the image (not
drawn), and person images above the working-size cap (``infer`` then needs ``--size``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from PIL import Image

from acgpn.data.files import check_mask_not_empty, check_opaque, label_ids, load_image, size_hw
from acgpn.data.layouts import (
    DatasetLayout,
    check_parse_source,
    get_layout,
    is_image_name,
    label_name,
    output_name,
    pose_name,
    same_stems,
)
from acgpn.data.pairs import OTHER_IMAGE_EXTENSIONS, OwnCloths, Pair, output_clashes, read_pair_file
from acgpn.data.size import MAX_WORKING_PIXELS, Size, check_size, format_size
from acgpn.errors import InputError
from acgpn.pose import keypoint_warnings, read_openpose_json

T = TypeVar("T")
_NO_SIZE = (2**31, 2**31)  # "unknown image size" for the off-image keypoint check


@dataclass
class DatasetReport:
    """What :func:`inspect_dataset` found: problem and warning lines, and counts for a summary."""

    dataset_layout: str
    phase: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    persons: int = 0
    clothes: int = 0
    pairs: int = 0
    sizes: list[Size] = field(default_factory=list)  # distinct person image sizes

    def summary(self) -> str:
        """``ok: 3 persons, 3 clothes, 3 pairs (viton, test, 64x48)``."""
        sizes = ", ".join(format_size(s) for s in self.sizes) or "no size"
        return f"ok: {self.persons} persons, {self.clothes} clothes, {self.pairs} pairs ({self.dataset_layout}, {self.phase}, {sizes})"


def validate_dataset(
    root: str | Path,
    dataset_layout: str = "viton",
    phase: str = "test",
    pairs: str | Path | None = None,
    parse_source: str | None = None,
) -> list[str]:
    """All problems found in the dataset (empty list: clean). See the module docstring."""
    return inspect_dataset(root, dataset_layout, phase, pairs, parse_source).problems


class _Inspector:
    """One inspection; each method checks one concern and appends to ``report``."""

    def __init__(self, spec: DatasetLayout, source: str, root: Path, phase: str) -> None:
        self.spec, self.source, self.phase = spec, source, phase
        self.folders = spec.resolve(root, phase)
        self.report = DatasetReport(spec.name, phase)
        self.entries: dict[str, list[Path]] = {}
        self.sizes: dict[tuple[str, str], Size | None] = {}

    def problem(self, where: object, message: str) -> None:
        self.report.problems.append(f"{where}: {message}")

    def attempt(self, fn: Callable[[], T]) -> T | None:
        """Run ``fn``; an :class:`InputError` becomes a problem line and ``None``."""
        try:
            return fn()
        except InputError as exc:
            self.report.problems.append(str(exc))
            return None

    # ---------------------------------------------------------------- folders and their entries
    def list_folders(self) -> None:
        for role, folder in self.folders.items():
            if folder.is_dir():
                self.entries[role] = sorted(folder.iterdir())
            else:
                self.problem(folder, f"missing {self.spec.name} folder for {role} files ({self.phase} phase)")

    def image_names(self, role: str) -> list[str]:
        """Image file names of the person or cloth folder, read as :func:`acgpn.data.pairs.list_images`
        reads them: hidden entries skipped, other image types a problem, other files a warning."""
        names = []
        for path in self.entries.get(role, []):
            if path.name.startswith("."):
                continue
            if path.suffix.lower() in OTHER_IMAGE_EXTENSIONS:
                self.problem(path, f"unsupported image type {path.suffix.lower()} in the {role} folder (expected .jpg, .jpeg or .png images)")
            elif not is_image_name(path.name):
                self.report.warnings.append(f"{path}: not an image (.jpg, .jpeg or .png); infer ignores it")
            elif not path.is_file():
                self.problem(path, f"not a regular file (a folder, pipe, or a broken or looping link) in the {role} folder")
            else:
                names.append(path.name)
        if role == "image":
            for first, other in same_stems(names):
                self.problem(self.folders[role] / other, f"same stem as {first}: they would share label, pose and output files; rename one")
        return names

    def orphans(self, persons: list[str], clothes: list[str]) -> None:
        """Labels / poses without a person image, masks without a cloth image."""
        expected = {
            "label": ({label_name(p) for p in persons}, "person image"),
            "pose": ({pose_name(p) for p in persons}, "person image"),
            "product_mask": (set(clothes), "cloth image"),
        }
        for role, (names, owner) in expected.items():
            for path in self.entries.get(role, []):
                if path.name not in names:
                    self.problem(path, f"unexpected entry in the {role} folder (no matching {owner})")

    # ---------------------------------------------------------------- files
    def image(self, role: str, name: str, what: str) -> Size | None:
        """Decode one image; check its size rules (person, cloth) or ids (label). Returns its size."""
        path = self.folders[role] / name
        img: Image.Image | None = self.attempt(lambda: load_image(path, what))
        if img is None:
            return None
        size = size_hw(img)
        if role in ("image", "cloth"):
            if self.attempt(lambda: check_size(size, path, max_pixels=None)) and role == "image" and size[0] * size[1] > MAX_WORKING_PIXELS:
                self.report.warnings.append(
                    f"{path}: size {format_size(size)} (HxW) is above the working-size cap of {MAX_WORKING_PIXELS:,} "
                    "pixels; infer needs --size HxW (e.g. 256x192) or --max-pixels"
                )
        if role == "label":
            self.attempt(lambda: label_ids(img, path, self.source))
        else:  # the checks build_sample makes
            self.attempt(lambda: check_opaque(img, path, what))
        if role == "product_mask":
            self.attempt(lambda: check_mask_not_empty(img, path))
        return size

    def companion(self, role: str, name: str, owner: str, owner_size: Size | None) -> None:
        """The label / pose of a person image or the mask of a cloth image (``owner``)."""
        if role not in self.entries:
            return
        path = self.folders[role] / name
        if not (path.exists() or path.is_symlink()):
            self.problem(path, f"missing {role} file for {owner}")
        elif role == "pose":
            keypoints = self.attempt(lambda: read_openpose_json(path))
            if keypoints is not None:
                h, w = owner_size or _NO_SIZE
                self.report.warnings.extend(f"{path}: {m}" for m in keypoint_warnings(keypoints, h, w))
        else:
            size = self.image(role, name, f"the {role} of {owner}")
            if size is not None and owner_size is not None and size != owner_size:
                self.problem(path, f"size {format_size(size)} (HxW) differs from {owner} ({format_size(owner_size)})")

    def persons_and_clothes(self, persons: list[str], clothes: list[str]) -> None:
        for person in persons:
            size = self.sizes[("image", person)] = self.image("image", person, "a person image")
            self.companion("label", label_name(person), f"person image {person}", size)
            self.companion("pose", pose_name(person), f"person image {person}", size)
        for cloth in clothes:
            size = self.sizes[("cloth", cloth)] = self.image("cloth", cloth, "a cloth image")
            self.companion("product_mask", cloth, f"cloth image {cloth}", size)

    # ---------------------------------------------------------------- pairs
    def pair_list(self, persons: list[str], pairs: str | Path | None) -> list[tuple[str, Pair]]:
        """``(where, pair)`` from the pair file, or every person with its own cloth."""
        if pairs is None:
            listed = []
            own_cloth = OwnCloths(self.spec, self.folders["cloth"])
            for person in persons:
                cloth = self.attempt(lambda: own_cloth(person))
                if cloth is not None:
                    listed.append((f"{self.folders['image'] / person} (own cloth)", (person, cloth)))
            return listed
        parsed = self.attempt(lambda: read_pair_file(pairs))
        if parsed is None:
            return []
        numbered, bad = parsed
        self.report.problems.extend(f"{pairs}:{number}: {message}" for number, message in bad)
        if not numbered and not bad:
            self.problem(pairs, "pair file lists no pairs")
        return [(f"{pairs}:{number}", pair) for number, pair in numbered]

    def pairs(self, listed: list[tuple[str, Pair]], persons: list[str], clothes: list[str]) -> None:
        """Every pair names existing files of one size, and no two pairs share an output name."""
        person_set, cloth_set = set(persons), set(clothes)
        for at, (person, cloth) in listed:
            if "image" in self.entries and person not in person_set:
                self.problem(at, f"person image {person} not found in {self.folders['image']}")
            if "cloth" in self.entries and cloth not in cloth_set:
                self.problem(at, f"cloth image {cloth} not found in {self.folders['cloth']}")
            ps, cs = self.sizes.get(("image", person)), self.sizes.get(("cloth", cloth))
            if ps is not None and cs is not None and ps != cs:
                self.problem(at, f"person {person} is {format_size(ps)} (HxW) but cloth {cloth} is "
                                 f"{format_size(cs)}; a sample's files must share one size")  # fmt: skip
        plain = [pair for _, pair in listed]
        for i, j in output_clashes(plain):
            self.problem(listed[j][0], f"pair {plain[j][0]} {plain[j][1]} has the same output name "
                                       f"{output_name(*plain[j])} as {listed[i][0]} ({plain[i][0]} {plain[i][1]})")  # fmt: skip


def inspect_dataset(
    root: str | Path,
    dataset_layout: str = "viton",
    phase: str = "test",
    pairs: str | Path | None = None,
    parse_source: str | None = None,
) -> DatasetReport:
    """Every problem and warning of a dataset, with counts for a summary (see the module docstring)."""
    spec = get_layout(dataset_layout)
    source = check_parse_source(parse_source, spec)
    root = Path(root)
    if not root.is_dir():
        return DatasetReport(spec.name, phase, problems=[f"{root}: dataset root folder not found"])
    check = _Inspector(spec, source, root, phase)
    check.list_folders()
    persons, clothes = check.image_names("image"), check.image_names("cloth")
    check.persons_and_clothes(persons, clothes)
    check.orphans(persons, clothes)
    listed = check.pair_list(persons, pairs)
    check.pairs(listed, persons, clothes)
    if not persons and "image" in check.entries:
        check.problem(check.folders["image"], "no person images found")
    report = check.report
    report.persons, report.clothes, report.pairs = len(persons), len(clothes), len(listed)
    report.sizes = sorted({s for (role, _), s in check.sizes.items() if role == "image" and s})
    return report
