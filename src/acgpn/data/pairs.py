"""Pair files and the default "paired" list. Pairing never involves randomness.

A pair file has one ``person_image cloth_image`` pair per line (file names, no folders), the
format of CP-VTON's / VITON-HD's ``test_pairs.txt``. Blank lines and ``#`` comments (whole-line or
trailing) are ignored; order is preserved, duplicates are kept.
"""

from __future__ import annotations

from pathlib import Path

from acgpn.data.layouts import get_layout, is_image_name
from acgpn.errors import InputError

Pair = tuple[str, str]


def parse_pairs(text: str) -> tuple[list[tuple[int, Pair]], list[tuple[int, str]]]:
    """Parse pair-file text -> (``(line number, pair)`` list, ``(line number, problem)`` list)."""
    pairs: list[tuple[int, Pair]] = []
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) != 2 or any("/" in f or "\\" in f for f in fields):
            problems.append(
                (number, f"expected 'person_image cloth_image' (two file names), got {raw.strip()!r}")
            )
            continue
        pairs.append((number, (fields[0], fields[1])))
    return pairs, problems


def read_pairs(path: str | Path) -> list[Pair]:
    """Read a pair file -> ``[(person, cloth), ...]`` in file order; :class:`InputError` if bad."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError("pair file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"unreadable pair file ({exc.__class__.__name__})", path) from None
    pairs, problems = parse_pairs(text)
    if problems:
        number, message = problems[0]
        raise InputError(message, f"{path}:{number}")
    if not pairs:
        raise InputError("pair file lists no pairs", path)
    return [pair for _, pair in pairs]


def list_images(folder: Path) -> list[str]:
    """Sorted image file names (accepted extensions) in ``folder``; :class:`InputError` if absent."""
    if not folder.is_dir():
        raise InputError("folder not found", folder)
    return sorted(p.name for p in folder.iterdir() if p.is_file() and is_image_name(p.name))


def paired_list(root: str | Path, layout: str = "viton", phase: str = "test") -> list[Pair]:
    """Every person image (sorted by name) with its own cloth (rule in :mod:`acgpn.data.layouts`)."""
    spec = get_layout(layout)
    folder = spec.resolve(root, phase)["image"]
    persons = list_images(folder)
    if not persons:
        raise InputError("no person images found", folder)
    return [(p, spec.own_cloth(p)) for p in persons]
