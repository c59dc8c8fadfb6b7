"""Batch inference over a dataset: checked first, resumable, atomic, one writer, batch-size independent.

A run goes in this order, so that bad input costs nothing and leaves nothing behind:

1. **Plan.** The output folder must not be a file, have a file as a parent, or lie inside a
   dataset folder the run reads (or be the dataset root). Each pair's output is
   ``<person stem>__<cloth stem>.png`` (:func:`~acgpn.data.layouts.output_name`); two different
   pairs with one output name are an error, an identical pair listed twice runs once. A pair is
   *done* when its output is a regular PNG file of the working size that decodes completely (and,
   with intermediates, its intermediates folder holds every file); anything else is redone.
2. **Check.** Every pending pair's files are read and turned into a sample once, before anything
   is written: an :class:`~acgpn.errors.InputError` here leaves the output folder untouched.
3. **Write.** The run takes the folder's lock (:func:`acgpn.fileio.folder_lock`: a second run
   into the same folder stops at once with an error), deletes temporaries left by a killed run,
   and writes each pair's intermediates, then its image, atomically. The image is written last,
   so its presence means the pair is complete.

Each pair's noise comes from its own generator seeded by ``seed`` and the pair's names, so an
output does not depend on the batch size, the pair order or an interruption. Errors raised in
DataLoader workers reach the caller as the same one-line :class:`InputError`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from acgpn.data.dataset import TryOnDataset
from acgpn.data.guarded import GuardedDataset, collate_or_failure, first_failure, raise_failure
from acgpn.data.layouts import output_name
from acgpn.data.pairs import Pair, output_clashes
from acgpn.data.size import Size
from acgpn.errors import InputError
from acgpn.distributed import Shard, together, writer_section
from acgpn.fileio import check_folder_target, save_image, save_text, to_uint8_image
from acgpn.labels import colorize
from acgpn.pipeline import NOISE_KEYS, TryOnOutput, TryOnPipeline

__all__ = ["INTERMEDIATE_FILES", "InferenceReport", "output_name", "pair_generator", "pair_noise", "run_inference", "save_intermediates"]

#: Files written per pair by ``--save-intermediates`` (in ``intermediates/<output stem>/``).
INTERMEDIATE_FILES: Final = (
    "layout.png", "layout_ids.png", "final_label.png", "cloth_mask_prob.png", "target_cloth_mask.png",
    "alpha.png", "warped_cloth.png", "refined_cloth.png", "body_image.png", "numbers.json",
)  # fmt: skip
INTERMEDIATES_DIR: Final = "intermediates"


def pair_generator(seed: int, person: str, cloth: str) -> torch.Generator:
    """A CPU generator seeded by ``seed`` and the pair's names (stable across runs and platforms)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(f"{person}|{cloth}".encode())) % 2**63)


def pair_noise(pipe: TryOnPipeline, seed: int, persons: Iterable[str], cloths: Iterable[str], height: int, width: int) -> dict[str, torch.Tensor]:
    """Per-pair noise stacked into a batch (same values whatever the batch composition)."""
    draws = [pipe.sample_noise(1, height, width, pair_generator(seed, p, c)) for p, c in zip(persons, cloths)]
    return {k: torch.cat([d[k] for d in draws]) for k in NOISE_KEYS}


def save_intermediates(folder: Path, out: TryOnOutput, index: int) -> None:
    """Write every intermediate of sample ``index`` into ``folder`` (:data:`INTERMEDIATE_FILES`).

    ``layout_ids.png`` holds G1's layout as single-channel ACGPN ids (the ids of the viton /
    synthetic label maps) and ``target_cloth_mask.png`` the final composed cloth mask M as 0/255,
    so outputs can be scored without the palette; ``layout.png`` and ``final_label.png`` are
    coloured for viewing, the other masks grey levels.
    """
    layout_ids = out.layout_ids[index, 0].round().clamp(0, 255).to(torch.uint8).cpu().numpy()
    save_image(folder / "layout.png", colorize(out.layout_ids[index]))
    save_image(folder / "layout_ids.png", layout_ids)
    save_image(folder / "final_label.png", colorize(out.final_label[index]))
    mask = (out.target_cloth_mask[index, 0] > 0.5).cpu().numpy().astype(np.uint8) * 255
    save_image(folder / "target_cloth_mask.png", mask)
    for name in ("cloth_mask_prob", "alpha"):
        save_image(folder / f"{name}.png", to_uint8_image(getattr(out, name)[index] * 2 - 1))
    for name in ("warped_cloth", "refined_cloth", "body_image"):
        save_image(folder / f"{name}.png", to_uint8_image(getattr(out, name)[index]))
    numbers = {"control_points": out.control_points[index].tolist(), "skin_color": out.skin_color[index].tolist()}
    save_text(folder / "numbers.json", json.dumps(numbers))


@dataclass
class InferenceReport:
    total: int  # distinct outputs of the dataset's pairs
    skipped: int  # already done (resume)
    written: int


# ------------------------------------------------------------------------------------- plan
def check_output_folder(out_dir: Path, dataset: TryOnDataset, intermediates: bool = False) -> None:
    """The output folder can be created and does not lie among the dataset's inputs."""
    check_folder_target(out_dir / INTERMEDIATES_DIR if intermediates else out_dir)
    target = out_dir.resolve()
    if target == dataset.root.resolve():
        raise InputError("output folder is the dataset root; choose a folder outside the dataset's input folders", out_dir)
    for role, folder in dataset.folders.items():
        read = folder.resolve()
        if target == read or read in target.parents:
            raise InputError(f"output folder is inside the dataset's {role} folder {folder}, which this run reads; "
                             "choose a folder outside it", out_dir)  # fmt: skip


def plan_outputs(pairs: Sequence[Pair], folders: dict[str, Path]) -> list[tuple[int, str]]:
    """``(pair index, output name)`` for each distinct pair; :class:`InputError` on a name clash."""
    for i, j in output_clashes(pairs):
        role, column = ("image", 0) if pairs[i][0] != pairs[j][0] else ("cloth", 1)
        raise InputError(
            f"pair {j + 1} ({pairs[j][0]} {pairs[j][1]}) and pair {i + 1} ({pairs[i][0]} {pairs[i][1]}) would "
            f"both be written as {output_name(*pairs[j])}; file names must differ in more than the extension",
            folders[role] / pairs[j][column],
        )
    seen: dict[str, int] = {}
    for index, pair in enumerate(pairs):
        seen.setdefault(output_name(*pair), index)
    return [(index, name) for name, index in seen.items()]


def is_complete(out_dir: Path, name: str, size: Size, intermediates: bool) -> bool:
    """Whether output ``name`` is a regular, fully decodable PNG of ``size`` (and has its intermediates)."""
    path = out_dir / name
    if not path.is_file():
        if path.exists() or path.is_symlink():
            raise InputError("exists and is not a regular file; expected a try-on PNG or nothing", path)
        return False
    try:
        with Image.open(path, formats=("PNG",)) as img:
            if (img.height, img.width) != tuple(size) or img.mode != "RGB":
                return False
            img.load()
    except (OSError, SyntaxError, ValueError):
        return False
    if intermediates:
        folder = out_dir / INTERMEDIATES_DIR / Path(name).stem
        return all((folder / f).is_file() and (folder / f).stat().st_size > 0 for f in INTERMEDIATE_FILES)
    return True


# ------------------------------------------------------------------------------------- loading
def _loader(dataset: Dataset, indices: Sequence[int], batch_size: int, num_workers: int, collate: Callable) -> DataLoader:
    return DataLoader(GuardedDataset(dataset, indices), batch_size=batch_size, shuffle=False, num_workers=num_workers, collate_fn=collate)


# ------------------------------------------------------------------------------------- run
def run_inference(
    pipe: TryOnPipeline,
    dataset: TryOnDataset,
    out_dir: str | Path,
    batch_size: int = 1,
    seed: int = 0,
    intermediates: bool = False,
    num_workers: int = 0,
    progress: Callable[[Iterable], Iterable] | None = None,
    shard: Shard | None = None,
) -> InferenceReport:
    """Try on every pair of ``dataset`` into ``out_dir`` (see the module docstring for the order).

    ``shard`` (under torchrun, :func:`acgpn.distributed.join`): this process runs its share of the
    pending pairs; the report then counts this rank's writes (:meth:`~acgpn.distributed.Shard.finish` merges them).
    """
    out_dir = Path(out_dir)
    check_output_folder(out_dir, dataset, intermediates)
    jobs = plan_outputs(dataset.pairs, dataset.folders)
    pending = [(i, name) for i, name in jobs if not is_complete(out_dir, name, dataset.size, intermediates)]
    if shard is not None:
        pending = shard.select(pending)
    with together(shard):  # under torchrun: bad input on any rank stops all before anything is written
        for batch in _loader(dataset, [i for i, _ in pending], batch_size, num_workers, first_failure):
            raise_failure(batch)  # every input is read once before anything is written
    with writer_section(out_dir, shard, "acgpn infer"):  # the folder's lock; stale temporaries removed
        pending = [(i, name) for i, name in pending if not is_complete(out_dir, name, dataset.size, intermediates)]
        loader = _loader(dataset, [i for i, _ in pending], batch_size, num_workers, collate_or_failure)
        for batch in progress(loader) if progress else loader:
            raise_failure(batch)
            h, w = batch["image"].shape[-2:]
            noise = pair_noise(pipe, seed, batch["person"], batch["cloth_name"], h, w)
            out = pipe(batch, noise=noise)
            for k, (person, cloth) in enumerate(zip(batch["person"], batch["cloth_name"])):
                name = output_name(person, cloth)
                if intermediates:
                    save_intermediates(out_dir / INTERMEDIATES_DIR / Path(name).stem, out, k)
                save_image(out_dir / name, to_uint8_image(out.fake_image[k]))
    return InferenceReport(total=len(jobs), skipped=len(jobs) - len(pending), written=len(pending))
