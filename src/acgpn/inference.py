"""Batch inference over a dataset: resumable, atomic, batch-size independent.

Each pair's noise comes from its own generator seeded by ``seed`` and the pair's names, so an
output does not depend on the batch size, the pair order or an interruption. Outputs are named
``<person stem>__<cloth stem>.png``; a pair whose output exists is skipped (resume). The final
image of a pair is written last, so its presence means the pair is complete.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from acgpn.fileio import save_image, save_text, to_uint8_image
from acgpn.labels import colorize
from acgpn.pipeline import NOISE_KEYS, TryOnOutput, TryOnPipeline


def output_name(person: str, cloth: str, suffix: str = ".png") -> str:
    """``000001_0.jpg`` + ``000007_1.jpg`` -> ``000001_0__000007_1.png``."""
    return f"{Path(person).stem}__{Path(cloth).stem}{suffix}"


def pair_generator(seed: int, person: str, cloth: str) -> torch.Generator:
    """A CPU generator seeded by ``seed`` and the pair's names (stable across runs and platforms)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + zlib.crc32(f"{person}|{cloth}".encode())) % 2**63)


def pair_noise(pipe: TryOnPipeline, seed: int, persons: Iterable[str], cloths: Iterable[str], height: int, width: int) -> dict[str, torch.Tensor]:
    """Per-pair noise stacked into a batch (same values whatever the batch composition)."""
    draws = [pipe.sample_noise(1, height, width, pair_generator(seed, p, c)) for p, c in zip(persons, cloths)]
    return {k: torch.cat([d[k] for d in draws]) for k in NOISE_KEYS}


def save_intermediates(folder: Path, out: TryOnOutput, index: int) -> None:
    """Write every intermediate of sample ``index`` into ``folder`` (PNGs + a JSON of the numbers)."""
    folder.mkdir(parents=True, exist_ok=True)
    save_image(folder / "layout.png", colorize(out.layout[index]))
    save_image(folder / "final_label.png", colorize(out.final_label[index]))
    for name in ("cloth_mask_prob", "cloth_mask", "alpha"):
        save_image(folder / f"{name}.png", to_uint8_image(getattr(out, name)[index] * 2 - 1))
    for name in ("warped_cloth", "refined_cloth", "body_image"):
        save_image(folder / f"{name}.png", to_uint8_image(getattr(out, name)[index]))
    numbers = {"control_points": out.control_points[index].tolist(), "skin_color": out.skin_color[index].tolist()}
    save_text(folder / "numbers.json", json.dumps(numbers))


@dataclass
class InferenceReport:
    total: int
    skipped: int
    written: int


def run_inference(
    pipe: TryOnPipeline,
    dataset: Dataset,
    out_dir: str | Path,
    batch_size: int = 1,
    seed: int = 0,
    intermediates: bool = False,
    num_workers: int = 0,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> InferenceReport:
    """Try on every pair of ``dataset`` (which yields :class:`~acgpn.data.Sample`) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = dataset.pairs  # type: ignore[attr-defined]
    todo = [i for i, (p, c) in enumerate(pairs) if not (out_dir / output_name(p, c)).exists()]
    loader = DataLoader(Subset(dataset, todo), batch_size=batch_size, shuffle=False, num_workers=num_workers)
    batches = progress(loader) if progress else loader
    for batch in batches:
        h, w = batch["image"].shape[-2:]
        noise = pair_noise(pipe, seed, batch["person"], batch["cloth_name"], h, w)
        out = pipe(batch, noise=noise)
        for i, (person, cloth) in enumerate(zip(batch["person"], batch["cloth_name"])):
            name = output_name(person, cloth)
            if intermediates:
                save_intermediates(out_dir / "intermediates" / Path(name).stem, out, i)
            save_image(out_dir / name, to_uint8_image(out.fake_image[i]))
    return InferenceReport(total=len(pairs), skipped=len(pairs) - len(todo), written=len(todo))
