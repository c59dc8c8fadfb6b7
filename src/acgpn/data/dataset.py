"""``TryOnDataset``: (person, cloth) pairs of an on-disk dataset -> :class:`~acgpn.data.Sample` dicts.

**Pairing** comes only from a pair file (or an explicit list of ``(person, cloth)`` names); without
one, every person is paired with its own cloth (:func:`~acgpn.data.pairs.paired_list`). Never random
(unlike the official test code, which draws a random cloth index).

**Size rule.** The working size (H, W) is ``size`` if given, else the size of the *first* pair's
person image (so one dataset always yields one size and batches collate); it is checked by
:func:`acgpn.data.size.check_size` (multiples of 16, not 16x16, at most ``max_pixels``). All image
files of one sample (person, label, cloth, cloth mask) must share one native size, else
:class:`InputError` naming the file and both sizes. A sample whose native size differs from the
working size is resized **once** (see :func:`~acgpn.data.sample.build_sample`). The official code
instead resizes twice (width 512 keeping aspect, then to 256x192), which slightly blurs images; a
single resize is the identity at the native size and avoids that.

**Reading** is :func:`acgpn.data.files.load_image` and :func:`acgpn.pose.read_openpose_json` per
file; everything after that (normalisation, labels, pose map) is
:func:`~acgpn.data.sample.build_sample`. Person images sharing a stem (``X.jpg``, ``X.png``)
would share a label, a pose and an output name, and are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch.utils.data import Dataset

from acgpn.data.files import load_image, size_hw
from acgpn.data.layouts import check_parse_source, get_layout, label_name, pose_name, same_stems
from acgpn.data.pairs import Pair, paired_list, read_pairs
from acgpn.data.sample import ROLE_NAMES, Sample, build_sample
from acgpn.data.size import MAX_WORKING_PIXELS, check_size, format_size, parse_size
from acgpn.errors import InputError
from acgpn.pose import read_openpose_json

__all__ = ["TryOnDataset", "check_size", "parse_size"]


class TryOnDataset(Dataset):
    """An on-disk try-on dataset in one of the layouts of :mod:`acgpn.data.layouts`.

    Args:
        root: dataset root folder.
        dataset_layout: ``"viton"`` (ACGPN-VITON), ``"cpvton"`` or ``"vitonhd"``.
        phase: ``"test"``, ``"train"``, ...
        pairs: pair file path, or a sequence of ``(person, cloth)`` file names; ``None``: paired.
        size: working size (H, W), multiples of 16; ``None``: the first person image's size.
        parse_source: label ids stored as ``"acgpn"``, ``"lip"``, ``"cihp"`` or ``"atr"``;
            ``None``: the layout default (viton: acgpn, cpvton: lip, vitonhd: cihp).
        max_pixels: cap on H x W of the working size (``None``: no cap), see :mod:`acgpn.data.size`.
    """

    def __init__(
        self,
        root: str | Path,
        dataset_layout: str = "viton",
        phase: str = "test",
        pairs: str | Path | Sequence[Pair] | None = None,
        size: Sequence[int] | None = None,
        parse_source: str | None = None,
        max_pixels: int | None = MAX_WORKING_PIXELS,
    ) -> None:
        self.root = Path(root)
        self.dataset_layout = get_layout(dataset_layout)
        self.phase = phase
        self.parse_source = check_parse_source(parse_source, self.dataset_layout)
        self.max_pixels = max_pixels
        if not self.root.is_dir():
            raise InputError("dataset root folder not found", self.root)
        self.folders = self.dataset_layout.resolve(self.root, phase)
        if pairs is None:
            self.pairs = paired_list(self.root, self.dataset_layout.name, phase)
        elif isinstance(pairs, (str, Path)):
            self.pairs = read_pairs(pairs)
        else:
            self.pairs = [(str(p), str(c)) for p, c in pairs]
        if not self.pairs:
            raise InputError("no pairs given", self.root)
        self._check_pairs_exist()
        if size is None:
            first = self.folders["image"] / self.pairs[0][0]
            native = size_hw(load_image(first, "a person image"))
            self.size = check_size(native, first, max_pixels)
        else:
            self.size = check_size(size, None, max_pixels)

    def _check_pairs_exist(self) -> None:
        """Fail early (before any decoding) on person images sharing a stem and on absent files."""
        for first, other in same_stems(p for p, _ in self.pairs):
            raise InputError(
                f"person images {first} and {other} share the stem {Path(first).stem}, so they would "
                f"share one label map, pose file and output name; rename one",
                self.folders["image"] / other,
            )
        for role, column in (("image", 0), ("cloth", 1)):
            folder = self.folders[role]
            if not folder.is_dir():
                raise InputError(f"folder not found (expected {self.dataset_layout.name} {role} files)", folder)
            present = {p.name for p in folder.iterdir()}
            for number, pair in enumerate(self.pairs, start=1):
                if pair[column] not in present:
                    raise InputError(
                        f"file not found (pair {number}: {pair[0]} {pair[1]})", folder / pair[column]
                    )

    def __len__(self) -> int:
        return len(self.pairs)

    def paths(self, index: int) -> dict[str, Path]:
        """role -> file path of pair ``index`` (roles ``image label cloth product_mask pose``)."""
        person, cloth = self.pairs[index]
        f = self.folders
        return {
            "image": f["image"] / person,
            "label": f["label"] / label_name(person),
            "cloth": f["cloth"] / cloth,
            "product_mask": f["product_mask"] / cloth,
            "pose": f["pose"] / pose_name(person),
        }

    def __getitem__(self, index: int) -> Sample:
        if not 0 <= index < len(self.pairs):
            raise IndexError(index)
        person, cloth = self.pairs[index]
        paths = self.paths(index)
        owner = {"image": "", "label": f" of {person}", "cloth": "", "product_mask": f" of {cloth}"}
        images = {role: load_image(paths[role], ROLE_NAMES[role] + owner[role]) for role in ROLE_NAMES}
        return build_sample(
            **images,
            keypoints=read_openpose_json(paths["pose"]),
            size=self.size,
            parse_source=self.parse_source,
            person=person,
            cloth_name=cloth,
            sources=paths,
            max_pixels=self.max_pixels,
        )

    def __repr__(self) -> str:
        return (
            f"TryOnDataset({str(self.root)!r}, dataset_layout={self.dataset_layout.name!r}, phase={self.phase!r}, "
            f"{len(self)} pairs, size={format_size(self.size)}, parse_source={self.parse_source!r})"
        )
