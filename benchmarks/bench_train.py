"""Training speed and peak memory per stage: samples/s and peak RSS (CPU) or peak allocated (CUDA).

    python benchmarks/bench_train.py                                  # CPU: 128x96 ngf 8, 256x192 ngf 64
    python benchmarks/bench_train.py --configs 128x96:8 --stages sgm cwm --repeats 5
    python benchmarks/bench_train.py --device cuda --batch-size 8

Each (size, width, stage) runs in a fresh subprocess on a small synthetic training set: one
``--warmup`` steps (2), then ``--repeats`` timed steps of :meth:`acgpn.train.Trainer.train_step` (generator
and discriminator updates, per-step noise and holes, no checkpoints or logging); medians.
VGG is off (no weights are downloaded); with ``--vgg-weights`` the perceptual terms are included.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def worker(args: argparse.Namespace) -> None:
    import torch

    from acgpn.synth import generate_dataset
    from acgpn.train import Trainer, preset_config

    torch.set_num_threads(args.threads)
    h, w = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        data = generate_dataset(Path(tmp) / "data", max(4, args.batch_size), (h, w), seed=0, phase="train")
        config = replace(
            preset_config(args.preset), data=str(data), out=str(Path(tmp) / "run"), stage=args.stage, size=(h, w),
            ngf=args.ngf, batch_size=args.batch_size, steps=args.repeats + args.warmup, device=args.device, amp=args.amp,
            vgg_weights=args.vgg_weights,
        )  # fmt: skip
        trainer = Trainer(config)
        batches = trainer.batches()
        sync = torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)
        for _ in range(args.warmup):  # first steps build the kernels' primitives
            trainer.train_step(next(batches))
        times = []
        for _ in range(args.repeats):
            batch = next(batches)
            sync()
            t0 = time.perf_counter()
            trainer.train_step(batch)
            sync()
            times.append(time.perf_counter() - t0)
        trainer.close()
    if trainer.device.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    step = statistics.median(times)
    print(json.dumps({"step_s": step, "samples_per_s": args.batch_size / step, "peak_gib": peak}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--configs", nargs="+", default=["128x96:8", "256x192:64"], help="SIZE:NGF pairs")
    p.add_argument("--stages", nargs="+", default=["sgm", "cwm", "cfm", "all"])
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", default="off")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--preset", default="paper")
    p.add_argument("--vgg-weights", default=None)
    p.add_argument("--size", help=argparse.SUPPRESS)
    p.add_argument("--ngf", type=int, help=argparse.SUPPRESS)
    p.add_argument("--stage", help=argparse.SUPPRESS)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    print(f"device {args.device}, batch {args.batch_size}, amp {args.amp}, {args.threads} threads, median of {args.repeats} steps")
    print("| size | ngf | stage | s / step | samples / s | peak memory (GiB) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for spec in args.configs:
        size, ngf = spec.split(":")
        for stage in args.stages:
            cmd = [sys.executable, __file__, "--worker", "--size", size, "--ngf", ngf, "--stage", stage,
                   "--batch-size", str(args.batch_size), "--repeats", str(args.repeats), "--warmup", str(args.warmup), "--device", args.device,
                   "--amp", args.amp, "--threads", str(args.threads), "--preset", args.preset]  # fmt: skip
            if args.vgg_weights:
                cmd += ["--vgg-weights", args.vgg_weights]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"| {size} | {ngf} | {stage} | failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode} | | |")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {size} | {ngf} | {stage} | {r['step_s']:.2f} | {r['samples_per_s']:.2f} | {r['peak_gib']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
