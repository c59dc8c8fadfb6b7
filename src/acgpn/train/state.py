"""Training checkpoints: ``RUN/checkpoints/{latest,step_N}/``, each a complete, loadable folder.

::

    model.safetensors + config.json     the four generators (acgpn.checkpoints.save_pretrained):
                                        TryOnPipeline.from_pretrained / acgpn infer --checkpoint
    discriminators/                     the stage's discriminators in the same format (model.safetensors
                                        + config.json; checkpoints.load_pretrained(dir, ("d1", ...)))
    training_state.pt                   step, optimisers, schedulers, AMP scaler, RNG states
                                        (torch, CUDA, NumPy, Python), data position; weights_only-loadable

A checkpoint is written into a temporary folder (each file itself atomically) and renamed into
place; ``latest`` is replaced by renaming the old one aside first, so a crash at any moment leaves
either the old or the new ``latest``; :func:`find_latest` picks the newest complete folder (``latest``,
the set-aside copy, or a ``step_N`` renamed into place just before the crash).
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from torch import nn

from acgpn import checkpoints
from acgpn.errors import InputError
from acgpn.fileio import atomic_path
from acgpn.nets.discriminator import MultiscaleDiscriminator

CHECKPOINTS_DIR: Final = "checkpoints"
LATEST: Final = "latest"
_ASIDE: Final = ".latest-previous"
DISCRIMINATORS_DIR: Final = "discriminators"
STATE_FILE: Final = "training_state.pt"
#: What a training state holds (see :meth:`acgpn.train.Trainer._state`).
STATE_KEYS: Final = ("step", "optimizer_g", "optimizer_d", "scheduler_g", "scheduler_d", "scaler", "rng")
UNREADABLE_STATE: Final = "not a readable training state (truncated or corrupt?)"


# ----------------------------------------------------------------------------- RNG
def rng_state() -> dict[str, Any]:
    """Every global RNG state (torch CPU and CUDA, NumPy, Python), as weights_only-loadable values."""
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},  # fmt: skip
        "python": list(random.getstate()[1]) + [random.getstate()[2]],
        "python_version": random.getstate()[0],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore :func:`rng_state`."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    py = state["python"]
    random.setstate((state["python_version"], tuple(py[:-1]), py[-1]))


# ----------------------------------------------------------------------------- write
def _write_folder(folder: Path, nets: dict[str, nn.Module], options: dict[str, Any],
                  discriminators: dict[str, MultiscaleDiscriminator], state: dict[str, Any]) -> None:  # fmt: skip
    checkpoints.save_pretrained(folder, nets, options)
    checkpoints.save_pretrained(folder / DISCRIMINATORS_DIR, discriminators, {})
    with atomic_path(folder / STATE_FILE) as tmp:
        torch.save(state, tmp)


def _link_or_copy(src: Path, dst: Path) -> None:
    """A copy of folder ``src`` made of hard links (copies where links are not possible)."""
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_dir():
            _link_or_copy(f, dst / f.name)
            continue
        try:
            os.link(f, dst / f.name)
        except OSError:
            shutil.copy2(f, dst / f.name)


def save_checkpoint(
    run_dir: str | Path,
    step: int,
    nets: dict[str, nn.Module],
    options: dict[str, Any],
    discriminators: dict[str, MultiscaleDiscriminator],
    state: dict[str, Any],
    keep_step: bool,
) -> Path:
    """Write ``latest`` (and ``step_N`` when ``keep_step``) atomically; returns ``latest``'s path."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-step_{step}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    _write_folder(tmp, nets, options, discriminators, state)
    if keep_step:
        step_dir = root / f"step_{step}"
        shutil.rmtree(step_dir, ignore_errors=True)  # a re-run of the same step after a resume
        os.rename(tmp, step_dir)
        _link_or_copy(step_dir, tmp)
    latest, aside = root / LATEST, root / _ASIDE
    shutil.rmtree(aside, ignore_errors=True)
    if latest.exists():
        os.rename(latest, aside)
    os.rename(tmp, latest)
    shutil.rmtree(aside, ignore_errors=True)
    return latest


# ----------------------------------------------------------------------------- read
def _saved_step(folder: Path) -> int:
    """The step a checkpoint folder holds (-1 when its state file cannot be read)."""
    try:
        return int(torch.load(folder / STATE_FILE, map_location="cpu", weights_only=True, mmap=True)["step"])
    except Exception:  # noqa: BLE001 - a torn or foreign file is simply not a candidate
        return -1


@dataclass(frozen=True)
class RunCheckpoints:
    """What :func:`scan` found in ``RUN/checkpoints``."""

    latest: Path | None  # the newest checkpoint whose training state loads
    unreadable: tuple[Path, ...]  # training_state.pt files of the candidates that do not load
    holds_run: bool  # some checkpoint folder has a training_state.pt (readable or not)


def scan(run_dir: str | Path) -> RunCheckpoints:
    """Find the newest complete checkpoint of a run (see :func:`find_latest`) and note the state
    files that exist but cannot be read (truncated or corrupt)."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    named = [root / LATEST, root / _ASIDE]
    numbered = sorted(root.glob("step_*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else -1, reverse=True)
    best, best_step, unreadable = None, -1, []
    for folder in [*named, *numbered[:1]]:
        if not (folder / STATE_FILE).is_file():
            continue
        step = _saved_step(folder)
        if step < 0:
            unreadable.append(folder / STATE_FILE)
        elif step > best_step:
            best, best_step = folder, step
    holds_run = best is not None or bool(unreadable) or any((f / STATE_FILE).is_file() for f in numbered)
    return RunCheckpoints(best, tuple(unreadable), holds_run)


def find_latest(run_dir: str | Path) -> Path | None:
    """The newest complete checkpoint of a run, else None.

    Normally ``RUN/checkpoints/latest``; after a crash between renames it is the set-aside copy or
    a ``step_N`` folder that was renamed into place before ``latest`` could be.
    """
    return scan(run_dir).latest


def load_discriminators(folder: str | Path) -> dict[str, MultiscaleDiscriminator]:
    """Rebuild and load the discriminators of a training checkpoint."""
    folder = Path(folder) / DISCRIMINATORS_DIR
    nets, _ = checkpoints.load_pretrained(folder, tuple(checkpoints.read_config(folder)["nets"]))
    return nets  # type: ignore[return-value]


def load_training_state(folder: str | Path) -> dict[str, Any]:
    """``training_state.pt`` of a checkpoint (loaded with ``weights_only=True``, on the CPU); an
    :class:`InputError` naming the file when it is missing, unreadable or not a training state."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        raise InputError("file not found (expected the training state that acgpn train saves)", path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unpickling failure means a corrupt file
        raise InputError(UNREADABLE_STATE, path) from None
    missing = [k for k in STATE_KEYS if not isinstance(saved, dict) or k not in saved]
    if missing:
        raise InputError(f"not a training state of acgpn train (missing {', '.join(missing)})", path)
    return saved
