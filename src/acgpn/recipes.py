"""The synthetic learning recipe (``make train-synthetic``) and the try-on demo (``make demo``).

Synthetic people (:mod:`acgpn.synth`) come with exact ground truth even for *unpaired* try-on
(person *i* wearing cloth *i*+1), so they show whether the trainer learns:

1. :func:`train_synthetic` synthesises a train split and a held-out split (distinct seeds),
   trains a reduced-width ACGPN at 128x96 stage by stage with :func:`acgpn.train.train` (SGM, then
   CWM, then CFM, each starting from the previous stage's ``checkpoints/latest``; teacher forcing,
   as the official training; then CFM once more on the pipeline's own predicted inputs, what G
   sees at inference), scores it on the held-out unpaired pairs
   (:func:`score_tryon`), and repeats the CWM stage with the second-order constraint off
   (eqs. 3-4, the ablation) to score that too.
2. :func:`score_tryon` runs a pipeline on a synthetic split's unpaired pairs and scores every pair
   with :func:`acgpn.evaluation.synthetic.score_synthetic_pair` against the ground truth: the
   layout (G1's ids with the final cloth mask M as id 4, i.e. SGM's whole layout; G1's ids alone
   leave the cloth region 0 by design and are reported as ``g1_layout_miou``), the cloth masks,
   the warped cloth beside the no-warp baseline, the try-on's SSIM / L1 and the clothes-and-arms
   L1 beside doing nothing, and the TPS distortion.
3. :func:`run_demo` synthesises new people with a seed no training saw, runs unpaired try-on with
   the embedded model at the users' 256x192 and draws ``tryon_sheet.png``.

``python -m acgpn.recipes --out DIR`` runs the recipe (what ``make train-synthetic`` calls);
``--framing upper`` runs it on people framed as VITON frames them (:data:`acgpn.synth.person.FRAMINGS`).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, default_collate

from acgpn import labels as L
from acgpn.data import TryOnDataset
from acgpn.data.layouts import output_name
from acgpn.data.size import Size, format_size
from acgpn.evaluation.evaluate import read_ids, read_rgb
from acgpn.evaluation.ssim import ssim
from acgpn.evaluation.synthetic import label_iou_counts, mean_iou, score_synthetic_pair, summarize_synthetic
from acgpn.errors import InputError
from acgpn.fileio import check_folder_target, save_text, to_uint8_image
from acgpn.inference import pair_noise
from acgpn.nets import UNet, WarpNet
from acgpn.nets.unet import OFFICIAL_UNET_CHANNELS
from acgpn.pipeline import TryOnOutput, TryOnPipeline
from acgpn.synth import generate_dataset
from acgpn.synth.dataset import check_framing, folder_paths
from acgpn.synth.sheet import draw_sheet

#: Seeds of the recipe's splits and of the demo (never used for training).
TRAIN_SEED: Final = 1
HELD_OUT_SEED: Final = 2
DEMO_SEED: Final = 20260
#: The targets of the recipe (issue 10): metric -> (comparison, bound).
TARGETS: Final = {
    "layout_miou": (">=", 0.75),
    "cloth_mask_iou": (">=", 0.85),
    "warped_l1_ratio": ("<=", 0.5),
    "ssim": (">=", 0.92),
    "masked_l1_ratio": ("<=", 0.5),
}
#: Rows of the score table, in order: (key, description).
TABLE_ROWS: Final = (
    ("layout_miou", "layout mIoU, 14 ids (G1 + final cloth mask)"),
    ("g1_layout_miou", "layout mIoU of G1's ids alone (cloth region 0)"),
    ("cloth_mask_iou", "cloth-mask IoU, final mask M"),
    ("g2_cloth_mask_iou", "cloth-mask IoU, G2 (M^S_c > 0.5)"),
    ("warped_l1", "warped-cloth L1 in the GT cloth"),
    ("warped_l1_no_warp", "  no-warp baseline (product image)"),
    ("warped_l1_ratio", "  ratio warped / no-warp"),
    ("ssim", "try-on SSIM"),
    ("ssim_do_nothing", "  do-nothing SSIM (person image)"),
    ("l1", "try-on L1"),
    ("masked_l1", "clothes-and-arms L1"),
    ("masked_l1_do_nothing", "  do-nothing"),
    ("masked_l1_ratio", "  ratio try-on / do-nothing"),
    ("tps_area_cv", "TPS cell-area spread (CV)"),
    ("tps_folded_cells", "TPS folded cells (of 16)"),
)
SHEET_COLUMNS: Final = ("person", "cloth", "predicted layout", "warped cloth", "try-on", "ground truth")


# ----------------------------------------------------------------------------- scoring
def sgm_layout(out: TryOnOutput) -> torch.Tensor:
    """SGM's whole layout (B, 1, H, W): G1's ids with the final cloth mask M as upper clothes (4)."""
    return torch.where(out.target_cloth_mask > 0.5, torch.full_like(out.layout_ids, L.UPPER_CLOTHES), out.layout_ids)


@dataclass
class TryOnScores:
    """Set-level scores, per-pair values and (optionally) the sheet panels of each pair."""

    summary: dict[str, float]
    per_pair: list[dict[str, Any]] = field(default_factory=list)
    panels: list[list[np.ndarray]] = field(default_factory=list)
    seconds: float = 0.0


def _unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] on the CPU, float32."""
    return ((x.detach().float().cpu() + 1) / 2).clamp(0, 1)


def score_tryon(
    pipe: TryOnPipeline,
    root: str | Path,
    phase: str = "test",
    seed: int = 0,
    batch_size: int = 8,
    limit: int | None = None,
    keep_panels: int = 0,
) -> TryOnScores:
    """Unpaired try-on on a synthetic split (``<phase>_pairs_unpaired.txt``), scored against its
    ground truth (see the module docstring); ``keep_panels`` rows of sheet panels are kept."""
    start = time.perf_counter()
    root = Path(root)
    folders = folder_paths(root, phase)
    dataset = TryOnDataset(root, dataset_layout="viton", phase=phase, pairs=root / f"{phase}_pairs_unpaired.txt")
    indices = list(range(len(dataset) if limit is None else min(limit, len(dataset))))
    loader = DataLoader(torch.utils.data.Subset(dataset, indices), batch_size=batch_size, collate_fn=default_collate)
    scores, per_pair, panels = [], [], []
    g1_inter, g1_union = torch.zeros(L.NUM_LABELS, dtype=torch.long), torch.zeros(L.NUM_LABELS, dtype=torch.long)
    for batch in loader:
        h, w = batch["image"].shape[-2:]
        out = pipe(batch, noise=pair_noise(pipe, seed, batch["person"], batch["cloth_name"], h, w))
        layout = sgm_layout(out).cpu()
        for k, (person, cloth) in enumerate(zip(batch["person"], batch["cloth_name"])):
            name = output_name(person, cloth, "")
            reference = read_rgb(folders["gt_unpaired"] / f"{name}.jpg", "a ground-truth try-on image")
            reference_label = read_ids(folders["gt_unpaired_label"] / f"{name}.png", "a ground-truth label map")
            tryon, image, cloth_image = _unit(out.fake_image[k]), _unit(batch["image"][k]), _unit(batch["cloth"][k])
            pair = score_synthetic_pair(
                tryon, image, batch["label"][k, 0].long(), reference, reference_label, False, cloth_image,
                layout_ids=layout[k, 0], target_cloth_mask=out.target_cloth_mask[k, 0].cpu() > 0.5,
                g2_cloth_mask=out.cloth_mask_prob[k, 0].cpu() > 0.5, warped_cloth=_unit(out.warped_cloth[k]),
                control_points=out.control_points[k].cpu(),
            )  # fmt: skip
            inter, union = label_iou_counts(out.layout_ids[k, 0].cpu(), reference_label)
            g1_inter, g1_union = g1_inter + inter, g1_union + union
            pair.values["ssim"] = float(ssim(tryon[None], reference[None])[0])
            pair.values["l1"] = float((tryon - reference).abs().mean())
            scores.append(pair)
            per_pair.append({"person": person, "cloth": cloth, **pair.values})
            if len(panels) < keep_panels:
                panels.append([
                    to_uint8_image(batch["image"][k]), to_uint8_image(batch["cloth"][k]), L.colorize(layout[k]),
                    to_uint8_image(out.warped_cloth[k]), to_uint8_image(out.fake_image[k]),
                    (reference.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8),
                ])  # fmt: skip
    summary = summarize_synthetic(scores)
    g1 = mean_iou(g1_inter, g1_union)
    if g1 is not None:
        summary["g1_layout_miou"] = g1
    summary["pairs"] = float(len(scores))
    return TryOnScores(summary, per_pair, panels, time.perf_counter() - start)


def passes(summary: dict[str, float]) -> dict[str, bool]:
    """Each target of :data:`TARGETS` met or not (missing scores fail)."""
    result = {}
    for key, (op, bound) in TARGETS.items():
        value = summary.get(key)
        result[key] = value is not None and (value >= bound if op == ">=" else value <= bound)
    return result


def score_table(columns: dict[str, dict[str, float]]) -> str:
    """Markdown table: one row per :data:`TABLE_ROWS` entry, one column per scored model, and the target."""
    names = list(columns)
    lines = ["| score | " + " | ".join(names) + " | target |", "| --- |" + " --- |" * (len(names) + 1)]
    for key, title in TABLE_ROWS:
        if not any(key in c for c in columns.values()):
            continue
        cells = []
        for name in names:
            value = columns[name].get(key)
            text = "—" if value is None else (f"{value:.2f}" if key == "tps_folded_cells" else f"{value:.3f}")
            if key in TARGETS and value is not None:
                text += " ✓" if passes({key: value})[key] else " ✗"
            cells.append(text)
        target = f"{TARGETS[key][0].replace('>=', '≥').replace('<=', '≤')} {TARGETS[key][1]}" if key in TARGETS else ""
        lines.append(f"| {title} | " + " | ".join(cells) + f" | {target} |")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the demo


def run_demo(
    out_dir: str | Path,
    num: int = 6,
    seed: int = DEMO_SEED,
    size: Size = (256, 192),
    model: str | Path = "synthetic",
    device: str | torch.device = "cpu",
    preserve_content: bool | None = None,
) -> TryOnScores:
    """Synthesise ``num`` new people and clothes into ``out_dir/data`` (``seed``: one no training
    used), run unpaired try-on with ``model`` (``preserve_content``: None keeps the model's setting)
    and write ``out_dir/tryon_sheet.png`` and ``out_dir/scores.json``."""
    out_dir = Path(out_dir)
    pipe = TryOnPipeline.from_pretrained(model, device=device)  # a bad model: refused before anything is written
    data = generate_dataset(out_dir / "data", num, size, seed, "test")
    if preserve_content is not None:
        pipe.preserve_content = preserve_content
    scores = score_tryon(pipe, data, "test", keep_panels=num)
    draw_sheet(scores.panels, out_dir / "tryon_sheet.png", SHEET_COLUMNS)
    save_text(out_dir / "scores.json", json.dumps({"summary": scores.summary, "per_pair": scores.per_pair}, indent=2) + "\n")
    return scores


# ----------------------------------------------------------------------------- the recipe
@dataclass
class StageSettings:
    """One run of :func:`acgpn.train.train` within the recipe."""

    stage: str  # the trainer's stage: sgm | cwm | cfm
    steps: int
    batch_size: int
    lr: float
    losses: dict[str, float] = field(default_factory=dict)  # LossConfig overrides
    inputs: str = "teacher"  # G's inputs: ground truth, or "predicted" (the pipeline's own, as at inference)


def _default_stages() -> dict[str, StageSettings]:
    """The recipe's runs, in order (name -> settings); each starts from the previous one's nets."""
    l1_only = {"gan": 0.0, "feature_matching": 0.0}  # in 500 steps the adversarial terms cost SSIM (0.86 vs 0.91)
    return {
        # G1 learns the small ids (shoes, legs) last: many small batches at a high lr.
        "sgm": StageSettings("sgm", steps=800, batch_size=2, lr=3e-3),
        "cwm": StageSettings("cwm", steps=300, batch_size=4, lr=1e-3),
        "cfm": StageSettings("cfm", steps=250, batch_size=4, lr=2e-3, losses=l1_only),
        # then G on the layout, composition and refined cloth the pipeline itself makes (what it
        # sees at inference): +0.014 SSIM and clothes-and-arms L1 ratio 0.68 -> 0.59 in 300 steps;
        # 500 steps with preserved content's L1 (_train_stage): ratio 0.489, 12.6 min in all on 2 threads.
        "cfm_own": StageSettings("cfm", steps=500, batch_size=4, lr=1e-3, losses=l1_only, inputs="predicted"),
    }


@dataclass
class RecipeConfig:
    """Settings of :func:`train_synthetic` (defaults: ``make train-synthetic``)."""

    out: str = "outputs/train-synthetic"
    train_num: int = 600
    held_out_num: int = 64
    size: Size = (128, 96)
    #: U-Net base widths; G needs more width than the others to carry colours through its
    #: instance norms (at 8 it desaturates them).
    widths: dict[str, int] = field(default_factory=lambda: {"g1": 8, "g2": 8, "u": 8, "g": 16})
    loc_channels: tuple[int, ...] = (8, 16, 32, 64, 128)  # U's loc-net, run at ``size``
    ndf: int = 4  # discriminators: their first conv, on 38-51 channels at full size, dominates a step
    num_d: int = 1
    stages: dict[str, StageSettings] = field(default_factory=_default_stages)
    decay_start: float = 0.7  # fraction of each stage's steps before its lr decays linearly to 0
    #: Weight of the second-order constraint (paper form, eqs. 3-4). At 1 it forbids the uneven
    #: spacing that the tanh-bounded points need to shrink a product image onto the body.
    tps_weight: float = 0.1
    #: The model copies step III's preserved pixels (face, background, ...) from the person into the
    #: try-on (``TryOnPipeline.preserve_content``); G alone repaints them blurred and, since
    #: I_w has no background, on a plain one.
    preserve_content: bool = True
    ablation: bool = True
    seed: int = 0
    threads: int | None = None  # torch intra-op threads (None: torch's default)
    #: Camera of both synthetic splits (acgpn.synth: "full" body, or "upper" as VITON frames it).
    framing: str = "full"


def initial_nets(widths: dict[str, int], loc_channels: Sequence[int], size: Size, seed: int) -> dict[str, nn.Module]:
    """Fresh G1, G2, U, G with PyTorch's default initialisation (on this data it learns faster than
    the official N(0, 0.02)), U starting at the identity warp, and U's loc-net sized for ``size``
    (no resize to 256x192 before it). The global RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        nets: dict[str, nn.Module] = {
            name: UNet(*OFFICIAL_UNET_CHANNELS[name], widths[name]) for name in ("g1", "g2")
        }
        nets["u"] = WarpNet(base_channels=widths["u"], loc_channels=tuple(loc_channels), loc_input_size=tuple(size))
        nets["g"] = UNet(*OFFICIAL_UNET_CHANNELS["g"], widths["g"])
    nets["u"].init_identity()
    return nets


def _train_stage(cfg: RecipeConfig, data: Path, run: Path, name: str, init: Path, log: Callable[[str], None], **losses: Any) -> Path:
    """The recipe's run ``name`` (:func:`acgpn.train.train`) starting from the nets in ``init``."""
    from acgpn.train import preset_config, train

    base, settings = preset_config("paper"), cfg.stages[name]
    # With preserved content, G's pixels count only where they stay in the result (the pasted ones
    # do not): on the embedded model, 300 more cfm_own steps gave a clothes-and-arms ratio of
    # 0.474 this way against 0.498 with the L1 over the whole image.
    if cfg.preserve_content and settings.inputs == "predicted":
        losses = {"fusion_l1_generated": True, **losses}
    config = replace(
        base, data=str(data), out=str(run), stage=settings.stage, inputs=settings.inputs, size=tuple(cfg.size), batch_size=settings.batch_size,
        steps=settings.steps, epochs=None, ngf=max(cfg.widths.values()), ndf=cfg.ndf, num_d=cfg.num_d, init=str(init),
        seed=cfg.seed, device="cpu", lr=settings.lr, decay_start=cfg.decay_start, save_every=10**9, log_every=10,
        image_every=10**9, losses=replace(base.losses, **{"tps_weight": cfg.tps_weight, **settings.losses, **losses}),
    )  # fmt: skip
    result = train(config, progress=False, log=log)
    if result.latest is None or result.interrupted:
        raise RuntimeError(f"recipe run {name} stopped early ({result.interrupted})")
    return result.latest


def _pipeline(cfg: RecipeConfig, folder: Path, u_from: Path | None = None) -> TryOnPipeline:
    """The pipeline of a run's checkpoint (``u`` taken from ``u_from`` if given) at the recipe's size."""
    pipe = TryOnPipeline.from_pretrained(folder)
    if u_from is not None:
        pipe.u = TryOnPipeline.from_pretrained(u_from).u
    pipe.working_size = tuple(cfg.size)
    pipe.preserve_content = cfg.preserve_content
    return pipe


def describe(cfg: RecipeConfig) -> str:
    """One line: data, sizes, widths and each stage's steps x batch at its lr."""
    stages = "; ".join(f"{name} {s.steps} x {s.batch_size} at lr {s.lr:g}" + (f" ({', '.join(f'{k} {v:g}' for k, v in s.losses.items())})" if s.losses else "")
                       + (f" on {s.inputs} inputs" if s.inputs != "teacher" else "")
                       for name, s in cfg.stages.items())  # fmt: skip
    widths = ", ".join(f"{k} {v}" for k, v in cfg.widths.items())
    return (f"{cfg.train_num} training / {cfg.held_out_num} held-out samples at {format_size(cfg.size)}"
            + (f", {cfg.framing} framing" if cfg.framing != "full" else "") + f"; widths {widths}, "
            f"discriminators ndf {cfg.ndf} x {cfg.num_d} scale(s); steps x batch: {stages}; TPS constraint weight {cfg.tps_weight:g}"
            + ("; preserved content, G's L1 outside the preserved pixels on predicted inputs" if cfg.preserve_content else ""))  # fmt: skip


def train_synthetic(cfg: RecipeConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """The whole recipe (module docstring); returns and writes ``OUT/report.json`` and ``OUT/report.md``.
    Runs on ``cfg.threads`` torch threads, if set, and restores the count after."""
    before = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _train_synthetic(cfg, log)
    finally:
        torch.set_num_threads(before)


def _train_synthetic(cfg: RecipeConfig, log: Callable[[str], None]) -> dict[str, Any]:
    out = Path(cfg.out)
    clock: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        w, c = time.perf_counter(), time.process_time()
        value = fn()
        clock[name], cpu[name] = time.perf_counter() - w, time.process_time() - c
        log(f"[{name}] {clock[name]:.0f} s wall, {cpu[name]:.0f} s CPU")
        return value

    train_dir, test_dir = out / "data" / "train", out / "data" / "held_out"
    timed("synthesise", lambda: (generate_dataset(train_dir, cfg.train_num, cfg.size, TRAIN_SEED, "train", cfg.framing),
                                  generate_dataset(test_dir, cfg.held_out_num, cfg.size, HELD_OUT_SEED, "test", cfg.framing)))  # fmt: skip
    init = out / "init"
    TryOnPipeline(**initial_nets(cfg.widths, cfg.loc_channels, cfg.size, cfg.seed)).save_pretrained(init)  # type: ignore[arg-type]
    latest = init
    for name in cfg.stages:
        latest = timed(f"train {name}", lambda s=name, i=latest: _train_stage(cfg, train_dir, out / "runs" / s, s, i, log))
    model = _pipeline(cfg, latest)
    model.save_pretrained(out / "model")
    columns = {"constraint on": timed("score", lambda: score_tryon(model, test_dir)).summary}
    if cfg.ablation:
        sgm_latest = out / "runs" / "sgm" / "checkpoints" / "latest"
        ablated = timed("train cwm, constraint off", lambda: _train_stage(cfg, train_dir, out / "runs" / "cwm_no_constraint", "cwm", sgm_latest, log, tps_weight=0.0))
        columns["constraint off"] = timed("score ablation", lambda: score_tryon(_pipeline(cfg, latest, ablated), test_dir)).summary
    training = sum(v for k, v in clock.items() if k.startswith("train"))
    total = sum(clock.values())
    report = {
        "config": {**asdict(cfg), "size": list(cfg.size)},
        "description": describe(cfg),
        "scores": columns,
        "targets_met": {name: passes(c) for name, c in columns.items()},
        "seconds_wall": clock, "seconds_cpu": cpu, "training_seconds_wall": training, "total_seconds_wall": total,
        "total_seconds_cpu": sum(cpu.values()), "threads": torch.get_num_threads(), "torch": torch.__version__,
    }  # fmt: skip
    times = ", ".join(f"{k} {clock[k]:.0f} s ({cpu[k]:.0f} s CPU)" for k in clock)
    text = (f"# Synthetic learning recipe\n\n{describe(cfg)}.\n\n{score_table(columns)}\n\n"
            f"Time: {times}; total {total:.0f} s wall-clock, {sum(cpu.values()):.0f} s CPU ({torch.get_num_threads()} thread(s)).\n")  # fmt: skip
    save_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    save_text(out / "report.md", text)
    log(text)
    return report


def export_model(run: str | Path, dest: str | Path, command: str, log: Callable[[str], None] = print) -> Path:
    """Write the recipe run's model into ``dest`` as an embedded model: parameters stored in float16
    (buffers such as the TPS kernels stay float32; everything loads as float32), ``config.json``
    with the working size, and a ``MODEL_CARD.md`` with ``command``, the time and the scores
    (held-out at the training size, and the demo's pairs at 256x192 through the resize)."""
    run, dest = Path(run), Path(dest)
    report = json.loads((run / "report.json").read_text())
    pipe = TryOnPipeline.from_pretrained(run / "model")
    for p in pipe.parameters():  # parameters only: the TPS buffers stay float32
        p.data = p.data.half()
    pipe.save_pretrained(dest)
    params = sum(p.numel() for p in pipe.parameters())
    demo = run_demo(run / "demo", model=dest)
    cfg = report["config"]
    train_wall = report["training_seconds_wall"]
    train_cpu = sum(v for k, v in report["seconds_cpu"].items() if k.startswith("train"))
    preserved = ("on: the face, hair, legs and background of a try-on are the person's own pixels at the input's\n  "
                 "resolution, and G generates the new cloth and the arms") if pipe.preserve_content else "off: G repaints the whole image"
    ablation_note = " (the ablation retrains U with the second-order constraint off)" if len(report["scores"]) > 1 else ""
    card = f"""# Embedded model `synthetic`

**Trained on synthetic people only** (`acgpn synth`: procedural bodies, flat product clothes, plain
light backgrounds), never on photos. It shows the whole ACGPN pipeline working on a fresh install
with nothing downloaded; it is not a try-on model for real photos.

* Architecture: ACGPN's four nets at reduced width (U-Net base widths {", ".join(f"{k} {v}" for k, v in cfg["widths"].items())};
  U's loc-net channels {tuple(cfg["loc_channels"])} on 128x96 inputs): {params / 1e6:.2f} M
  parameters, stored in float16 and loaded as float32
  ({(dest / "model.safetensors").stat().st_size / 2**20:.1f} MiB).
* Working size {format_size(cfg["size"])} (`"working_size"` in `config.json`): the pipeline resizes
  other inputs (e.g. 256x192) to it and its outputs back.
* Preserved content {preserved} (`"preserve_content"` in `config.json`; `--preserve` / `--no-preserve`
  overrides it).
* Data: synthetic training split seed {TRAIN_SEED}, held-out split seed {HELD_OUT_SEED}; the demo
  uses seed {DEMO_SEED}, which no training saw.
* Training (`acgpn.recipes`, on `acgpn train`): stage by stage (SGM, CWM, CFM, each from the previous
  stage's checkpoint) with teacher forcing, then CFM again on the pipeline's own predictions
  (`cfm_own`), the paper preset without the VGG term (no VGG19 weights here):
  {report["description"]}.
* Time: {train_wall:.0f} s of training wall-clock ({train_cpu:.0f} s CPU, {report["threads"]}
  thread(s), torch {report["torch"]}) on a 2-core machine shared with other jobs.

Command (from the repository root):

```
{command}
```

## Scores

Held-out unpaired pairs at {format_size(cfg["size"])}{ablation_note}:

{score_table(report["scores"])}

The demo's {int(demo.summary["pairs"])} unpaired pairs (`acgpn demo-tryon`, seed {DEMO_SEED}) at 256x192,
through the resize:

{score_table({"demo, 256x192": demo.summary})}
"""
    save_text(dest / "MODEL_CARD.md", card)
    log(f"exported {run / 'model'} -> {dest} ({params / 1e6:.2f} M parameters)")
    return dest


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m acgpn.recipes [--out DIR] [--steps-scale F] [--threads N] [--no-ablation] [--export DIR]``"""
    defaults = RecipeConfig()
    parser = argparse.ArgumentParser(prog="python -m acgpn.recipes", description="Synthetic learning recipe (make train-synthetic).")
    parser.add_argument("--out", default=defaults.out)
    parser.add_argument("--train-num", type=int, default=defaults.train_num)
    parser.add_argument("--held-out-num", type=int, default=defaults.held_out_num)
    for name, settings in defaults.stages.items():
        parser.add_argument(f"--{name.replace('_', '-')}-steps", dest=f"{name}_steps", type=int, default=None, help=f"default {settings.steps}")
    parser.add_argument("--steps-scale", type=float, default=1.0, help="Multiply every stage's default steps (a longer run).")
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--framing", default=defaults.framing, help="Camera of the synthetic people: full (whole body) or upper (as VITON).")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 is fastest on a busy machine).")
    parser.add_argument("--export", default=None, help="Then write the model as an embedded model into this folder (e.g. src/acgpn/assets/synthetic).")
    args = parser.parse_args(argv)
    try:
        cfg = _checked_recipe(args, defaults)
        train_synthetic(cfg)
        if args.export:
            import shlex

            command = "python -m acgpn.recipes " + shlex.join(sys.argv[1:] if argv is None else list(argv))
            export_model(cfg.out, args.export, command)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _checked_recipe(args: argparse.Namespace, defaults: RecipeConfig) -> RecipeConfig:
    """The recipe's settings from the command line, every value checked before any work
    (:class:`InputError` naming the option)."""
    if not (math.isfinite(args.steps_scale) and args.steps_scale > 0):
        raise InputError(f"must be a finite number > 0 (found {args.steps_scale})", "--steps-scale")
    for option, value, low in (("--train-num", args.train_num, 2), ("--held-out-num", args.held_out_num, 2), ("--threads", args.threads, 1)):
        if value is not None and value < low:
            raise InputError(f"must be at least {low} (found {value})", option)
    steps = {}
    for name, settings in defaults.stages.items():
        given = getattr(args, f"{name}_steps")
        if given is not None and given < 1:
            raise InputError(f"must be at least 1 (found {given})", f"--{name.replace('_', '-')}-steps")
        steps[name] = given if given is not None else max(1, round(settings.steps * args.steps_scale))
    check_framing(args.framing)
    check_folder_target(args.out)
    if args.export:
        check_folder_target(args.export)
    stages = {name: replace(s, steps=steps[name]) for name, s in defaults.stages.items()}
    return replace(defaults, out=args.out, train_num=args.train_num, held_out_num=args.held_out_num, stages=stages,
                   ablation=not args.no_ablation, threads=args.threads, framing=args.framing)  # fmt: skip


if __name__ == "__main__":
    main()
