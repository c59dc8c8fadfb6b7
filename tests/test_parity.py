"""The parity protocol on parity_seed1, in forms that hold on any CPU, GPU or kernel set.

* "another machine": on sample 1, with every weight perturbed by a relative 1e-6, every check
  still passes, and step 7 reports the near-tie G1 pixels it resolved (``make check-kernels`` runs
  the whole file on the portable CPU kernels, ``ONEDNN_MAX_CPU_ISA=SSE41
  ATEN_CPU_CAPABILITY=default``; CI runs it after the tests);
* the checks can fail: a decision flipped far from its boundary fails step 7, and the other warp
  convention fails step 5;
* files with only some outputs give SKIP lines; malformed files give one error line and exit 2.
"""

from __future__ import annotations

import copy

import pytest
import torch
from model_fixtures import PARITY_FILE, one_sample_vectors
from safetensors import safe_open
from safetensors.torch import save_file
from typer.testing import CliRunner

from acgpn.cli.main import app
from acgpn.modules import cwm, sgm
from acgpn.modules.decisions import ThresholdDecisions, TieAwareDecisions, layout_margin
from acgpn import parity
from acgpn.parity import g1_crop, load_vectors, psnr, run_parity
from acgpn.pipeline import TryOnPipeline
from acgpn.pose import pose_map


def _read(path=PARITY_FILE) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


#: Relative weight perturbation that stands in for another machine's rounding (flips 2-3 near-tie
#: G1 pixels of sample 1 for perturbation seeds 0-2, each with a margin below 1.4e-5).
PERTURBATION = 1e-6


def _perturbed(nets: dict[str, torch.nn.Module], seed: int = 0) -> TryOnPipeline:
    """Copies of ``nets`` with every parameter scaled by ``1 + PERTURBATION * N(0, 1)``."""
    pipe = TryOnPipeline(**{name: copy.deepcopy(net) for name, net in nets.items()})
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in pipe.parameters():
            p.mul_(1 + PERTURBATION * torch.randn(p.shape, generator=g))
    return pipe


@pytest.mark.slow
def test_another_machine_passes_every_check_and_resolves_ties(recipe_seed1, tmp_path):
    """The protocol on sample 1 with every weight perturbed as another machine's rounding would
    leave it (one test: a second sharing its run could land on the other xdist worker and redo
    it): every check passes, near-tie G1 pixels flip against the file and step 7 takes the file's
    decision there, and the steps fed identical stored inputs that do only integer or mask logic
    stay bit-exact. Run with the portable kernels it stacks both kinds of rounding."""
    path = one_sample_vectors(tmp_path, 1)
    results = {(r.step, r.metric): r for r in run_parity(path, pipe=_perturbed(recipe_seed1))}
    failed = [str(r) for r in results.values() if not r.passed]
    assert not failed, failed
    assert {step.split()[0] for step, _ in results} == {"0", "1", "2", "3", "4", "5", "6", "7"}
    assert not any(r.skipped for r in results.values()) and len(results) == 17
    g1 = results[("1 G1 layout", "label mismatch %")]
    assert 0 < g1.value < 0.1  # near-tie pixels flipped against the file ...
    e2e = results[("7 end to end (batched)", "fake image PSNR dB")]
    ties = int(e2e.detail.split("ties resolved: ")[1].split()[0])
    assert ties >= 1 and e2e.value >= 35  # ... and step 7 took the file's decision there
    for key in [("3 composition", "cloth mask mismatches"), ("3 composition", "final label mismatches"),
                ("0 pose map", "row sums max-abs"), ("0 pose map", "col sums max-abs")]:  # fmt: skip
        assert results[key].value == 0, key


def test_tie_aware_decisions_take_the_reference_only_at_ties():
    prob = torch.zeros(1, 14, 2, 2)
    prob[0, 3] = 0.9
    prob[0, 5] = torch.tensor([[0.9 - 1e-6, 0.5], [0.9 - 1e-6, 0.95]])  # ties at (0,0) and (1,0); (1,1) clear
    own = ThresholdDecisions().layout_ids(prob)
    assert own.flatten().tolist() == [3, 3, 3, 5]
    assert torch.allclose(layout_margin(prob).flatten(), torch.tensor([1e-6, 0.4, 1e-6, 0.05]), atol=1e-7)
    reference = torch.tensor([[[[5.0, 3.0], [3.0, 5.0]]]])
    d = TieAwareDecisions(reference_layout_ids=reference)
    assert torch.equal(d.layout_ids(prob), reference) and d.ties_resolved == 1 and d.violations == 0
    far = torch.tensor([[[[3.0, 5.0], [3.0, 5.0]]]])  # (0,1) differs with margin 0.4
    d = TieAwareDecisions(reference_layout_ids=far)
    ids = d.layout_ids(prob)
    assert d.violations == 1 and ids[0, 0, 0, 1] == 3  # kept our own decision, reported
    assert d.diffs[0].worst_pixel == (0, 0, 1) and abs(d.diffs[0].worst_margin - 0.4) < 1e-6
    mask = TieAwareDecisions(reference_predicted_cloth_mask=torch.tensor([[[[1.0, 0.0]]]]))
    assert torch.equal(mask.predicted_cloth_mask(torch.tensor([[[[0.49999, 0.2]]]])), torch.tensor([[[[1.0, 0.0]]]]))
    assert mask.ties_resolved == 1


def _subset_file(tmp_path, flip: bool):
    """Sample 0 only, with inputs, the G1 labels and the final image (every other output absent);
    ``flip`` changes one G1 label far from any tie (the pixel of largest margin in the stored G1
    probability crop)."""
    t, meta = _read()
    keep = [k for k in t if k.startswith("input.")] + ["out.g1_label", "out.fake_image"]
    sub = {k: t[k][:1].contiguous() for k in keep}
    if flip:
        margin = layout_margin(t["out.g1_prob_crop"][:1])
        y, x = divmod(int(margin.flatten().argmax()), margin.shape[-1])
        rows, cols = g1_crop(256, 192)
        y, x = y + rows.start, x + cols.start
        sub["out.g1_label"] = sub["out.g1_label"].clone()
        sub["out.g1_label"][0, 0, y, x] = (sub["out.g1_label"][0, 0, y, x] + 1) % 14
    path = tmp_path / ("flipped.safetensors" if flip else "subset.safetensors")
    save_file(sub, str(path), metadata=meta)
    return path


@pytest.mark.slow
def test_a_decision_flipped_beyond_the_margin_fails_step_7(tmp_path, recipe_seed1, monkeypatch):
    """The CLI on a subset file whose G1 labels hold one pixel flipped far from any tie (the
    recipe weights it would build are the shared fixture's)."""
    monkeypatch.setattr(parity, "recipe_pipeline", lambda seed: TryOnPipeline(**recipe_seed1))
    res = CliRunner().invoke(app, ["parity", str(_subset_file(tmp_path, flip=True))])
    assert res.exit_code == 1, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    failed = [line for line in lines if line.startswith("FAIL  ")]
    step7 = [line for line in failed if "decisions beyond margin" in line]
    assert len(step7) == 2  # batched and per sample
    assert "1 pixels decided differently beyond the tie margin (worst: sample 0, row" in step7[0]
    assert any(line.startswith("PASS  1 G1 layout") and "label mismatch" in line for line in lines)  # 1 px < 0.1 %
    assert sum(line.startswith("SKIP") for line in lines) == 11
    assert lines[-1].startswith("FAIL: ") and lines[-1].endswith("/6 checks passed, 11 skipped")


@pytest.mark.slow
def test_a_file_with_some_outputs_skips_the_rest_and_passes(tmp_path, recipe_seed1):
    results = run_parity(_subset_file(tmp_path, flip=False), pipe=TryOnPipeline(**recipe_seed1))
    assert len(results) == 17 and all(r.passed for r in results), [str(r) for r in results]
    skipped = {(r.step, r.metric) for r in results if r.skipped}
    assert len(skipped) == 11 and ("2 G2 cloth mask", "prob max-abs") in skipped
    checked = {(r.step, r.metric) for r in results if not r.skipped}
    assert checked >= {("6 G fusion", "fake image PSNR dB"), ("7 end to end (per sample)", "fake image PSNR dB")}
    # G was fed our own refined cloth and G2 mask (absent from the file), so step 6 is end to end:
    # it takes step 7's PSNR bound and names the missing inputs instead of demanding max-abs 1e-3.
    step6 = next(r for r in results if r.step == "6 G fusion")
    assert "out.g2_prob" in step6.detail and "out.refined_cloth" in step6.detail and "out.g1_label" not in step6.detail


def test_the_other_warp_convention_fails_step_5(recipe_seed1):
    """align_corners=True (the other grid_sample convention) misses the stored warp by far."""
    t, _ = load_vectors(PARITY_FILE)
    _, cloth = sgm.masked_cloth(t["input.color"], t["input.edge"])
    warped = cwm.warp_cloth(recipe_seed1["u"], cloth, t["out.tps_control_points"], align_corners=True)
    assert float((warped - t["out.warped_cloth"]).abs().max()) > 0.1


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t, m: t.pop("input.noise_g"), "missing input tensor input.noise_g"),
        (lambda t, m: t.update({"out.g2_prob": t["out.g2_prob"][:1].contiguous()}), "tensor out.g2_prob has shape (1, 1, 256, 192), expected (2, 1, 256, 192)"),
        (lambda t, m: t.update({"input.pose_keypoints": t["input.pose_keypoints"][:, :17].contiguous()}), "tensor input.pose_keypoints has shape"),
        (lambda t, m: t.update({"input.label": t["input.label"] + 0.5}), "not label ids 0..13"),
        (lambda t, m: t.update({"out.fake_image": t["out.fake_image"] * float("nan")}), "out.fake_image holds NaN"),
        (lambda t, m: m.update({"seed": "abc"}), "metadata 'seed' must be an integer (found 'abc')"),
        (lambda t, m: m.pop("recipe"), "lacks the weight recipe"),
    ],
    ids=["missing-input", "wrong-batch", "wrong-keypoints", "non-integer-label", "nan", "seed-abc", "no-recipe"],
)
def test_malformed_vectors_give_one_error_line_and_exit_2(tmp_path, change, message):
    t, meta = _read()
    change(t, meta)
    path = tmp_path / "v.safetensors"
    save_file(t, str(path), metadata=meta)
    res = CliRunner().invoke(app, ["parity", str(path)])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and message in lines[0], res.output


@pytest.mark.parametrize("content", [b"\x00" * 64, b"not safetensors at all"], ids=["zeros", "text"])
def test_parity_cli_rejects_a_file_that_is_not_vectors(tmp_path, content):
    bad = tmp_path / "v.safetensors"
    bad.write_bytes(content)
    res = CliRunner().invoke(app, ["parity", str(bad)])
    assert res.exit_code == 2 and "v.safetensors: not a readable safetensors file" in res.output


@pytest.mark.slow
def test_pipeline_batched_equals_per_sample(recipe_seed1):
    """A batch of three (the official code silently mixed samples at B=3) == each sample alone,
    within rounding: batched convolutions round differently, so decisions are compared tie-aware.
    At half size (128x96: the schedule's per-sample levels still apply, the cost is a quarter)."""
    t, _ = load_vectors(PARITY_FILE)
    idx = [0, 1, 0]
    half = {k: v[idx][..., ::2, ::2] for k, v in t.items() if k.startswith("input.") and v.dim() == 4}
    keypoints = t["input.pose_keypoints"][idx] * torch.tensor([0.5, 0.5, 1.0])
    batch = {"image": half["input.image"], "label": half["input.label"], "cloth": half["input.color"],
             "product_mask": half["input.edge"], "pose": pose_map(keypoints, 128, 96)}  # fmt: skip
    noise = {"g1": half["input.noise_g1"], "g2": half["input.noise_g2"], "g": half["input.noise_g"]}
    pipe = TryOnPipeline(**recipe_seed1)
    singles = [pipe({k: v[i : i + 1] for k, v in batch.items()}, noise={k: v[i : i + 1] for k, v in noise.items()}) for i in range(2)]
    decisions = TieAwareDecisions(
        torch.cat([singles[i].layout_ids for i in idx]), torch.cat([singles[i].predicted_cloth_mask for i in idx])
    )
    out = pipe(batch, noise=noise, decisions=decisions)
    assert decisions.violations == 0
    for row in range(2):
        assert psnr(out.fake_image[row], singles[row].fake_image[0]) >= 35  # the protocol's end-to-end bound
    assert psnr(out.fake_image[2], out.fake_image[0]) >= 60
    assert psnr(out.fake_image[0], out.fake_image[1]) < 20  # different people stay different
