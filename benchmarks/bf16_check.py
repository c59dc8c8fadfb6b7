"""bf16 autocast on the CPU, measured on the embedded (trained) model: quality and speed (issue 13).

    python benchmarks/bf16_check.py [--pairs 64] [--threads 2] [--force] [--json outputs/bench/bf16_check.json]

On a synthetic held-out split (the recipe's held-out seed, at the model's working size):

1. **Quality**: the try-on's SSIM against the ground truth in float32 and in bf16; issue 13 allows
   a drop of at most 0.005 (``tests/test_embedded_model.py`` checks one pair on any CPU).
2. **Closeness to float32 eager** on the first batch, tie-aware as parity step 7, with
   :mod:`acgpn.speed`'s autocast tolerances (tie margin, PSNR).
3. **Speed**: float32 and bf16 (both channels_last), alternating rounds of one batch, medians.

Without AVX512-BF16/AMX the CPU has no native bf16: the script says so and stops, unless ``--force``
(emulated bf16: its numbers are real, its speed is not).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from acgpn.data import TryOnDataset
from acgpn.modules.decisions import TieAwareDecisions
from acgpn.parity import psnr
from acgpn.pipeline import TryOnPipeline
from acgpn.recipes import HELD_OUT_SEED, score_tryon
from acgpn.runtime import tune_cpu_allocator
from acgpn.speed import AUTOCAST_MIN_PSNR, AUTOCAST_TIE_MARGIN, apply_speed_options, cpu_supports_bf16
from acgpn.synth import generate_dataset

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pairs", type=int, default=64, help="held-out synthetic pairs to score")
    p.add_argument("--batch", type=int, default=8, help="batch size (scoring and timing)")
    p.add_argument("--rounds", type=int, default=6, help="alternating timing rounds")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--force", action="store_true", help="run bf16 emulated on a CPU without native bf16")
    p.add_argument("--json", type=Path, default=REPO / "outputs" / "bench" / "bf16_check.json")
    args = p.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    native = cpu_supports_bf16()
    if not native and not args.force:
        print("this CPU has no native bf16 (AVX512-BF16 or AMX-BF16): nothing to measure (--force runs it emulated)")
        return
    tune_cpu_allocator()
    torch.set_num_threads(args.threads)
    fp32, bf16 = TryOnPipeline.from_pretrained(), TryOnPipeline.from_pretrained()
    fp32.set_channels_last(True)
    notes = apply_speed_options(bf16, channels_last=True, autocast="bf16", force_autocast=args.force)
    record: dict = {"native_bf16": native, "threads": args.threads, "pairs": args.pairs, "notes": notes}
    with tempfile.TemporaryDirectory(prefix="acgpn-bf16-") as tmp:
        root = generate_dataset(Path(tmp) / "held_out", args.pairs, fp32.working_size, HELD_OUT_SEED, "test")
        for name, pipe in (("fp32", fp32), ("bf16", bf16)):
            record[f"ssim_{name}"] = score_tryon(pipe, root, batch_size=args.batch).summary["ssim"]
        record["ssim_drop"] = record["ssim_fp32"] - record["ssim_bf16"]
        print(f"try-on SSIM against the ground truth over {args.pairs} pairs: float32 {record['ssim_fp32']:.4f}, "
              f"bf16 {record['ssim_bf16']:.4f}, drop {record['ssim_drop']:.2e} (budget 0.005)")  # fmt: skip

        dataset = TryOnDataset(root, pairs=root / "test_pairs_unpaired.txt")
        batch = torch.utils.data.default_collate([dataset[i] for i in range(min(args.batch, len(dataset)))])
        b, (h, w) = batch["image"].shape[0], batch["image"].shape[-2:]
        noise = fp32.sample_noise(b, h, w, torch.Generator().manual_seed(0))
        with torch.inference_mode():
            ref = fp32.run_steps(batch, noise=noise)
            decisions = TieAwareDecisions(ref.layout_ids, ref.predicted_cloth_mask, tie_margin=AUTOCAST_TIE_MARGIN)
            out = bf16.run_steps(batch, noise=noise, decisions=decisions)
        record["psnr_db"] = psnr(out.fake_image, ref.fake_image)
        record["ties"], record["beyond_margin"] = decisions.ties_resolved, decisions.violations
        ok = decisions.violations == 0 and record["psnr_db"] >= AUTOCAST_MIN_PSNR
        print(f"bf16 against float32 eager (batch {b}, tie-aware, margin {AUTOCAST_TIE_MARGIN}): {record['psnr_db']:.1f} dB, "
              f"{decisions.ties_resolved} ties, {decisions.violations} beyond the margin -> "
              f"{'within' if ok else 'OUTSIDE'} the autocast tolerances (>= {AUTOCAST_MIN_PSNR} dB, 0 beyond)")  # fmt: skip

        seconds: dict[str, list[float]] = {"fp32": [], "bf16": []}
        with torch.inference_mode():
            for pipe in (fp32, bf16):  # warm-up
                pipe(batch, noise=noise)
            for round_ in range(args.rounds):
                for name in (("fp32", "bf16") if round_ % 2 == 0 else ("bf16", "fp32")):
                    t0 = time.perf_counter()
                    (fp32 if name == "fp32" else bf16)(batch, noise=noise)
                    seconds[name].append((time.perf_counter() - t0) / b)
        ratios = [f / g for f, g in zip(seconds["fp32"], seconds["bf16"])]
        record["s_per_image"], record["speedup"] = seconds, statistics.median(ratios)
        print(f"speed (embedded model, {h}x{w}, batch {b}, {args.threads} threads, {args.rounds} alternating rounds): "
              f"float32 {statistics.median(seconds['fp32']) * 1e3:.1f} ms/image, bf16 "
              f"{statistics.median(seconds['bf16']) * 1e3:.1f} ms/image, bf16 {record['speedup']:.2f}x"
              + ("" if native else " (emulated: not a speed)"))  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
