"""The three on-disk dataset layouts and their file-naming rules: the one table of folder names.

Root ``R``, phase ``p`` (``"test"``, ``"train"``, ...). Roles: ``image`` (person), ``label``
(parsing map), ``cloth`` (product image, official name "color"), ``product_mask`` (cloth mask E, official name "edge"), ``pose``.

::

    role    viton (ACGPN-VITON)            cpvton (CP-VTON)               vitonhd (VITON-HD)
    image   R/p_img/X_0.jpg                R/p/image/X_0.jpg              R/p/image/X_00.jpg
    label   R/p_label/X_0.png              R/p/image-parse/X_0.png        R/p/image-parse-v3/X_00.png
    cloth   R/p_color/Y_1.jpg              R/p/cloth/Y_1.jpg              R/p/cloth/Y_00.jpg
    mask    R/p_edge/Y_1.jpg               R/p/cloth-mask/Y_1.jpg         R/p/cloth-mask/Y_00.jpg
    pose    R/p_pose/X_0_keypoints.json    R/p/pose/X_0_keypoints.json    R/p/openpose_json/X_00_keypoints.json
    ids     ACGPN ids ("acgpn")            LIP 20 classes ("lip")         CIHP 20 classes ("cihp")

Naming rules shared by all layouts: the label is ``<person stem>.png``, the pose is
``<person stem>_keypoints.json``, the cloth mask has exactly the cloth image's file name.
VITON-HD's label folder falls back to ``image-parse`` when ``image-parse-v3`` does not exist.
A try-on result of person ``X`` wearing cloth ``Y`` is named ``<X stem>__<Y stem>.png``
(:func:`output_name`; the synthetic ground truth uses the same rule). Person images that share a
stem (``X.jpg`` and ``X.png``) would share their label, pose and output files, so they are an error.

A person's *own* cloth (the default "paired" pairing): ``viton`` and ``cpvton`` replace the
trailing ``_0`` of the person stem by ``_1`` (``000001_0.jpg`` -> ``000001_1.jpg``, VITON
naming); ``vitonhd`` uses the same file name (``00000_00.jpg`` -> ``00000_00.jpg``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from acgpn.errors import InputError

ROLES: Final = ("image", "label", "cloth", "product_mask", "pose")
#: File extensions accepted for person and cloth images (case-insensitive).
IMAGE_EXTENSIONS: Final = frozenset({".jpg", ".jpeg", ".png"})
#: Accepted ``parse_source`` values: ids already ACGPN, or a parser's classes to convert.
PARSE_SOURCES: Final = ("acgpn", "lip", "cihp", "atr")


@dataclass(frozen=True)
class DatasetLayout:
    """One dataset layout: folder templates per role and the naming rules above."""

    name: str
    #: role -> candidate folders relative to the root (``{phase}`` substituted); first existing wins.
    folders: dict[str, tuple[str, ...]]
    #: default ``parse_source`` of the label maps.
    parse_source: str
    #: (person stem suffix, cloth stem suffix) for the own-cloth rule; ``None``: same file name.
    own_cloth_suffixes: tuple[str, str] | None

    def resolve(self, root: str | Path, phase: str) -> dict[str, Path]:
        """role -> folder path: the first candidate that exists, else the first candidate."""
        root = Path(root)
        out = {}
        for role, candidates in self.folders.items():
            paths = [root / c.format(phase=phase) for c in candidates]
            out[role] = next((p for p in paths if p.is_dir()), paths[0])
        return out

    def folder(self, root: str | Path, phase: str, role: str) -> Path:
        """The preferred (first) folder of ``role``: where a writer puts its files."""
        return Path(root) / self.folders[role][0].format(phase=phase)

    def own_cloth(self, person: str) -> str:
        """The cloth file name paired with ``person`` by default (see the module docstring)."""
        if self.own_cloth_suffixes is None:
            return person
        old, new = self.own_cloth_suffixes
        path = Path(person)
        if not path.stem.endswith(old):
            raise InputError(
                f"cannot derive the person's own cloth: {self.name} person images are named "
                f"<id>{old}{path.suffix or '.jpg'} (or give a pair file)",
                person,
            )
        return path.stem[: -len(old)] + new + path.suffix


def label_name(person: str) -> str:
    """Label map file name of a person image: ``<stem>.png``."""
    return Path(person).stem + ".png"


def pose_name(person: str) -> str:
    """OpenPose file name of a person image: ``<stem>_keypoints.json``."""
    return Path(person).stem + "_keypoints.json"


def output_name(person: str, cloth: str, suffix: str = ".png") -> str:
    """``000001_0.jpg`` + ``000007_1.jpg`` -> ``000001_0__000007_1.png`` (results, ground truth)."""
    return f"{Path(person).stem}__{Path(cloth).stem}{suffix}"


def same_stems(names: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs ``(first, other)`` of distinct file names sharing a stem (``a.jpg``, ``a.png``), sorted."""
    first: dict[str, str] = {}
    clashes = []
    for name in sorted(set(names)):
        stem = Path(name).stem
        if stem in first:
            clashes.append((first[stem], name))
        else:
            first[stem] = name
    return clashes


def is_image_name(name: str) -> bool:
    """Whether ``name`` has an accepted image extension."""
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


LAYOUTS: Final[dict[str, DatasetLayout]] = {
    "viton": DatasetLayout(
        "viton",
        {
            "image": ("{phase}_img",),
            "label": ("{phase}_label",),
            "cloth": ("{phase}_color",),
            "product_mask": ("{phase}_edge",),
            "pose": ("{phase}_pose",),
        },
        "acgpn",
        ("_0", "_1"),
    ),
    "cpvton": DatasetLayout(
        "cpvton",
        {
            "image": ("{phase}/image",),
            "label": ("{phase}/image-parse",),
            "cloth": ("{phase}/cloth",),
            "product_mask": ("{phase}/cloth-mask",),
            "pose": ("{phase}/pose",),
        },
        "lip",
        ("_0", "_1"),
    ),
    "vitonhd": DatasetLayout(
        "vitonhd",
        {
            "image": ("{phase}/image",),
            "label": ("{phase}/image-parse-v3", "{phase}/image-parse"),
            "cloth": ("{phase}/cloth",),
            "product_mask": ("{phase}/cloth-mask",),
            "pose": ("{phase}/openpose_json",),
        },
        "cihp",
        None,
    ),
}


def get_layout(name: str) -> DatasetLayout:
    """The :class:`DatasetLayout` called ``name`` (``viton``, ``cpvton`` or ``vitonhd``)."""
    try:
        return LAYOUTS[name.lower()]
    except KeyError:
        raise InputError(f"unknown layout {name!r}; expected one of {sorted(LAYOUTS)}") from None


def check_parse_source(source: str | None, dataset_layout: DatasetLayout) -> str:
    """Resolve ``parse_source`` (``None`` -> the layout's default) and check it is known."""
    key = dataset_layout.parse_source if source is None else source.lower()
    if key not in PARSE_SOURCES:
        raise InputError(f"unknown parse_source {source!r}; expected one of {list(PARSE_SOURCES)}")
    return key
