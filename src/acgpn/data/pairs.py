"""Pair files and the default "paired" list: the one parser. Pairing never involves randomness.

A pair file has one ``person_image cloth_image`` pair per line (file names, no folders), the
format of CP-VTON's / VITON-HD's ``test_pairs.txt``. It is UTF-8 (a leading byte-order mark is
ignored); blank lines and ``#`` comments (whole-line or trailing) are ignored; order is
preserved, duplicates are kept. Two different pairs must not share an output name
(:func:`~acgpn.data.layouts.output_name`), see :func:`output_clashes`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from acgpn.data.layouts import IMAGE_EXTENSIONS, DatasetLayout, get_layout, is_image_name, output_name
from acgpn.errors import InputError
from acgpn.fileio import read_text

Pair = tuple[str, str]
NumberedPair = tuple[int, Pair]
#: Extensions of image types we do not read: such a file among the persons is an error, not skipped.
OTHER_IMAGE_EXTENSIONS: Final = frozenset(
    {".bmp", ".gif", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif", ".jp2", ".jxl", ".ppm", ".pgm"}
)


def parse_pairs(text: str) -> tuple[list[NumberedPair], list[tuple[int, str]]]:
    """Parse pair-file text -> (``(line number, pair)`` list, ``(line number, problem)`` list)."""
    pairs: list[NumberedPair] = []
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or any("/" in f or "\\" in f or f in (".", "..") for f in fields):
            problems.append(
                (number, f"expected 'person_image cloth_image' (two file names), got {raw.strip()!r}")
            )
            continue
        pairs.append((number, (fields[0], fields[1])))
    return pairs, problems


def read_pair_file(path: str | Path) -> tuple[list[NumberedPair], list[tuple[int, str]]]:
    """Read and parse a pair file (see :func:`parse_pairs`); :class:`InputError` if unreadable."""
    return parse_pairs(read_text(path, "a pair file ('person_image cloth_image' per line)"))


def read_pairs(path: str | Path) -> list[Pair]:
    """Read a pair file -> ``[(person, cloth), ...]`` in file order; :class:`InputError` if bad."""
    pairs, problems = read_pair_file(path)
    if problems:
        number, message = problems[0]
        raise InputError(message, f"{path}:{number}")
    if not pairs:
        raise InputError("pair file lists no pairs", path)
    return [pair for _, pair in pairs]


def format_pairs(pairs: Sequence[Pair]) -> str:
    """The text of a pair file listing ``pairs``."""
    return "".join(f"{person} {cloth}\n" for person, cloth in pairs)


def output_clashes(pairs: Sequence[Pair]) -> list[tuple[int, int]]:
    """Indices ``(i, j)``, i < j, of *different* pairs with the same output name (``a.jpg``/``a.png``)."""
    seen: dict[str, int] = {}
    clashes = []
    for j, pair in enumerate(pairs):
        name = output_name(*pair)
        i = seen.setdefault(name, j)
        if i != j and pairs[i] != pair:
            clashes.append((i, j))
    return clashes


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:  # broken or looping link, no permission
        return False


def list_images(folder: Path) -> list[str]:
    """Sorted image file names in ``folder`` (hidden entries and non-image files ignored).

    Nothing that looks like an image is skipped silently: an entry with an image extension that is
    not a regular file (a broken or looping link, a folder, a pipe) or of a type we do not read
    (``.webp``, ``.bmp``, ...) is an :class:`InputError`. Raises too if the folder is absent.
    """
    if not folder.is_dir():
        raise InputError("folder not found", folder)
    names = []
    accepted = ", ".join(sorted(IMAGE_EXTENSIONS))
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        suffix = path.suffix.lower()
        if suffix in OTHER_IMAGE_EXTENSIONS:
            raise InputError(f"unsupported image type {suffix} (accepted: {accepted}); convert it or remove it", path)
        if not is_image_name(path.name):
            continue
        if not _is_regular(path):
            raise InputError("not a regular file (a broken or looping link, a folder or a pipe?); "
                             "fix or remove it, or give a pair file", path)  # fmt: skip
        names.append(path.name)
    return names


class OwnCloths:
    """Each person's own cloth file in ``cloth_folder``: the layout's name for it
    (:meth:`DatasetLayout.own_cloth`, which keeps the person's extension) or, when no file has
    that name, the one cloth image with its stem (a ``.png`` person beside ``.jpg`` cloths)."""

    def __init__(self, spec: DatasetLayout, cloth_folder: Path) -> None:
        self.spec, self.folder = spec, cloth_folder
        self._by_stem: dict[str, list[str]] | None = None  # listed on the first miss

    def __call__(self, person: str) -> str:
        name = self.spec.own_cloth(person)
        if (self.folder / name).exists():
            return name
        if self._by_stem is None:
            self._by_stem = {}
            for other in list_images(self.folder) if self.folder.is_dir() else []:
                self._by_stem.setdefault(Path(other).stem, []).append(other)
        found = self._by_stem.get(Path(name).stem, [])
        return found[0] if len(found) == 1 else name


def paired_list(root: str | Path, dataset_layout: str = "viton", phase: str = "test") -> list[Pair]:
    """Every person image (sorted by name) with its own cloth (rule in :mod:`acgpn.data.layouts`,
    found under any image extension: :class:`OwnCloths`)."""
    spec = get_layout(dataset_layout)
    folders = spec.resolve(root, phase)
    folder = folders["image"]
    persons = list_images(folder)
    if not persons:
        raise InputError("no person images found", folder)
    own_cloth = OwnCloths(spec, folders["cloth"])
    pairs = []
    for person in persons:
        try:
            pairs.append((person, own_cloth(person)))
        except InputError as exc:  # name the file by its path, not its bare name
            raise InputError(exc.message, folder / person) from None
    return pairs
