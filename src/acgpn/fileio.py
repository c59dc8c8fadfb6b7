"""File input and output with clean failures: never hang on a pipe, never leave a half-written file.

* **Reading** (:func:`read_bytes`, :func:`read_text`): regular files only — a folder, FIFO, socket
  or device is refused without blocking (the file is opened non-blocking and checked with
  ``fstat``); a missing, unreadable or looping path is an :class:`~acgpn.errors.InputError`
  naming it. Text is UTF-8, a leading byte-order mark is dropped.
* **Writing** (:func:`atomic_path`, :func:`save_image`, :func:`save_text`): into a hidden temporary
  ``.<name>.<8 hex>.tmp`` beside the target, renamed over it on success and deleted on failure.
  The temporary name never ends in the final suffix (so ``glob("*.png")`` never sees it), and it is
  created with mode ``0o666`` minus the process umask, like any ordinary file.
  :func:`remove_stale_temps` deletes the leftovers of a killed process.
* **Folders** (:func:`check_folder_target`, :func:`ensure_dir`): a path that is a file, or has a
  file as an ancestor, is an :class:`InputError` naming that file. :func:`folder_lock` makes one process at a time the writer
  of a folder (an advisory lock on ``.acgpn.lock``, released by the OS when the process dies).
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import numpy as np
import torch
from PIL import Image

from acgpn.errors import InputError

TEMP_SUFFIX: Final = ".tmp"
#: Our temporary names, current (``.<name>.<8 hex>.tmp``) and of earlier versions (``...tmp.png``).
_TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[A-Za-z0-9]{1,5})?$")
LOCK_NAME: Final = ".acgpn.lock"


def _reason(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def read_bytes(path: str | Path, what: str) -> bytes:
    """The bytes of a regular file; :class:`InputError` naming ``path`` and ``what`` otherwise."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError(f"file not found (expected {what})", path) from None
    except OSError as exc:
        raise InputError(f"unreadable file, expected {what} ({_reason(exc)})", path) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a pipe, socket or device)"
        raise InputError(f"{kind}; expected {what} as a regular file", path)
    with os.fdopen(fd, "rb") as handle:
        try:
            return handle.read()
        except OSError as exc:
            raise InputError(f"unreadable file, expected {what} ({_reason(exc)})", path) from None


def read_text(path: str | Path, what: str) -> str:
    """A regular UTF-8 text file (a leading byte-order mark dropped); :class:`InputError` otherwise."""
    try:
        return read_bytes(path, what).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start}); expected {what}", path) from None


def check_folder_target(path: str | Path) -> Path:
    """Check that folder ``path`` exists or could be created: no file in the way (nothing is created)."""
    path = Path(path)
    for ancestor in (path, *path.parents):
        if ancestor.is_dir():
            break
        if ancestor.exists() or ancestor.is_symlink():
            where = "" if ancestor == path else f" (needed as a parent folder of {path})"
            raise InputError(f"exists and is not a folder{where}", ancestor)
    return path


def check_file_target(path: str | Path) -> Path:
    """Check that file ``path`` could be written: not a folder, no file in the way of its folder
    (nothing is created). For outputs checked before the work that leads to them."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder; expected a file to write here", path)
    check_folder_target(path.parent)
    return path


def ensure_dir(path: str | Path) -> Path:
    """Create folder ``path`` (and its parents) if needed; :class:`InputError` if a file is in the way."""
    path = check_folder_target(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create this folder ({_reason(exc)})", path) from None
    return path


def _create_temp(path: Path) -> Path:
    """A new empty hidden file beside ``path``, created with mode 0o666 & ~umask."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name[:200]}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"cannot write here ({_reason(exc)})", path.parent) from None
        return tmp
    raise InputError("cannot create a temporary file (100 names taken)", path.parent)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path``, else delete it."""
    path = Path(path)
    ensure_dir(path.parent)
    tmp = _create_temp(path)
    mode = stat.S_IMODE(os.stat(tmp).st_mode)  # 0o666 & ~umask
    try:
        yield tmp
        os.chmod(tmp, mode)  # a writer that replaced the file (e.g. safetensors: 0o600) gets it back
        try:
            os.replace(tmp, path)
        except IsADirectoryError:
            raise InputError("is a folder; expected a file to write here", path) from None
    finally:
        tmp.unlink(missing_ok=True)


def remove_stale_temps(folder: str | Path, recursive: bool = True) -> int:
    """Delete temporary files left in ``folder`` by a killed writer; returns how many.

    Call it only while holding :func:`folder_lock` (a live writer's temporaries look the same).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    found = folder.rglob(".*" + TEMP_SUFFIX + "*") if recursive else folder.glob(".*" + TEMP_SUFFIX + "*")
    removed = 0
    for path in found:
        if _TEMP_NAME.match(path.name) and path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _try_lock(fd: int) -> bool:
    """Non-blocking exclusive lock on an open file; ``False`` if another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


@contextmanager
def folder_lock(folder: str | Path, command: str = "acgpn") -> Iterator[Path]:
    """Hold an exclusive advisory lock on ``folder/.acgpn.lock`` (created, never deleted).

    A second process asking for it gets an :class:`InputError` at once, not a wait. The OS drops
    the lock when the holder exits, even after SIGKILL, so a lock is never stale.
    """
    folder = ensure_dir(folder)
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise InputError(f"cannot create the lock file ({_reason(exc)})", path) from None
    try:
        if not _try_lock(fd):
            raise InputError(
                f"another {command} process is writing into this folder (it holds {LOCK_NAME}); "
                "wait for it to finish or choose another output folder",
                folder,
            )
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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
    """Atomically write a UTF-8 text file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def to_uint8_image(x: torch.Tensor) -> np.ndarray:
    """(3, H, W) or (1, H, W) tensor in [-1, 1] -> (H, W, 3) / (H, W) uint8 (rounded)."""
    arr = ((x.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    arr = arr.numpy()
    return arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
