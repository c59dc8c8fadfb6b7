"""The embedded synthetic model: loading, resize in and out, one scored try-on, the CLI defaults."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from typer.testing import CliRunner

from acgpn.assets import EMBEDDED, SYNTHETIC_NOTICE, resolve_pretrained
from acgpn.cli.main import app
from acgpn.data import TryOnDataset
from acgpn.errors import InputError
from acgpn.modules.decisions import TieAwareDecisions
from acgpn.parity import psnr
from acgpn.pipeline import TryOnPipeline
from acgpn.recipes import score_tryon
from acgpn.speed import AUTOCAST_MIN_PSNR, AUTOCAST_TIE_MARGIN, apply_speed_options
from acgpn.working_size import resize_batch, resize_noise

MODEL = EMBEDDED["synthetic"]
pytestmark = pytest.mark.skipif(
    not (MODEL / "config.json").is_file(),
    reason=f"the embedded synthetic model is not shipped yet ({MODEL} is empty; issue 10)",
)
#: Scores of the embedded model on the first two unpaired pairs of the session's 256x192 synthetic
#: set (seed 0), measured when the model was exported (with its preserve_content; G's image alone
#: scores SSIM 0.7894, ratio 0.4641); other CPUs round convolutions differently, hence the
#: tolerances (a re-trained model must update these numbers).
EXPECTED = {"ssim": 0.8983, "masked_l1_ratio": 0.4401, "layout_miou": 0.8706}  # AVX2 and SSE41 kernels alike
TOLERANCE = {"ssim": 0.01, "masked_l1_ratio": 0.03, "layout_miou": 0.03}


@pytest.fixture(scope="module")
def pipe() -> TryOnPipeline:
    return TryOnPipeline.from_pretrained()


def test_embedded_files_are_small_float16_and_load_as_float32(pipe: TryOnPipeline) -> None:
    weights = MODEL / "model.safetensors"
    assert weights.stat().st_size <= 20 * 2**20
    assert (MODEL / "MODEL_CARD.md").read_text().count("synthetic people only") >= 1
    with safe_open(str(weights), "pt") as f:
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert "F16" in dtypes
    assert {p.dtype for p in pipe.parameters()} == {torch.float32}
    assert pipe.working_size == (128, 96)
    assert json.loads((MODEL / "config.json").read_text())["working_size"] == [128, 96]


def test_synthetic_name_and_default_are_the_embedded_model(pipe: TryOnPipeline, tmp_path: Path) -> None:
    assert resolve_pretrained("synthetic") == MODEL
    assert resolve_pretrained(Path("synthetic")) == Path("synthetic")  # a Path is always a folder
    named = TryOnPipeline.from_pretrained("synthetic")
    for a, b in zip(pipe.state_dict().values(), named.state_dict().values()):
        assert torch.equal(a, b)
    pipe.save_pretrained(tmp_path / "copy")  # the working size survives a round trip
    assert TryOnPipeline.from_pretrained(tmp_path / "copy").working_size == (128, 96)


def test_bad_working_size_is_one_input_error(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    shutil.copytree(MODEL, folder)
    config = json.loads((folder / "config.json").read_text())
    for bad in ([100, 96], "128x96", [128]):
        (folder / "config.json").write_text(json.dumps({**config, "working_size": bad}))
        with pytest.raises(InputError, match="working_size|multiple of 16|two numbers"):
            TryOnPipeline.from_pretrained(folder)


def test_resize_in_and_out(pipe: TryOnPipeline, synth_dir: Path) -> None:
    batch = torch.utils.data.default_collate([TryOnDataset(synth_dir)[0]])
    small = resize_batch(batch, (128, 96))
    assert small["image"].shape[-2:] == (128, 96) and small["pose"].shape == (1, 18, 128, 96)
    assert set(small["label"].unique().tolist()) <= set(batch["label"].unique().tolist())  # ids stay ids
    assert small["pose"].unique().tolist() == [-1.0, 1.0]
    assert torch.allclose(small["keypoints"][..., :2], batch["keypoints"][..., :2] / 2)
    noise = pipe.sample_noise(1, 256, 192, torch.Generator().manual_seed(0))
    out = pipe(batch, noise=noise)
    assert out.fake_image.shape == (1, 3, 256, 192) and out.layout_ids.shape == (1, 1, 256, 192)
    assert set(out.layout_ids.unique().tolist()) <= set(range(14))
    assert set(out.target_cloth_mask.unique().tolist()) <= {0.0, 1.0}
    # = the nets at 128x96 on the resized inputs and noise, outputs upsampled (ids and masks nearest),
    # then the preserved pixels copied from the 256x192 person (the model's preserve_content)
    assert pipe.preserve_content
    direct = pipe.run_steps(small, noise=resize_noise(noise, (128, 96)))
    assert direct.fake_image.shape == (1, 3, 128, 96)
    assert torch.equal(direct.control_points, out.control_points)
    assert torch.equal(out.layout_ids[..., ::2, ::2], direct.layout_ids)
    assert torch.equal(out.preserved_mask[..., ::2, ::2], direct.preserved_mask)
    upsampled = F.interpolate(direct.fake_image, size=(256, 192), mode="bilinear", align_corners=False)
    expected = torch.where(out.preserved_mask.bool(), batch["image"], upsampled)
    assert torch.allclose(out.fake_image, expected, atol=1e-5)


def test_one_tryon_matches_the_stored_score(pipe: TryOnPipeline, synth_dir: Path) -> None:
    scores = score_tryon(pipe, synth_dir, limit=2).summary
    for key, expected in EXPECTED.items():
        assert abs(scores[key] - expected) <= TOLERANCE[key], (key, scores[key], expected)


#: Issue 13's budget for bf16: the embedded model's try-on SSIM may drop by at most this from float32.
BF16_SSIM_DROP = 0.005


@pytest.mark.slow
def test_bf16_autocast_stays_within_its_tolerances(synth_dir: Path, one_thread: None) -> None:
    """bf16 autocast on the embedded model, checked on any CPU (forced: without AVX512-BF16/AMX it
    runs emulated, several times slower than float32, so its speed means nothing here): G's image stays
    within the autocast tolerances of float32 eager (tie-aware decisions, PSNR; ``acgpn.speed``),
    and the try-on's SSIM against the ground truth drops by at most 0.005 (one pair each: the
    README gives the same on 64)."""
    fp32, bf16 = TryOnPipeline.from_pretrained(), TryOnPipeline.from_pretrained()
    assert apply_speed_options(bf16, autocast="bf16", force_autocast=True) == []
    small = resize_batch(torch.utils.data.default_collate([TryOnDataset(synth_dir)[0]]), fp32.working_size)
    noise = fp32.sample_noise(1, *fp32.working_size, torch.Generator().manual_seed(0))
    ref = fp32.run_steps(small, noise=noise)
    decisions = TieAwareDecisions(ref.layout_ids, ref.predicted_cloth_mask, tie_margin=AUTOCAST_TIE_MARGIN)
    out = bf16.run_steps(small, noise=noise, decisions=decisions)
    assert out.fake_image.dtype == torch.float32 and not torch.equal(out.fake_image, ref.fake_image)  # bf16 did run
    assert decisions.violations == 0
    assert psnr(out.fake_image, ref.fake_image) >= AUTOCAST_MIN_PSNR
    drop = score_tryon(fp32, synth_dir, limit=1).summary["ssim"] - score_tryon(bf16, synth_dir, limit=1).summary["ssim"]
    assert drop <= BF16_SSIM_DROP, drop


def test_infer_defaults_to_the_embedded_model(synth_dir: Path, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("000000_0.jpg 000001_1.jpg\n")
    res = CliRunner().invoke(app, ["infer", "--data", str(synth_dir), "--pairs", str(pairs), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "synthetic people only" in res.output and SYNTHETIC_NOTICE.split(":")[0] in res.output
    from PIL import Image

    with Image.open(tmp_path / "o" / "000000_0__000001_1.png") as img:
        assert img.size == (192, 256)
        preserved = np.asarray(img, dtype=np.int16)
    res = CliRunner().invoke(app, ["infer", "--data", str(synth_dir), "--pairs", str(pairs), "--out", str(tmp_path / "g"), "--no-preserve"])
    assert res.exit_code == 0, res.output
    with Image.open(tmp_path / "g" / "000000_0__000001_1.png") as img:
        generated = np.asarray(img, dtype=np.int16)
    with Image.open(synth_dir / "test_img" / "000000_0.jpg") as img:
        person = np.asarray(img, dtype=np.int16)
    corner = (slice(0, 8), slice(0, 8))  # background: the person's pixels with the default, G's without
    assert np.abs(preserved[corner] - person[corner]).max() <= 1 < np.abs(generated[corner] - person[corner]).max()


def test_demo_tryon_writes_the_sheet_and_prints_scores(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["demo-tryon", "--out", str(tmp_path / "demo"), "--num", "2", "--size", "128x96"])
    assert res.exit_code == 0, res.output
    assert "synthetic people only" in res.output and "layout mIoU" in res.output and "try-on SSIM" in res.output
    from PIL import Image

    with Image.open(tmp_path / "demo" / "tryon_sheet.png") as img:
        assert img.size == (6 * 96, 16 + 2 * 128)  # six columns, a header, one row per pair
    scores = json.loads((tmp_path / "demo" / "scores.json").read_text())
    assert scores["summary"]["pairs"] == 2 and len(scores["per_pair"]) == 2


def test_demo_tryon_refuses_a_bad_model_before_synthesising(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_text("not a model folder")
    res = CliRunner().invoke(app, ["demo-tryon", "--out", str(tmp_path / "demo"), "--num", "2", "--size", "64x48", "--checkpoint", str(tmp_path / "model.onnx")])
    assert res.exit_code == 2 and "no config.json" in res.output, res.output
    assert not (tmp_path / "demo").exists()  # no synthetic data left behind


@pytest.mark.parametrize(
    "args, text",
    [(["--steps-scale", "nan"], "--steps-scale: must be a finite number > 0"),
     (["--steps-scale", "0"], "--steps-scale: must be a finite number > 0"),
     (["--threads", "0"], "--threads: must be at least 1"),
     (["--train-num", "1"], "--train-num: must be at least 2"),
     (["--cwm-steps", "-5"], "--cwm-steps: must be at least 1"),
     (["--export", "{tmp}/file/x"], "exists and is not a folder")],
    ids=["scale-nan", "scale-0", "threads-0", "train-num-1", "negative-steps", "export-under-a-file"],
)  # fmt: skip
def test_recipe_options_are_checked_before_any_work(args: list[str], text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from acgpn.recipes import main

    (tmp_path / "file").write_text("x")
    with pytest.raises(SystemExit) as stop:
        main(["--out", str(tmp_path / "run")] + [a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == 2 and len(err) == 1 and err[0].startswith("error: ") and text in err[0], err
    assert not (tmp_path / "run").exists()
