"""Parity with the official forward: the deterministic weight recipe and the stage-by-stage protocol.

The shared vectors file (``parity_seed1.safetensors``) holds inputs, noise and every intermediate of
the official forward with recipe weights. Each stage is fed the *stored* outputs of the previous
ones ("teacher forcing"), because argmax/threshold decisions sit on boundaries and the STN points
amplify rounding downstream (reference README). Tolerances are the protocol's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import torch
from safetensors import SafetensorError, safe_open
from torch import Tensor, nn

from acgpn import checkpoints
from acgpn.errors import InputError
from acgpn.modules import cfm, cwm, sgm
from acgpn.ops.masks import argmax_label
from acgpn.pipeline import TryOnPipeline
from acgpn.pose import pose_map

#: Net index of the recipe (U=0, G1=1, G2=2, G=3).
RECIPE_NET_INDEX: Final = {"u": 0, "g1": 1, "g2": 2, "g": 3}
#: Crop of the G1 probabilities stored in the vectors: rows 96:160, cols 72:120 (at 256x192).
G1_CROP: Final = (slice(96, 160), slice(72, 120))


def recipe_state_dict(net: nn.Module, seed: int, net_index: int) -> dict[str, Tensor]:
    """Deterministic weights of the reference README for ``net`` (state-dict order = official order)."""
    state = {}
    for i, (key, ref) in enumerate(net.state_dict().items()):
        if key.startswith("stn.tps."):
            state[key] = ref.clone()
            continue
        shape = tuple(ref.shape)
        z = torch.randn(shape, generator=torch.Generator().manual_seed(seed * 1000 + 100 * net_index + i), dtype=torch.float32)
        if key == "stn.loc_net.cnn.fc2.bias":
            rows, cols = net.grid_shape
            pts = [(-0.9 + 0.45 * c, -0.9 + 0.45 * r) for r in range(rows) for c in range(cols)]
            flat = torch.tensor([v for p in pts for v in p], dtype=torch.float64)
            state[key] = torch.atanh(flat).to(torch.float32) + 0.02 * z
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
        net = checkpoints.build_net(checkpoints.OFFICIAL_CONFIG[name])
        net.load_state_dict(recipe_state_dict(net, seed, RECIPE_NET_INDEX[name]))
        nets[name] = net.eval()
    return nets


def recipe_pipeline(seed: int, align_corners: bool = False) -> TryOnPipeline:
    """A :class:`TryOnPipeline` with recipe weights (what the parity vectors were made with)."""
    return TryOnPipeline(**recipe_nets(seed), align_corners=align_corners)


@dataclass
class CheckResult:
    """One line of the protocol."""

    step: str
    metric: str
    value: float
    tolerance: float
    higher_is_better: bool = False

    @property
    def passed(self) -> bool:
        return self.value >= self.tolerance if self.higher_is_better else self.value <= self.tolerance

    def __str__(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        return f"{'PASS' if self.passed else 'FAIL'}  {self.step:<34} {self.metric:<24} {self.value:.3g} (tolerance {op} {self.tolerance:g})"


def load_vectors(path: str | Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Read a vectors file -> (tensors, metadata); clear errors for missing/corrupt files."""
    path = Path(path)
    try:
        with safe_open(str(path), "pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
            meta = f.metadata() or {}
    except FileNotFoundError:
        raise InputError("file not found (expected a parity vectors .safetensors file)", path) from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise InputError(f"not a readable safetensors file ({str(exc)[:100]})", path) from None
    needed = ["input.label", "input.edge", "input.color", "input.image", "input.pose_keypoints", "out.fake_image"]
    missing = [k for k in needed if k not in tensors]
    if missing:
        raise InputError(f"not a parity vectors file: missing {', '.join(missing)}", path)
    if "seed" not in meta or not re.search(r"randn\(S\*1000\+100\*net_index\+i\)", meta.get("recipe", "")):
        raise InputError("metadata lacks the seed / weight recipe of the shared format", path)
    return tensors, meta


def _psnr(a: Tensor, b: Tensor) -> float:
    mse = float(((a - b) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(4.0 / mse)  # peak-to-peak 2 for [-1, 1]


def _max_abs(a: Tensor, b: Tensor) -> float:
    return float((a - b).abs().max())


def run_parity(
    path: str | Path,
    device: str = "cpu",
    pipe: TryOnPipeline | None = None,
    log: Callable[[str], None] | None = None,
    fast_math: bool = True,
) -> list[CheckResult]:
    """The reference protocol, steps 1-7, on one vectors file. Returns every check.

    Without ``pipe``, the recipe weights named by the file's metadata are built (with ``fast_math``).
    """
    t, meta = load_vectors(path)
    pipe = pipe or recipe_pipeline(int(meta["seed"])).set_fast_math(fast_math)
    pipe = pipe.to(device=device, dtype=torch.float32)
    t = {k: v.to(device) for k, v in t.items()}
    label, edge, color, image = t["input.label"], t["input.edge"], t["input.color"], t["input.image"]
    pose = pose_map(t["input.pose_keypoints"], *image.shape[-2:])
    noise = {"g1": t["input.noise_g1"], "g2": t["input.noise_g2"], "g": t["input.noise_g"]}
    results: list[CheckResult] = []

    def add(r: CheckResult) -> None:
        results.append(r)
        if log:
            log(str(r))

    with torch.no_grad():
        if "check.pose_map_row_sum" in t:
            err = max(_max_abs(pose.sum(-1), t["check.pose_map_row_sum"]), _max_abs(pose.sum(-2), t["check.pose_map_col_sum"]))
            add(CheckResult("0 pose map", "row/col sums max-abs", err, 0.0))
        cloth_mask, cloth = sgm.masked_cloth(color, edge)
        # 1. G1 from inputs.
        prob = sgm.predict_layout(pipe.g1, cloth_mask, cloth, sgm.fused_body_mask(label), pose, noise["g1"])
        add(CheckResult("1 G1 layout", "prob crop max-abs", _max_abs(prob[:, :, G1_CROP[0], G1_CROP[1]], t["out.g1_prob_crop"]), 1e-4))
        mism = float((argmax_label(prob) != t["out.g1_label"]).float().mean()) * 100
        add(CheckResult("1 G1 layout", "label mismatch %", mism, 0.1))
        # 2. G2 from inputs + stored G1 labels.
        g2 = sgm.predict_cloth_mask(pipe.g2, cloth_mask, cloth, t["out.g1_label"], pose, noise["g2"])
        add(CheckResult("2 G2 cloth mask", "prob max-abs", _max_abs(g2, t["out.g2_prob"]), 1e-4))
        # 3. Composition from stored G1 labels and G2 probabilities.
        comp = cfm.compose(image, label, t["out.g1_label"], t["out.g2_prob"])
        add(CheckResult("3 composition", "cloth mask mismatches", float((comp.cloth_mask != t["out.cloth_mask_final"]).sum()), 0))
        add(CheckResult("3 composition", "final label mismatches", float((comp.final_label != t["out.final_label"]).sum()), 0))
        # 4. STN from the stored final cloth mask.
        points = pipe.u.control_points(cloth, t["out.cloth_mask_final"], cloth_mask)
        add(CheckResult("4 STN control points", "max-abs", _max_abs(points, t["out.tps_control_points"]), 1e-5))
        if "out.tps_inverse_kernel" in t:
            add(CheckResult("4 TPS inverse kernel", "max-abs", _max_abs(pipe.u.stn.tps.inverse_kernel, t["out.tps_inverse_kernel"]), 1e-6))
        # 5. TPS warp + refinement from stored points.
        warped = cwm.warp_cloth(pipe.u, cloth, t["out.tps_control_points"], pipe.align_corners)
        add(CheckResult("5 TPS warp", "warped cloth max-abs", _max_abs(warped, t["out.warped_cloth"]), 1e-4))
        refined, _ = cwm.refine_cloth(pipe.u, t["out.warped_cloth"], t["out.cloth_mask_final"])
        add(CheckResult("5 refinement (eq. 6)", "refined cloth max-abs", _max_abs(refined, t["out.refined_cloth"]), 1e-3))
        # 6. G from stored refined cloth and masks.
        skin = cfm.skin_color(image, label)
        add(CheckResult("6 skin colour", "max-abs", _max_abs(skin, t["out.skin_color"]), 1e-6))
        stored = cfm.compose(image, label, t["out.g1_label"], t["out.g2_prob"])
        fake = cfm.content_fusion(pipe.g, stored.body_image, t["out.final_label"], t["out.refined_cloth"], skin, noise["g"])
        add(CheckResult("6 G fusion", "fake image max-abs", _max_abs(fake, t["out.fake_image"]), 1e-3))
        # 7. End to end, batched, no teacher forcing.
        out = pipe({"image": image, "label": label, "cloth": color, "edge": edge, "pose": pose}, noise=noise)
        add(CheckResult("7 end to end (batched)", "fake image PSNR dB", _psnr(out.fake_image, t["out.fake_image"]), 35.0, True))
        # 7b. End to end one sample at a time (how the official code ran).
        singles = [
            pipe({"image": image[i : i + 1], "label": label[i : i + 1], "cloth": color[i : i + 1], "edge": edge[i : i + 1], "pose": pose[i : i + 1]},
                 noise={k: v[i : i + 1] for k, v in noise.items()}).fake_image
            for i in range(image.shape[0])
        ]  # fmt: skip
        add(CheckResult("7 end to end (per sample)", "fake image PSNR dB", _psnr(torch.cat(singles), t["out.fake_image"]), 35.0, True))
    return results
