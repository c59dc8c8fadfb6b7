"""``validate_dataset``: every problem of an on-disk dataset in one pass, one line per problem.

Checked (each line names the offending file, folder or pair-file line):

* the layout's five folders exist (missing folder: one line, its files are then not reported);
* every person has a label map and a pose file, every cloth has a cloth mask;
* no unexpected entries in the layout folders (non-image files among images, labels / poses
  without a person image, masks without a cloth image, sub-folders, hidden files);
* every image decodes completely (truncated or corrupt files are reported);
* person and cloth image sides are multiples of 16; a label has its person's size, a mask its
  cloth's size, and a pair's person and cloth share one size;
* label maps are mode L or P and hold valid ids for ``parse_source`` (ACGPN: not 2 or 3, < 14);
* pose files are OpenPose JSON with 18 (COCO) or 25 (BODY_25) keypoints;
* the pair file exists, every line is ``person_image cloth_image``, and names existing files
  (without a pair file: every person's own cloth exists).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from acgpn.data.files import Size, format_size, label_ids, load_image, size_hw
from acgpn.data.layouts import (
    check_parse_source,
    get_layout,
    is_image_name,
    label_name,
    pose_name,
)
from acgpn.data.pairs import Pair, parse_pairs
from acgpn.errors import InputError
from acgpn.pose import read_openpose_json

T = TypeVar("T")


def _attempt(problems: list[str], fn: Callable[[], T]) -> T | None:
    """Run ``fn``; an :class:`InputError` becomes a problem line and ``None``."""
    try:
        return fn()
    except InputError as exc:
        problems.append(str(exc))
        return None


def _read_pair_file(path: Path, problems: list[str]) -> list[tuple[int, Pair]]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: pair file not readable ({exc.__class__.__name__})")
        return []
    pairs, bad = parse_pairs(text)
    problems.extend(f"{path}:{number}: {message}" for number, message in bad)
    if not pairs and not bad:
        problems.append(f"{path}: pair file lists no pairs")
    return pairs


def validate_dataset(
    root: str | Path,
    layout: str = "viton",
    phase: str = "test",
    pairs: str | Path | None = None,
    parse_source: str | None = None,
) -> list[str]:
    """All problems found in the dataset (empty list: clean). See the module docstring."""
    problems, _ = inspect_dataset(root, layout, phase, pairs, parse_source)
    return problems


def inspect_dataset(
    root: str | Path,
    layout: str = "viton",
    phase: str = "test",
    pairs: str | Path | None = None,
    parse_source: str | None = None,
) -> tuple[list[str], dict[str, object]]:
    """Like :func:`validate_dataset`, plus counts for a summary (persons, clothes, pairs, sizes)."""
    spec = get_layout(layout)
    source = check_parse_source(parse_source, spec)
    root = Path(root)
    problems: list[str] = []
    if not root.is_dir():
        return [f"{root}: dataset root folder not found"], {}
    folders = spec.resolve(root, phase)
    entries: dict[str, list[Path]] = {}
    for role, folder in folders.items():
        if folder.is_dir():
            entries[role] = sorted(folder.iterdir())
        else:
            problems.append(f"{folder}: missing {spec.name} folder for {role} files ({phase} phase)")

    def images_of(role: str) -> list[str]:
        names = []
        for path in entries.get(role, []):
            if path.is_file() and is_image_name(path.name) and not path.name.startswith("."):
                names.append(path.name)
            else:
                problems.append(f"{path}: unexpected entry in the {role} folder (expected images)")
        return names

    persons, clothes = images_of("image"), images_of("cloth")
    sizes: dict[tuple[str, str], Size | None] = {}

    def check_image(role: str, name: str, what: str) -> Size | None:
        path = folders[role] / name
        img = _attempt(problems, lambda: load_image(path, what))
        if img is None:
            return None
        size = size_hw(img)
        if role in ("image", "cloth") and (size[0] % 16 or size[1] % 16):
            problems.append(f"{path}: size {format_size(size)} (HxW) is not a multiple of 16")
        if role == "label":
            _attempt(problems, lambda: label_ids(img, path, source))
        return size

    def check_companion(role: str, name: str, owner: str, owner_size: Size | None) -> None:
        """Check the label / pose of a person image or the mask of a cloth image (``owner``)."""
        if role not in entries:
            return
        path = folders[role] / name
        if not path.is_file():
            problems.append(f"{path}: missing {role} file for {owner}")
        elif role == "pose":
            _attempt(problems, lambda: read_openpose_json(path))
        else:
            size = check_image(role, name, f"the {role} of {owner}")
            if size is not None and owner_size is not None and size != owner_size:
                problems.append(
                    f"{path}: size {format_size(size)} (HxW) differs from {owner} "
                    f"({format_size(owner_size)})"
                )

    for person in persons:
        size = sizes[("image", person)] = check_image("image", person, "a person image")
        check_companion("label", label_name(person), f"person image {person}", size)
        check_companion("pose", pose_name(person), f"person image {person}", size)
    for cloth in clothes:
        size = sizes[("cloth", cloth)] = check_image("cloth", cloth, "a cloth image")
        check_companion("edge", cloth, f"cloth image {cloth}", size)

    expected = {
        "label": {label_name(p) for p in persons},
        "pose": {pose_name(p) for p in persons},
        "edge": set(clothes),
    }
    owner = {"label": "person image", "pose": "person image", "edge": "cloth image"}
    for role, names in expected.items():
        for path in entries.get(role, []):
            if path.name not in names:
                problems.append(
                    f"{path}: unexpected entry in the {role} folder (no matching {owner[role]})"
                )

    if pairs is None:
        pair_list = []
        for person in persons:
            cloth = _attempt(problems, lambda: spec.own_cloth(person))
            if cloth is not None:
                pair_list.append((person, cloth))
        where = [f"{folders['image'] / p} (own cloth)" for p, _ in pair_list]
    else:
        numbered = _read_pair_file(Path(pairs), problems)
        pair_list = [pair for _, pair in numbered]
        where = [f"{pairs}:{number}" for number, _ in numbered]
    person_set, cloth_set = set(persons), set(clothes)
    for (person, cloth), at in zip(pair_list, where):
        if "image" in entries and person not in person_set:
            problems.append(f"{at}: person image {person} not found in {folders['image']}")
        if "cloth" in entries and cloth not in cloth_set:
            problems.append(f"{at}: cloth image {cloth} not found in {folders['cloth']}")
        ps, cs = sizes.get(("image", person)), sizes.get(("cloth", cloth))
        if ps is not None and cs is not None and ps != cs:
            problems.append(
                f"{at}: person {person} is {format_size(ps)} (HxW) but cloth {cloth} is "
                f"{format_size(cs)}; a sample's files must share one size"
            )
    person_sizes = sorted({s for (role, _), s in sizes.items() if role == "image" and s})
    summary: dict[str, object] = {
        "persons": len(persons),
        "clothes": len(clothes),
        "pairs": len(pair_list),
        "sizes": person_sizes,
        "layout": spec.name,
        "phase": phase,
    }
    if not persons and "image" in entries:
        problems.append(f"{folders['image']}: no person images found")
    return problems, summary
