"""Inference speed and peak memory of TryOnPipeline at official sizes (256x192, CPU by default).

    python benchmarks/bench_inference.py                   # batch 1, 4, 8; 5 timed runs each
    python benchmarks/bench_inference.py --batch-sizes 4 --repeats 7

Each batch size runs in a fresh subprocess (so peak RSS is that configuration's own): one warm-up,
then ``--repeats`` timed forwards; the table reports medians. Weights come from the parity recipe
(cost does not depend on weight values). The official figures are the spec's (§6), measured on
this machine class with the official code patched to run on the CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

OFFICIAL = {1: (2.94, 1.05), 4: (2.66, 1.53)}  # s/image, peak GiB (batch 4 = four batch-1 calls)


def make_batch(b: int, h: int, w: int):
    import torch

    g = torch.Generator().manual_seed(0)
    label = torch.randint(0, 14, (b, 1, h, w), generator=g).float()
    return {
        "image": torch.rand(b, 3, h, w, generator=g) * 2 - 1, "label": label,
        "cloth": torch.rand(b, 3, h, w, generator=g) * 2 - 1, "product_mask": (torch.rand(b, 1, h, w, generator=g) > 0.3).float(),
        "pose": torch.where(torch.rand(b, 18, h, w, generator=g) > 0.98, 1.0, -1.0),
    }  # fmt: skip


def worker(args: argparse.Namespace) -> None:
    import torch

    from acgpn.parity import recipe_pipeline
    from acgpn.runtime import tune_cpu_allocator

    if args.device == "cpu":
        tune_cpu_allocator()  # as `acgpn infer` does on the CPU
    torch.set_num_threads(args.threads)
    pipe = recipe_pipeline(1).to(args.device).set_fast_math(args.fast_math != "off")
    if args.fast_math == "u-g":  # the pre-tie-aware default: official op sequence in G1 and G2
        pipe.g1.set_fast_math(False)
        pipe.g2.set_fast_math(False)
    batch = make_batch(args.worker, args.height, args.width)
    gen = torch.Generator().manual_seed(0)
    pipe(batch, generator=gen)  # warm-up
    times = []
    for _ in range(args.repeats):
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        pipe(batch, generator=gen)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"batch": args.worker, "median_s": statistics.median(times), "runs": times, "peak_gib": peak}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--width", type=int, default=192)
    p.add_argument("--device", default="cpu")
    p.add_argument("--fast-math", choices=("all", "u-g", "off"), default="all",
                   help="fast op sequences in all four nets (default), only in U and G, or none (--exact)")
    p.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    print(f"TryOnPipeline, {args.height}x{args.width}, {args.device}, {args.threads} threads, fast_math={args.fast_math}, median of {args.repeats} runs")
    print(f"{'batch':>5} {'s/batch':>9} {'s/image':>9} {'peak GiB':>9} {'official s/img':>15} {'speed-up':>9}")
    for b in args.batch_sizes:
        cmd = [sys.executable, __file__, "--worker", str(b)] + [f"--{k}={v}" for k, v in
               (("repeats", args.repeats), ("threads", args.threads), ("height", args.height), ("width", args.width), ("device", args.device), ("fast-math", args.fast_math))]  # fmt: skip
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        per = r["median_s"] / b
        off = OFFICIAL.get(b)
        ref = f"{off[0]:.2f} ({off[1]:.2f} GiB)" if off else "-"
        ratio = f"{off[0] / per:.2f}x" if off else "-"
        print(f"{b:>5} {r['median_s']:>9.2f} {per:>9.2f} {r['peak_gib']:>9.2f} {ref:>15} {ratio:>9}")


if __name__ == "__main__":
    main()
