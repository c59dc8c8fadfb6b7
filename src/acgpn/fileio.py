"""Atomic file writing: never leave a half-written output or checkpoint behind."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, else delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


def save_image(path: str | Path, array: np.ndarray, quality: int = 95) -> Path:
    """Atomically write a uint8 (H, W) or (H, W, 3) array; format from the suffix (JPEG at ``quality``)."""
    path = Path(path)
    image = Image.fromarray(np.ascontiguousarray(array))
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    with atomic_path(path) as tmp:
        if fmt == "JPEG":
            image.save(tmp, format=fmt, quality=quality)
        else:
            image.save(tmp, format=fmt)
    return path


def save_text(path: str | Path, text: str) -> Path:
    """Atomically write a text file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def to_uint8_image(x) -> np.ndarray:
    """(3, H, W) or (1, H, W) tensor in [-1, 1] -> (H, W, 3) / (H, W) uint8 (rounded)."""
    arr = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    arr = arr.numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
