"""``TryOnDataset``: (person, cloth) pairs of an on-disk dataset -> :class:`~acgpn.data.Sample` dicts.

**Pairing** comes only from a pair file (or an explicit list of ``(person, cloth)`` names); without
one, every person is paired with its own cloth (:func:`~acgpn.data.pairs.paired_list`). Never random
(unlike the official test code, which draws a random cloth index).

**Size rule.** The working size (H, W) is ``size`` if given, else the size of the *first* pair's
person image (so one dataset always yields one size and batches collate). Both sides must be
multiples of 16 (the U-Nets downsample 4 times), else :class:`InputError`. All image files of
one sample (person, label, cloth, cloth mask) must share one native size, else
:class:`InputError` naming the file and both sizes. A sample whose native size differs from the
working size is resized **once**: images with PIL BICUBIC, labels and masks with NEAREST, keypoints
scaled by (W'/W, H'/H) (undetected points stay put). The official code instead resizes twice
(width 512 keeping aspect, then to 256x192), which slightly blurs images; a single resize is
the identity at the native size and avoids that.

**Normalisation.** Images ``x / 255 * 2 - 1``; labels exact ACGPN ids as float (converted from
``parse_source``, see :mod:`acgpn.data.files`); masks ``x / 255``; the pose map is built from the
scaled keypoints with :func:`acgpn.pose.pose_map` and ``default_radius(H)`` (no resampling blur).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import Dataset

from acgpn.data.files import (
    Size,
    format_size,
    label_ids,
    label_tensor,
    load_image,
    mask_tensor,
    rgb_tensor,
    size_hw,
)
from acgpn.data.layouts import check_parse_source, get_layout, label_name, pose_name
from acgpn.data.pairs import Pair, paired_list, read_pairs
from acgpn.data.sample import Sample
from acgpn.errors import InputError
from acgpn.pose import default_radius, pose_map, read_openpose_json, scale_keypoints


def check_size(size: Sequence[int], source: str | Path | None = None) -> Size:
    """Validate a working size (H, W): two positive multiples of 16."""
    if len(size) != 2 or any(int(s) <= 0 or int(s) % 16 for s in size):
        raise InputError(
            f"working size {tuple(size)} (H, W) must be two positive multiples of 16; "
            f"pass size=(H, W) to resize",
            source,
        )
    return int(size[0]), int(size[1])


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``"256x192"`` (H x W) into a checked working size."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", text)
    if not match:
        raise InputError(f"size must look like HxW (e.g. 256x192), got {text!r}")
    return check_size((int(match.group(1)), int(match.group(2))))


class TryOnDataset(Dataset):
    """An on-disk try-on dataset in one of the layouts of :mod:`acgpn.data.layouts`.

    Args:
        root: dataset root folder.
        layout: ``"viton"`` (ACGPN-VITON), ``"cpvton"`` or ``"vitonhd"``.
        phase: ``"test"``, ``"train"``, ...
        pairs: pair file path, or a sequence of ``(person, cloth)`` file names; ``None``: paired.
        size: working size (H, W), multiples of 16; ``None``: the first person image's size.
        parse_source: label ids stored as ``"acgpn"``, ``"lip"``, ``"cihp"`` or ``"atr"``;
            ``None``: the layout default (viton: acgpn, cpvton: lip, vitonhd: cihp).
    """

    def __init__(
        self,
        root: str | Path,
        layout: str = "viton",
        phase: str = "test",
        pairs: str | Path | Sequence[Pair] | None = None,
        size: Sequence[int] | None = None,
        parse_source: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.layout = get_layout(layout)
        self.phase = phase
        self.parse_source = check_parse_source(parse_source, self.layout)
        self.folders = self.layout.resolve(self.root, phase)
        if pairs is None:
            self.pairs = paired_list(self.root, self.layout.name, phase)
        elif isinstance(pairs, (str, Path)):
            self.pairs = read_pairs(pairs)
        else:
            self.pairs = [(str(p), str(c)) for p, c in pairs]
        if not self.pairs:
            raise InputError("no pairs given", self.root)
        self._check_pairs_exist()
        if size is None:
            first = self.folders["image"] / self.pairs[0][0]
            self.size = check_size(size_hw(load_image(first, "a person image")), first)
        else:
            self.size = check_size(size)

    def _check_pairs_exist(self) -> None:
        """Fail early (before any decoding) if a pair names a person or cloth image that is absent."""
        for role, column in (("image", 0), ("cloth", 1)):
            folder = self.folders[role]
            if not folder.is_dir():
                raise InputError(f"folder not found (expected {self.layout.name} {role} files)", folder)
            present = {p.name for p in folder.iterdir()}
            for number, pair in enumerate(self.pairs, start=1):
                if pair[column] not in present:
                    raise InputError(
                        f"file not found (pair {number}: {pair[0]} {pair[1]})", folder / pair[column]
                    )

    def __len__(self) -> int:
        return len(self.pairs)

    def paths(self, index: int) -> dict[str, Path]:
        """role -> file path of pair ``index`` (roles ``image label cloth edge pose``)."""
        person, cloth = self.pairs[index]
        f = self.folders
        return {
            "image": f["image"] / person,
            "label": f["label"] / label_name(person),
            "cloth": f["cloth"] / cloth,
            "edge": f["edge"] / cloth,
            "pose": f["pose"] / pose_name(person),
        }

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self.pairs):
            raise IndexError(index)
        person, cloth = self.pairs[index]
        paths = self.paths(index)
        what = {
            "image": "a person image",
            "label": f"the label map of {person}",
            "cloth": "a cloth image",
            "edge": f"the cloth mask of {cloth}",
        }
        imgs = {role: load_image(paths[role], what[role]) for role in what}
        native = size_hw(imgs["image"])
        for role, img in imgs.items():
            if size_hw(img) != native:
                raise InputError(
                    f"size {format_size(size_hw(img))} (HxW) differs from the person image "
                    f"{person} ({format_size(native)}); all files of a sample must share one size",
                    paths[role],
                )
        h, w = self.size
        keypoints = read_openpose_json(paths["pose"])
        if native != self.size:
            keypoints = scale_keypoints(keypoints, w / native[1], h / native[0])
        ids = label_ids(imgs["label"], paths["label"], self.parse_source)
        return Sample(
            image=rgb_tensor(imgs["image"], self.size),
            label=label_tensor(ids, self.size),
            cloth=rgb_tensor(imgs["cloth"], self.size),
            edge=mask_tensor(imgs["edge"], self.size),
            pose=pose_map(keypoints, h, w, default_radius(h)),
            keypoints=keypoints,
            person=person,
            cloth_name=cloth,
        )

    def __repr__(self) -> str:
        return (
            f"TryOnDataset({str(self.root)!r}, layout={self.layout.name!r}, phase={self.phase!r}, "
            f"{len(self)} pairs, size={format_size(self.size)}, parse_source={self.parse_source!r})"
        )
