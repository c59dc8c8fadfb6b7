"""The shared parity protocol on parity_seed1 (weights built here from the recipe)."""

from __future__ import annotations

import pytest
import torch

from acgpn.parity import load_vectors, run_parity
from acgpn.pipeline import TryOnPipeline
from model_fixtures import PARITY_FILE, needs_parity


@pytest.fixture(scope="module")
def parity_results(recipe_seed1):
    return {(r.step, r.metric): r for r in run_parity(PARITY_FILE, pipe=TryOnPipeline(**recipe_seed1))}


@needs_parity
def test_every_protocol_step_meets_its_tolerance(parity_results):
    failed = [str(r) for r in parity_results.values() if not r.passed]
    assert not failed, failed
    steps = {step.split()[0] for step, _ in parity_results}
    assert steps >= {"0", "1", "2", "3", "4", "5", "6", "7"}


@needs_parity
def test_deterministic_stages_are_bit_exact(parity_results):
    for key in [("1 G1 layout", "label mismatch %"), ("3 composition", "cloth mask mismatches"),
                ("3 composition", "final label mismatches"), ("5 TPS warp", "warped cloth max-abs"),
                ("4 TPS inverse kernel", "max-abs"), ("0 pose map", "row/col sums max-abs")]:  # fmt: skip
        assert parity_results[key].value == 0, key


@needs_parity
def test_wrong_weights_fail_the_protocol(recipe_seed1):
    """The check can fail: align_corners=True (the other convention) breaks step 5 by far."""
    pipe = TryOnPipeline(**recipe_seed1, align_corners=True)
    results = {(r.step, r.metric): r for r in run_parity(PARITY_FILE, pipe=pipe)}
    assert not results[("5 TPS warp", "warped cloth max-abs")].passed
    assert results[("5 TPS warp", "warped cloth max-abs")].value > 0.1


@needs_parity
def test_pipeline_batched_equals_per_sample(recipe_seed1):
    """A batch of three (the official code silently mixed samples at B=3) == each sample alone."""
    t, _ = load_vectors(PARITY_FILE)
    from acgpn.pose import pose_map

    idx = [0, 1, 0]
    batch = {"image": t["input.image"][idx], "label": t["input.label"][idx], "cloth": t["input.color"][idx],
             "edge": t["input.edge"][idx], "pose": pose_map(t["input.pose_keypoints"][idx], 256, 192)}  # fmt: skip
    noise = {"g1": t["input.noise_g1"][idx], "g2": t["input.noise_g2"][idx], "g": t["input.noise_g"][idx]}
    pipe = TryOnPipeline(**recipe_seed1)
    out = pipe(batch, noise=noise)
    for row, i in enumerate(idx[:2]):
        single = pipe({k: v[row : row + 1] for k, v in batch.items()}, noise={k: v[row : row + 1] for k, v in noise.items()})
        mse = float(((out.fake_image[row] - single.fake_image[0]) ** 2).mean())
        assert mse < 4 * 10 ** (-35 / 10), f"sample {row}: PSNR below 35 dB"  # protocol's end-to-end bound
        assert torch.equal(out.layout[row], single.layout[0])
    assert torch.allclose(out.fake_image[2], out.fake_image[0], atol=1e-5)
    assert not torch.allclose(out.fake_image[0], out.fake_image[1], atol=1e-2)


@needs_parity
def test_parity_cli_prints_pass_for_every_step():
    from typer.testing import CliRunner

    from acgpn.cli.main import app

    res = CliRunner().invoke(app, ["parity", str(PARITY_FILE)])
    assert res.exit_code == 0, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert all(line.startswith("PASS") for line in lines) and len(lines) >= 15


def test_parity_cli_rejects_a_file_that_is_not_vectors(tmp_path):
    from typer.testing import CliRunner

    from acgpn.cli.main import app

    bad = tmp_path / "v.safetensors"
    bad.write_bytes(b"\x00" * 64)
    res = CliRunner().invoke(app, ["parity", str(bad)])
    assert res.exit_code == 2 and "v.safetensors: not a readable safetensors file" in res.output
