"""`acgpn infer` end to end on the synthetic set with recipe weights saved as official .pth files."""

from __future__ import annotations

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from acgpn.cli.main import app
from acgpn.inference import output_name


def read(path) -> np.ndarray:
    return np.asarray(Image.open(path), dtype=np.float64)


def test_infer_writes_named_outputs_resumes_and_is_batch_size_independent(tmp_path, synth_dir, official_dir):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("000000_0.jpg 000001_1.jpg\n000001_0.jpg 000000_1.jpg\n000002_0.jpg 000002_1.jpg\n")
    runner = CliRunner()
    base = ["infer", "--data", str(synth_dir), "--checkpoint", str(official_dir), "--pairs", str(pairs), "--device", "cpu"]
    res = runner.invoke(app, base + ["--out", str(tmp_path / "b2"), "--batch-size", "2", "--save-intermediates"])
    assert res.exit_code == 0, res.output
    names = [output_name(*line.split()) for line in pairs.read_text().splitlines()]
    assert names[0] == "000000_0__000001_1.png"
    for name in names:
        img = read(tmp_path / "b2" / name)
        assert img.shape == (256, 192, 3) and img.std() > 1  # a real image, not a constant
    inter = tmp_path / "b2" / "intermediates" / "000000_0__000001_1"
    assert {p.name for p in inter.iterdir()} >= {"layout.png", "warped_cloth.png", "refined_cloth.png", "cloth_mask.png", "numbers.json"}

    # Resume: only the missing output is recomputed; finished ones are left untouched.
    (tmp_path / "b2" / names[1]).unlink()
    before = (tmp_path / "b2" / names[0]).stat().st_mtime_ns
    res = runner.invoke(app, base + ["--out", str(tmp_path / "b2"), "--batch-size", "2"])
    assert res.exit_code == 0 and "1 written, 2 already done, 3 pairs" in res.output
    assert (tmp_path / "b2" / names[0]).stat().st_mtime_ns == before and (tmp_path / "b2" / names[1]).exists()

    # Batch size 1 gives the same images (per-pair noise; batched Linear may differ by ~1e-7).
    res = runner.invoke(app, base + ["--out", str(tmp_path / "b1"), "--batch-size", "1"])
    assert res.exit_code == 0, res.output
    for name in names:
        a, b = read(tmp_path / "b1" / name), read(tmp_path / "b2" / name)
        mse = ((a - b) ** 2).mean()
        assert mse == 0 or 10 * np.log10(255**2 / mse) > 35, name
    assert not list((tmp_path / "b2").glob("*.tmp*"))


def test_infer_reports_bad_input_with_exit_2(tmp_path, synth_dir, official_dir):
    runner = CliRunner()
    res = runner.invoke(app, ["infer", "--data", str(synth_dir), "--checkpoint", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "latest_net_G1.pth: file not found" in res.output
    bad_pairs = tmp_path / "p.txt"
    bad_pairs.write_text("000000_0.jpg 999999_1.jpg\n")
    res = runner.invoke(app, ["infer", "--data", str(synth_dir), "--checkpoint", str(official_dir), "--out", str(tmp_path / "o"), "--pairs", str(bad_pairs)])
    assert res.exit_code == 2 and "999999_1.jpg" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["infer", "--data", str(synth_dir), "--checkpoint", str(official_dir), "--out", str(tmp_path / "o"), "--device", "cuda:7"])
    assert res.exit_code == 2 and "cuda" in res.output.lower()


def test_infer_resizes_to_another_working_size(tmp_path, synth_dir, official_dir):
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("000003_0.jpg 000004_1.jpg\n")
    runner = CliRunner()
    base = ["infer", "--data", str(synth_dir), "--checkpoint", str(official_dir), "--pairs", str(pairs), "--out", str(tmp_path / "o")]
    res = runner.invoke(app, base + ["--size", "128x96"])
    assert res.exit_code == 0, res.output
    assert read(tmp_path / "o" / "000003_0__000004_1.png").shape == (128, 96, 3)
    res = runner.invoke(app, base + ["--size", "100x96"])
    assert res.exit_code == 2 and "multiples of 16" in res.output
