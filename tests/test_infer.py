"""`acgpn infer` end to end: tiny nets (widths 4, 64x48) for the run rules, one official-size run.

Bad input for ``infer`` lives in ``test_bad_inputs.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from acgpn.cli.main import app
from acgpn.data import TryOnDataset
from acgpn.inference import output_name, run_inference
from test_pipeline import small_pipeline as tiny_pipeline  # widths 4: fast at 64x48



@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny pipeline (widths 4) saved with ``save_pretrained``."""
    return tiny_pipeline().save_pretrained(tmp_path_factory.mktemp("ckpt") / "tiny")


def read(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a - b) ** 2).mean()
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def test_outputs_resume_and_batch_size_independence(tmp_path: Path, small_synth_dir: Path, tiny_ckpt: Path, one_thread: None) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("000000_0.jpg 000001_1.jpg\n000001_0.jpg 000000_1.jpg\n000002_0.jpg 000002_1.jpg\n000000_0.jpg 000001_1.jpg\n")
    runner = CliRunner()
    base = ["infer", "--data", str(small_synth_dir), "--checkpoint", str(tiny_ckpt), "--pairs", str(pairs), "--device", "cpu"]
    res = runner.invoke(app, base + ["--out", str(tmp_path / "b2"), "--batch-size", "2"])
    assert res.exit_code == 0 and "3 written, 0 already done, 3 pairs" in res.stdout, res.output  # a repeated pair runs once
    names = [output_name(*line.split()) for line in pairs.read_text().splitlines()[:3]]
    assert names[0] == "000000_0__000001_1.png"
    assert sorted(p.name for p in (tmp_path / "b2").iterdir()) == sorted([*names, ".acgpn.lock"])
    for name in names:
        img = read(tmp_path / "b2" / name)
        assert img.shape == (64, 48, 3) and img.std() > 1  # a real image, not a constant

    # Resume: only the missing output is recomputed; finished ones are left untouched.
    (tmp_path / "b2" / names[1]).unlink()
    before = (tmp_path / "b2" / names[0]).stat().st_mtime_ns
    res = runner.invoke(app, base + ["--out", str(tmp_path / "b2"), "--batch-size", "2"])
    assert res.exit_code == 0 and "1 written, 2 already done, 3 pairs" in res.stdout, res.output
    assert (tmp_path / "b2" / names[0]).stat().st_mtime_ns == before and (tmp_path / "b2" / names[1]).exists()

    # Batch size 1: the same images up to batched-convolution rounding (per-pair noise).
    res = runner.invoke(app, base + ["--out", str(tmp_path / "b1"), "--batch-size", "1"])
    assert res.exit_code == 0, res.output
    for name in names:
        assert psnr(read(tmp_path / "b1" / name), read(tmp_path / "b2" / name)) > 35, name
    assert not list((tmp_path / "b2").glob(".*.tmp"))


def test_compile_option_compiles_the_four_nets(tmp_path: Path, small_synth_dir: Path, tiny_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--compile`` hands each of the four nets to ``torch.compile`` (recorded, not run here:
    inductor takes minutes on a CPU; the bench measures it), and the run still writes its images."""
    compiled: list[str] = []
    monkeypatch.setattr(torch.nn.Module, "compile", lambda self, *args, **kwargs: compiled.append(type(self).__name__))
    args = ["infer", "--data", str(small_synth_dir), "--checkpoint", str(tiny_ckpt), "--device", "cpu", "--out", str(tmp_path / "out")]
    res = CliRunner().invoke(app, [*args, "--compile"])
    assert res.exit_code == 0, res.output
    assert sorted(compiled) == ["UNet", "UNet", "UNet", "WarpNet"]
    assert len(list((tmp_path / "out").glob("*.png"))) == len(TryOnDataset(small_synth_dir))


def test_workers_give_the_same_images(tmp_path: Path, small_synth_dir: Path, one_thread: None) -> None:
    pipe = tiny_pipeline(1)
    data = TryOnDataset(small_synth_dir, pairs=small_synth_dir / "test_pairs_unpaired.txt")
    run_inference(pipe, data, tmp_path / "w0", batch_size=2, seed=3)
    report = run_inference(pipe, data, tmp_path / "w1", batch_size=2, seed=3, num_workers=1)
    assert (report.total, report.written, report.skipped) == (4, 4, 0)
    for path in sorted((tmp_path / "w0").glob("*.png")):
        assert np.array_equal(read(path), read(tmp_path / "w1" / path.name)), path.name
    other = run_inference(pipe, data, tmp_path / "s4", batch_size=2, seed=4)
    assert other.written == 4 and not np.array_equal(read(path), read(tmp_path / "s4" / path.name))  # seed matters


@pytest.mark.slow
def test_official_checkpoints_full_size(tmp_path: Path, synth_dir: Path, official_dir: Path) -> None:
    """The released-format folder (.pth files) at the official 256x192, and resized to 128x96."""
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("000003_0.jpg 000004_1.jpg\n")
    runner = CliRunner()
    base = ["infer", "--data", str(synth_dir), "--checkpoint", str(official_dir), "--pairs", str(pairs), "--device", "cpu"]
    res = runner.invoke(app, base + ["--out", str(tmp_path / "o"), "--save-intermediates"])
    assert res.exit_code == 0, res.output
    out = read(tmp_path / "o" / "000003_0__000004_1.png")
    assert out.shape == (256, 192, 3) and out.std() > 1
    ids = np.asarray(Image.open(tmp_path / "o" / "intermediates" / "000003_0__000004_1" / "layout_ids.png"))
    assert ids.shape == (256, 192) and set(np.unique(ids).tolist()) <= set(range(14))
    res = runner.invoke(app, base + ["--out", str(tmp_path / "s"), "--size", "128x96"])
    assert res.exit_code == 0, res.output
    assert read(tmp_path / "s" / "000003_0__000004_1.png").shape == (128, 96, 3)
