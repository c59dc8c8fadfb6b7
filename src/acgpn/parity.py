"""Parity with the official forward: the deterministic weight recipe and the stage-by-stage protocol.

A vectors file (``parity_seed1.safetensors``, see docs/official-code.md) holds inputs, noise and
intermediates of the official forward with recipe weights. Steps 1-6 feed each stage the *stored*
outputs of the previous ones ("teacher forcing"), because argmax/threshold decisions sit on
boundaries and the STN points amplify rounding downstream. Step 7 runs the whole forward and is
tie-aware: a decision that differs from the file is accepted only where our own margin is below the
tie margin (:class:`~acgpn.modules.decisions.TieAwareDecisions`). No check needs bit-exact floats,
so the protocol holds on any CPU, GPU or kernel set.

Every ``input.*`` tensor is required; every ``out.*`` / ``check.*`` tensor is optional: a check
whose reference is absent prints SKIP, and later stages are fed our own result instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import torch
from safetensors import SafetensorError, safe_open
from torch import Tensor, nn

from acgpn import checkpoints
from acgpn.errors import InputError
from acgpn.modules import cfm, cwm, sgm
from acgpn.modules.decisions import ThresholdDecisions, TieAwareDecisions
from acgpn.nets import official_net, without_init
from acgpn.pipeline import TryOnPipeline
from acgpn.pose import pose_map
from acgpn.runtime import cudnn_tf32

#: Net index of the recipe (U=0, G1=1, G2=2, G=3).
RECIPE_NET_INDEX: Final = {"u": 0, "g1": 1, "g2": 2, "g": 3}
#: Default tie margin of step 7 (G1: top-2 probability gap; G2: |p - 0.5|).
TIE_MARGIN: Final = 1e-4
#: Step 7's bound on the fake image (and step 6's when G is fed our own upstream results).
MIN_PSNR: Final = 35.0
#: Step 4's bound on the TPS buffer L^-1 (28x28, entries up to 6.3), a float32 LAPACK inverse: with
#: cond(L) ~ 349, other LAPACK kernels (another CPU's MKL code path, a GPU) give results 1e-5 to 3e-5
#: apart, so the buffer is compared at this bound and step 5 is fed the stored one.
TPS_INVERSE_TOLERANCE: Final = 1e-4
#: Tensors every vectors file must hold: name -> shape, with B, H, W, K symbolic.
INPUT_SHAPES: Final = {
    "input.label": ("B", 1, "H", "W"),
    "input.edge": ("B", 1, "H", "W"),
    "input.color": ("B", 3, "H", "W"),
    "input.image": ("B", 3, "H", "W"),
    "input.pose_keypoints": ("B", 18, 3),
    "input.noise_g1": ("B", 1, "H", "W"),
    "input.noise_g2": ("B", 1, "H", "W"),
    "input.noise_g": ("B", 1, "H", "W"),
}
#: Optional references (outputs and checks).
REFERENCE_SHAPES: Final = {
    "check.pose_map_row_sum": ("B", 18, "H"),
    "check.pose_map_col_sum": ("B", 18, "W"),
    "out.g1_prob_crop": ("B", 14, "h", "w"),
    "out.g1_label": ("B", 1, "H", "W"),
    "out.g2_prob": ("B", 1, "H", "W"),
    "out.cloth_mask_final": ("B", 1, "H", "W"),
    "out.final_label": ("B", 1, "H", "W"),
    "out.tps_control_points": ("B", "K", 2),
    "out.tps_inverse_kernel": ("K+3", "K+3"),
    "out.warped_cloth": ("B", 3, "H", "W"),
    "out.refined_cloth": ("B", 3, "H", "W"),
    "out.skin_color": ("B", 3),
    "out.fake_image": ("B", 3, "H", "W"),
}


def g1_crop(height: int, width: int) -> tuple[slice, slice]:
    """The central crop of G1's probabilities stored in the vectors: rows 3H/8:5H/8, cols 3W/8:5W/8
    (96:160, 72:120 at 256x192)."""
    return slice(3 * height // 8, 5 * height // 8), slice(3 * width // 8, 5 * width // 8)


def recipe_state_dict(net: nn.Module, seed: int, net_index: int) -> dict[str, Tensor]:
    """Deterministic weights of the reference README for ``net`` (state-dict order = official order)."""
    state = {}
    for i, (key, ref) in enumerate(net.state_dict().items()):
        if key.startswith("stn.tps."):
            state[key] = ref.clone()
            continue
        shape = tuple(ref.shape)
        z = torch.randn(shape, generator=torch.Generator().manual_seed(seed * 1000 + 100 * net_index + i), dtype=torch.float32)
        if key == "stn.loc_net.cnn.fc2.bias":  # the identity bias (LocalizationNet.init_identity) + noise
            state[key] = torch.atanh(net.stn.tps.lattice(torch.float64).reshape(-1)).to(torch.float32) + 0.02 * z
        elif key == "stn.loc_net.cnn.fc2.weight":
            state[key] = z * (0.07 / math.sqrt(math.prod(shape[1:])))
        elif len(shape) >= 2:
            state[key] = z * (1 / math.sqrt(math.prod(shape[1:])))
        else:
            state[key] = z * 0.1
    return state


def recipe_nets(seed: int) -> dict[str, nn.Module]:
    """The four official-size nets with recipe weights for case ``seed``."""
    nets = {}
    for name in checkpoints.NET_NAMES:
        net = without_init(lambda: official_net(name))  # the random init would be overwritten
        net.load_state_dict(recipe_state_dict(net, seed, RECIPE_NET_INDEX[name]))
        nets[name] = net.eval()
    return nets


def recipe_pipeline(seed: int, align_corners: bool = False) -> TryOnPipeline:
    """A :class:`TryOnPipeline` with recipe weights (what the parity vectors were made with)."""
    return TryOnPipeline(**recipe_nets(seed), align_corners=align_corners)


@dataclass
class CheckResult:
    """One line of the protocol. ``value`` is None when the file holds no reference (SKIP)."""

    step: str
    metric: str
    value: float | None
    tolerance: float
    higher_is_better: bool = False
    detail: str = ""

    @property
    def skipped(self) -> bool:
        return self.value is None

    @property
    def passed(self) -> bool:
        if self.value is None:
            return True
        return self.value >= self.tolerance if self.higher_is_better else self.value <= self.tolerance

    def __str__(self) -> str:
        if self.value is None:
            return f"SKIP  {self.step:<34} {self.metric:<24} (no reference in the file)"
        op = ">=" if self.higher_is_better else "<="
        status = "PASS" if self.passed else "FAIL"
        line = f"{status}  {self.step:<34} {self.metric:<24} {self.value:.3g} (tolerance {op} {self.tolerance:g})"
        return f"{line}; {self.detail}" if self.detail else line


def _check_shapes(tensors: dict[str, Tensor], path: Path) -> None:
    """Every stored tensor has the shape the protocol expects; names the first one that does not."""
    b, _, h, w = tensors["input.image"].shape if tensors["input.image"].ndim == 4 else (0, 0, 0, 0)
    if b == 0:
        raise InputError(f"input.image has shape {tuple(tensors['input.image'].shape)}, expected (B, 3, H, W)", path)
    k = tensors["out.tps_control_points"].shape[1] if tensors.get("out.tps_control_points", torch.empty(0)).ndim == 3 else 25
    crop = g1_crop(h, w)
    dims = {"B": b, "H": h, "W": w, "K": k, "K+3": k + 3, "h": crop[0].stop - crop[0].start, "w": crop[1].stop - crop[1].start}
    for name, spec in {**INPUT_SHAPES, **REFERENCE_SHAPES}.items():
        if name not in tensors:
            continue
        expected = tuple(dims[d] if isinstance(d, str) else d for d in spec)
        shape = tuple(tensors[name].shape)
        if shape != expected:
            raise InputError(f"tensor {name} has shape {shape}, expected {expected} (B={b}, H={h}, W={w})", path)
        if not tensors[name].is_floating_point():
            raise InputError(f"tensor {name} has dtype {tensors[name].dtype}, expected a float tensor", path)
        if not bool(torch.isfinite(tensors[name]).all()):
            raise InputError(f"tensor {name} holds NaN or infinite values", path)
    ids = tensors["input.label"]
    if bool(((ids != ids.round()) | (ids < 0) | (ids > 13)).any()):
        raise InputError("tensor input.label holds values that are not label ids 0..13", path)


def load_vectors(path: str | Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Read a vectors file -> (tensors, metadata); one-line :class:`InputError` for anything malformed."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise InputError("not a regular file (expected a parity vectors .safetensors file)", path)
    try:
        with safe_open(str(path), "pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            meta = f.metadata() or {}
    except FileNotFoundError:
        raise InputError("file not found (expected a parity vectors .safetensors file)", path) from None
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"not a readable safetensors file ({str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__})", path) from None
    missing = [k for k in INPUT_SHAPES if k not in tensors]
    if missing:
        raise InputError(f"not a complete parity vectors file: missing input tensor {', '.join(missing)}", path)
    if not re.fullmatch(r"\s*-?\d+\s*", meta.get("seed", "")):
        raise InputError(f"metadata 'seed' must be an integer (found {meta.get('seed')!r})", path)
    if not re.search(r"randn\(S\*1000\+100\*net_index\+i\)", meta.get("recipe", "")):
        raise InputError("metadata lacks the weight recipe of the shared format", path)
    _check_shapes(tensors, path)
    return tensors, meta


#: Stored tensors that make step 6 a stage check of G alone. Without one of them G is fed this
#: implementation's own upstream result; a 1e-7 change of the STN points alone moves the fake image
#: by up to 0.08 (reference README), so step 6 then uses step 7's PSNR bound instead of max-abs 1e-3.
STEP6_TEACHER_INPUTS: Final = ("out.g1_label", "out.g2_prob", "out.final_label", "out.refined_cloth")


def psnr(a: Tensor, b: Tensor) -> float:
    """PSNR in dB of images in [-1, 1] (peak-to-peak 2)."""
    mse = float(((a.double() - b.double()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(4.0 / mse)


def _max_abs(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max())


def run_parity(
    path: str | Path,
    device: str = "cpu",
    pipe: TryOnPipeline | None = None,
    log: Callable[[str], None] | None = None,
    fast_math: bool = True,
    tie_margin: float = TIE_MARGIN,
    per_sample: bool = True,
) -> list[CheckResult]:
    """The reference protocol, steps 0-7, on one vectors file. Returns every check.

    Without ``pipe``, the recipe weights named by the file's metadata are built (with ``fast_math``).
    ``per_sample=False`` leaves out step 7's one-sample-per-call run (half of step 7's cost).
    """
    t, meta = load_vectors(path)
    pipe = pipe or recipe_pipeline(int(meta["seed"])).set_fast_math(fast_math)
    pipe = pipe.to(device=device, dtype=torch.float32)
    t = {k: v.to(device) for k, v in t.items()}
    ref = t.get
    label, product_mask, color, image = t["input.label"], t["input.edge"], t["input.color"], t["input.image"]
    h, w = image.shape[-2:]
    pose = pose_map(t["input.pose_keypoints"], h, w)
    noise = {"g1": t["input.noise_g1"], "g2": t["input.noise_g2"], "g": t["input.noise_g"]}
    results: list[CheckResult] = []

    def record(r: CheckResult) -> None:
        results.append(r)
        if log:
            log(str(r))

    def add(step: str, metric: str, reference: Tensor | None, measure: Callable[[Tensor], float], tolerance: float,
            higher_is_better: bool = False, detail: str = "") -> None:  # fmt: skip
        record(CheckResult(step, metric, None if reference is None else measure(reference), tolerance, higher_is_better, detail))

    def mismatches(ours: Tensor) -> Callable[[Tensor], float]:
        return lambda stored: float((ours != stored).sum())

    threshold = ThresholdDecisions()
    with torch.no_grad(), cudnn_tf32(pipe.device, pipe.tf32):  # full float32 on GPUs unless the pipeline asks for TF32
        add("0 pose map", "row sums max-abs", ref("check.pose_map_row_sum"), lambda r: _max_abs(pose.sum(-1), r), 0.0)
        add("0 pose map", "col sums max-abs", ref("check.pose_map_col_sum"), lambda r: _max_abs(pose.sum(-2), r), 0.0)
        product_mask, cloth = sgm.masked_cloth(color, product_mask)
        # 1. G1 from inputs.
        prob = sgm.predict_layout(pipe.g1, product_mask, cloth, sgm.fused_body_mask(label), pose, noise["g1"])
        rows, cols = g1_crop(h, w)
        add("1 G1 layout", "prob crop max-abs", ref("out.g1_prob_crop"), lambda r: _max_abs(prob[:, :, rows, cols], r), 1e-4)
        own_ids = threshold.layout_ids(prob)
        add("1 G1 layout", "label mismatch %", ref("out.g1_label"), lambda r: float((own_ids != r).float().mean()) * 100, 0.1)
        layout_ids = ref("out.g1_label", own_ids)
        # 2. G2 from inputs + stored G1 labels.
        g2 = sgm.predict_cloth_mask(pipe.g2, product_mask, cloth, layout_ids, pose, noise["g2"])
        add("2 G2 cloth mask", "prob max-abs", ref("out.g2_prob"), lambda r: _max_abs(g2, r), 1e-4)
        g2 = ref("out.g2_prob", g2)
        # 3. Composition from stored G1 labels and G2 probabilities (integer logic: exact).
        comp = cfm.compose(image, label, layout_ids, threshold.predicted_cloth_mask(g2))
        add("3 composition", "cloth mask mismatches", ref("out.cloth_mask_final"), mismatches(comp.target_cloth_mask), 0)
        add("3 composition", "final label mismatches", ref("out.final_label"), mismatches(comp.final_label), 0)
        target_cloth_mask = ref("out.cloth_mask_final", comp.target_cloth_mask)
        final_label = ref("out.final_label", comp.final_label)
        # 4. STN from the stored target cloth mask.
        points = pipe.u.control_points(cloth, product_mask, target_cloth_mask)
        add("4 STN control points", "max-abs", ref("out.tps_control_points"), lambda r: _max_abs(points, r), 1e-5)
        add("4 TPS inverse kernel", "max-abs", ref("out.tps_inverse_kernel"), lambda r: _max_abs(pipe.u.stn.tps.inverse_kernel, r),
            TPS_INVERSE_TOLERANCE)  # fmt: skip
        points = ref("out.tps_control_points", points)
        # 5. TPS warp + refinement from stored points (and stored L^-1).
        warped = cwm.warp_cloth(pipe.u, cloth, points, pipe.align_corners, inverse_kernel=ref("out.tps_inverse_kernel"))
        add("5 TPS warp", "warped cloth max-abs", ref("out.warped_cloth"), lambda r: _max_abs(warped, r), 1e-4)
        warped = ref("out.warped_cloth", warped)
        refined = cwm.refine_cloth(pipe.u, warped, target_cloth_mask).refined_cloth
        add("5 refinement (eq. 6)", "refined cloth max-abs", ref("out.refined_cloth"), lambda r: _max_abs(refined, r), 1e-3)
        refined = ref("out.refined_cloth", refined)
        # 6. G from stored refined cloth and masks.
        skin = cfm.skin_color(image, label)
        add("6 skin colour", "max-abs", ref("out.skin_color"), lambda r: _max_abs(skin, r), 1e-6)
        fake = cfm.content_fusion(pipe.g, comp.body_image, final_label, refined, ref("out.skin_color", skin), noise["g"])
        own = [k for k in STEP6_TEACHER_INPUTS if k not in t]
        if not own:
            add("6 G fusion", "fake image max-abs", ref("out.fake_image"), lambda r: _max_abs(fake, r), 1e-3)
        else:  # G fed our own upstream results: an end-to-end comparison (the STN's sensitivity), step 7's bound
            add("6 G fusion", "fake image PSNR dB", ref("out.fake_image"), lambda r: psnr(fake, r), MIN_PSNR, True,
                f"own upstream inputs: {', '.join(own)} not in the file")  # fmt: skip
        # 7. End to end, tie-aware: batched, then one sample per call (how the official code ran).
        batch = {"image": image, "label": label, "cloth": color, "product_mask": t["input.edge"], "pose": pose}
        stored_g2 = ref("out.g2_prob")
        stored = (ref("out.g1_label"), None if stored_g2 is None else threshold.predicted_cloth_mask(stored_g2))
        step7 = _end_to_end(pipe, batch, noise, stored, ref("out.fake_image"), [slice(None)], "batched", tie_margin)
        if per_sample:
            n = image.shape[0]
            step7 += (
                [replace(r, step="7 end to end (per sample)") for r in step7]  # one sample: that call is the batched one
                if n == 1
                else _end_to_end(pipe, batch, noise, stored, ref("out.fake_image"), [slice(i, i + 1) for i in range(n)], "per sample", tie_margin)
            )  # fmt: skip
        for r in step7:
            record(r)
    return results


def _end_to_end(
    pipe: TryOnPipeline,
    batch: dict[str, Tensor],
    noise: dict[str, Tensor],
    stored_decisions: tuple[Tensor | None, Tensor | None],
    stored_fake: Tensor | None,
    samples: list[slice],
    name: str,
    tie_margin: float,
) -> list[CheckResult]:
    """Step 7: the whole forward per call in ``samples``, with tie-aware decisions."""
    fakes, ties, violations, details = [], [], 0, []
    for part in samples:
        decisions = TieAwareDecisions(
            *(None if d is None else d[part] for d in stored_decisions), tie_margin=tie_margin
        )  # fmt: skip
        out = pipe({k: v[part] for k, v in batch.items()}, noise={k: v[part] for k, v in noise.items()}, decisions=decisions)
        fakes.append(out.fake_image)
        per_sample = sum((d.ties.cpu() for d in decisions.diffs), torch.zeros(out.fake_image.shape[0], dtype=torch.long))
        ties += per_sample.tolist()
        violations += decisions.violations
        details += [d.describe() for d in decisions.diffs if d.worst_pixel is not None]
    tie_text = f"ties resolved: {sum(ties)} (per sample: {', '.join(map(str, ties))})"
    step = f"7 end to end ({name})"
    return [
        CheckResult(step, "decisions beyond margin", float(violations), 0, detail="; ".join(details) or tie_text),
        CheckResult(step, "fake image PSNR dB", None if stored_fake is None else psnr(torch.cat(fakes), stored_fake), MIN_PSNR, True, tie_text),
    ]
