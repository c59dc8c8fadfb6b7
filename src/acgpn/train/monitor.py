"""Seeing a run train: ``RUN/metrics.jsonl``, TensorBoard scalars, image grids (rank 0 only).

* ``metrics.jsonl``: one JSON object per logged step (``step``, ``epoch``, ``lr``, ``samples_per_s``
  and every loss term, averaged over the steps since the last line). On ``--resume``, lines after
  the checkpoint's step (written by the interrupted run) are dropped first, and so is a torn last
  line (a kill during the append); any other unreadable line is an :class:`~acgpn.errors.InputError`.
* TensorBoard (optional extra ``train``): the same scalars under ``RUN/tensorboard``.
* ``RUN/images/step_N.png``: rows of person | cloth | layout | warped cloth | try-on | target,
  from a full inference pass (:class:`~acgpn.pipeline.TryOnPipeline`) on a fixed batch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from acgpn import labels as L
from acgpn.errors import InputError
from acgpn.fileio import read_text, save_text, to_uint8_image

METRICS_FILE = "metrics.jsonl"


def _read_records(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """The (line, record) pairs of a ``metrics.jsonl``; a torn last line (a run killed mid-write)
    is dropped, any other line that is not a JSON object with an integer ``step`` is an
    :class:`InputError` naming the file."""
    lines = [(n, line) for n, line in enumerate(read_text(path, "JSON lines of training metrics").splitlines(), 1) if line.strip()]
    records = []
    for i, (n, line) in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if i == len(lines) - 1:  # torn by a kill during the append: drop it
                break
            raise InputError(f"line {n} is not valid JSON; expected one JSON object per line of training metrics", path) from None
        if not isinstance(record, dict) or not isinstance(record.get("step"), int):
            raise InputError(f"line {n} has no integer 'step'; expected one JSON object per line of training metrics", path)
        records.append((line, record))
    return records


class MetricsLog:
    """Running means of the loss terms and their JSON-lines / TensorBoard output."""

    def __init__(self, run_dir: Path, resume_step: int | None, tensorboard: bool = True) -> None:
        self.path = run_dir / METRICS_FILE
        if resume_step is not None and self.path.is_file():
            kept = [line for line, record in _read_records(self.path) if record["step"] <= resume_step]
            save_text(self.path, "".join(k + "\n" for k in kept))
        elif resume_step is None and self.path.exists():
            self.path.unlink()
        self.sums: dict[str, float] = {}
        self.count = 0
        self.writer = None
        self.message: str | None = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:
                self.message = "TensorBoard logging off: install the 'train' extra (pip install 'acgpn[train]')"

    def add(self, terms: Mapping[str, Tensor]) -> None:
        for k, v in terms.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v)
        self.count += 1

    def means(self) -> dict[str, float]:
        return {k: v / max(self.count, 1) for k, v in self.sums.items()}

    def write(self, step: int, extra: dict[str, Any]) -> dict[str, float]:
        """Append one line with the means since the last call, then reset them."""
        means = self.means()
        record = {"step": step, **extra, **{k: round(v, 6) if math.isfinite(v) else str(v) for k, v in means.items()}}
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for k, v in {**means, **{k: v for k, v in extra.items() if isinstance(v, (int, float))}}.items():
                group = "loss" if k in means else "train"
                self.writer.add_scalar(f"{group}/{k}", v, step)
            self.writer.flush()
        self.sums, self.count = {}, 0
        return means

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def image_grid(pipe: torch.nn.Module, batch: Mapping[str, Tensor], generator: torch.Generator, rows: int = 4) -> np.ndarray:
    """(rows*H, 6*W, 3) uint8: person | cloth | layout | warped cloth | try-on | target per sample."""
    out = pipe(batch, generator=generator)
    lines = []
    for i in range(min(rows, out.fake_image.shape[0])):
        panels = [
            to_uint8_image(batch["image"][i]),
            to_uint8_image(batch["cloth"][i]),
            L.colorize(out.layout_ids[i]),
            to_uint8_image(out.warped_cloth[i]),
            to_uint8_image(out.fake_image[i]),
            to_uint8_image(batch["image"][i]),
        ]
        lines.append(np.concatenate(panels, axis=1))
    return np.concatenate(lines, axis=0)
