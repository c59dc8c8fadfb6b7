"""The inference reference table: latency, throughput, peak memory, GFLOP/s against a measured roofline.

    python benchmarks/bench_inference.py                       # `make bench`: the default preset (~10 min, 2 cores)
    python benchmarks/bench_inference.py --quick               # 256x192, batches 1 and 4, 2 repeats
    python benchmarks/bench_inference.py --full                # 256x192 and 512x384, batches 1/4/8/16, every variant
    python benchmarks/bench_inference.py --official path/to/DeepFashion_Try_On   # `make bench OFFICIAL=...`
    python benchmarks/bench_inference.py --device cuda         # GPU: fp32, bf16 and fp16 autocast, channels_last

Every configuration runs in a fresh subprocess (so peak memory is its own): model built, one
warm-up forward, then ``--repeats`` timed forwards; the tables report medians. Inputs are the
parity inputs (two people, tiled to the batch, resized for other sizes), weights the parity recipe
(the cost does not depend on weight values), noise fixed per configuration.

* **Roofline**: a 3x3 convolution (128 -> 128 channels, 64x48, batch 4) measured in the same run on
  the same device, NCHW and channels_last (and bf16 where the device has it). The pipeline's
  achieved GFLOP/s (its counted FLOPs / time) is reported against the conv in its own layout.
* **FLOPs**: multiply-adds counted per net with ``torch.utils.flop_counter`` on the meta device
  (2 FLOP per multiply-add; convolutions and matmuls, which are > 99.9 % of them).
* **Variants** (at 256x192, ``--variant-batch``): NCHW or channels_last, whichever is not the
  device's default (:func:`acgpn.runtime.prefers_channels_last`), torch.compile, autocast (bf16 on
  CPUs with AVX512-BF16/AMX, else a note that it fell back; bf16 and fp16 on GPUs, in NHWC and
  NCHW), on GPUs TF32 and CUDA graphs (:class:`acgpn.speed.CudaGraphPipeline`), and the ONNX
  export run by onnxruntime (``--force-autocast`` runs bf16 on any CPU, emulated without native
  bf16: for its numbers, not its speed). Each is compared with float32 eager on the same inputs and noise with
  the tie-aware comparison of parity step 7 (:mod:`acgpn.speed` documents the tolerances).
* **Official**: with ``--official PATH`` the official forward runs side by side in the same run
  (``benchmarks/official.py`` imports it from that checkout and patches it for the CPU; 256x192
  only; a batch of B is B calls of batch 1). Without it the spec §6 figures are shown, labelled as
  a fallback measured on another machine. Runs of a few repeats in separate processes move by
  ±10 % on a shared machine; ``--alternate ROUNDS`` adds ours (NCHW, channels_last, and bf16 where the CPU has it) and the
  official code timed alternately in one process, order rotated each round, at
  ``--variant-batch``: every ratio then comes from the same minutes of the machine.

The JSON record (``--json``, default ``outputs/bench/inference.json``) holds every number printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
#: Spec §6 (official forward on the CPU, 2 cores of another AMD EPYC, AVX2, torch 2.13): s/image and
#: peak GiB at batch 1 and batch 4 (four batch-1 calls). Shown only without --official, as a fallback.
SPEC_OFFICIAL_FALLBACK = {1: (2.94, 1.05), 4: (2.66, 1.53)}
PRESETS = {
    "quick": {"grid": {(256, 192): [1, 4]}, "repeats": 2, "variants": []},
    "default": {"grid": {(256, 192): [1, 4, 8, 16], (512, 384): [1, 4]}, "repeats": 3, "variants": ["nchw", "channels_last", "autocast", "onnx"]},
    "full": {"grid": {(256, 192): [1, 4, 8, 16], (512, 384): [1, 4, 8, 16]}, "repeats": 3,
             "variants": ["nchw", "channels_last", "compile", "autocast", "onnx"]},
}  # fmt: skip
VARIANT_SIZE = (256, 192)


# ------------------------------------------------------------------------------------------ workers
def _peak_memory_gib(device: str) -> float:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def parity_batch(batch: int, height: int, width: int):
    """The two people of the parity vectors, tiled to ``batch``, at ``height`` x ``width``."""
    import torch

    from acgpn.parity import load_vectors
    from acgpn.pose import pose_map
    from acgpn.working_size import resize_batch

    t, _ = load_vectors(REPO / "tests" / "data" / "parity_seed1.safetensors")
    n = t["input.image"].shape[0]
    index = torch.arange(batch) % n
    h0, w0 = t["input.image"].shape[-2:]
    keypoints = t["input.pose_keypoints"][index]
    data = {"image": t["input.image"][index], "label": t["input.label"][index], "cloth": t["input.color"][index],
            "product_mask": t["input.edge"][index], "pose": pose_map(keypoints, h0, w0), "keypoints": keypoints}  # fmt: skip
    data = resize_batch(data, (height, width))
    return {k: data[k] for k in ("image", "label", "cloth", "product_mask", "pose")}


def _time(call, device: str, repeats: int) -> tuple[float, list[float]]:
    """(first call's seconds, timed calls' seconds)."""
    _sync(device)
    t0 = time.perf_counter()
    call()
    _sync(device)
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        _sync(device)
        runs.append(time.perf_counter() - t0)
    return first, runs


def _compare(out, ref_path: Path, tie_margin: float) -> dict:
    """Tie-aware comparison of a variant's run (already made with TieAwareDecisions) with the reference."""
    import torch

    from acgpn.parity import psnr

    ref = torch.load(ref_path)
    fake = out.fake_image.float().cpu()
    return {"psnr_db": psnr(fake, ref["fake_image"]), "max_abs": float((fake - ref["fake_image"]).abs().max()), "tie_margin": tie_margin}


def worker_pipeline(args: argparse.Namespace) -> dict:
    import torch

    from acgpn.modules.decisions import TieAwareDecisions
    from acgpn.parity import recipe_pipeline
    from acgpn.runtime import tune_cpu_allocator
    from acgpn.speed import AUTOCAST_TIE_MARGIN, TIE_MARGIN, apply_speed_options

    if args.device == "cpu":
        tune_cpu_allocator()  # as `acgpn infer` does on the CPU
    elif args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True
    torch.set_num_threads(args.threads)
    h, w = args.size
    pipe = recipe_pipeline(1).to(args.device)
    variant = args.variant
    parts = set(variant.split("+"))  # e.g. "bf16+channels_last+cuda_graph"
    autocast = next((p for p in ("bf16", "fp16") if p in parts), None)
    default_nhwc = pipe.g1.conv1[0].weight.is_contiguous(memory_format=torch.channels_last)  # acgpn.runtime.prefers_channels_last
    if variant == "nchw" and not default_nhwc or variant == "channels_last" and default_nhwc:
        return {"notes": [f"{variant} is already the default on this device"]}
    if "nchw" in parts:
        pipe.set_channels_last(False)
    notes = apply_speed_options(pipe, channels_last="channels_last" in parts, compile="compile" in parts, autocast=autocast,
                                force_autocast=args.force_autocast, tf32="tf32" in parts)  # fmt: skip
    if "cuda_graph" in parts:
        from acgpn.speed import CudaGraphPipeline

        pipe = CudaGraphPipeline(pipe)
    batch = {k: v.to(args.device) for k, v in parity_batch(args.batch, h, w).items()}
    noise = pipe.sample_noise(args.batch, h, w, torch.Generator().manual_seed(0))
    ref_path = Path(args.ref_dir) / f"ref_{h}x{w}_b{args.batch}.pt"
    margin = AUTOCAST_TIE_MARGIN if autocast else TIE_MARGIN
    result: dict = {"notes": notes, "layout": "channels_last" if default_nhwc or "channels_last" in parts else "nchw"}
    if notes:  # the requested option fell back to float32 eager: nothing new to time
        return result
    if variant != "eager" and ref_path.exists():
        ref = torch.load(ref_path)
        decisions = TieAwareDecisions(ref["layout_ids"].to(args.device), ref["predicted_cloth_mask"].to(args.device), tie_margin=margin)
        eager = pipe.pipe if "cuda_graph" in parts else pipe  # tie-aware decisions run eagerly; the graph's own output is compared below
        out = eager(batch, noise=noise, decisions=decisions)
        result["check"] = {**_compare(out, ref_path, margin), "ties": decisions.ties_resolved, "violations": decisions.violations}
        if "cuda_graph" in parts:  # the replayed graph against the same pipeline run eagerly, same noise
            graphed, plain = pipe(batch, noise=noise).fake_image, eager(batch, noise=noise).fake_image
            result["check"]["graph_vs_eager_max_abs"] = float((graphed - plain).abs().max())
    first, runs = _time(lambda: pipe(batch, noise=noise), args.device, args.repeats)
    if variant == "eager":
        out = pipe(batch, noise=noise)
        torch.save({"layout_ids": out.layout_ids.cpu(), "predicted_cloth_mask": out.predicted_cloth_mask.cpu(),
                    "fake_image": out.fake_image.float().cpu()}, ref_path)  # fmt: skip
    return {**result, "first_s": first, "runs": runs, "peak_gib": _peak_memory_gib(args.device)}


def worker_onnx_export(args: argparse.Namespace) -> dict:
    from acgpn.export import export_onnx
    from acgpn.parity import recipe_pipeline

    t0 = time.perf_counter()
    path = export_onnx(recipe_pipeline(1), Path(args.ref_dir) / f"pipeline_{args.size[0]}x{args.size[1]}.onnx", size=tuple(args.size))
    return {"export_s": time.perf_counter() - t0, "file_mib": path.stat().st_size / 2**20}


def worker_onnx(args: argparse.Namespace) -> dict:
    import torch

    from acgpn.export import ONNX_TIE_MARGIN as TIE_MARGIN
    from acgpn.export import OnnxPipeline
    from acgpn.modules.decisions import TieAwareDecisions

    torch.set_num_threads(args.threads)
    h, w = args.size
    pipe = OnnxPipeline(Path(args.ref_dir) / f"pipeline_{h}x{w}.onnx", device=args.device, threads=args.threads)
    batch = parity_batch(args.batch, h, w)
    noise = pipe.sample_noise(args.batch, h, w, torch.Generator().manual_seed(0))
    result: dict = {"notes": [], "providers": pipe.session.get_providers()}
    ref_path = Path(args.ref_dir) / f"ref_{h}x{w}_b{args.batch}.pt"
    if ref_path.exists():
        ref = torch.load(ref_path)
        decisions = TieAwareDecisions(ref["layout_ids"], ref["predicted_cloth_mask"], tie_margin=TIE_MARGIN)
        out = pipe(batch, noise=noise, decisions=decisions)
        result["check"] = {**_compare(out, ref_path, TIE_MARGIN), "ties": decisions.ties_resolved, "violations": decisions.violations}
    first, runs = _time(lambda: pipe(batch, noise=noise), "cpu", args.repeats)
    return {**result, "first_s": first, "runs": runs, "peak_gib": _peak_memory_gib("cpu")}


def worker_official(args: argparse.Namespace) -> dict:
    import torch

    sys.path.insert(0, str(HERE))
    from official import OfficialForward

    torch.set_num_threads(args.threads)
    if args.device.startswith("cuda"):
        torch.backends.cudnn.benchmark = True  # as ours runs
    forward = OfficialForward(args.official, device=args.device)
    samples = [{k: v[i : i + 1].to(args.device) for k, v in parity_batch(args.batch, 256, 192).items()} for i in range(args.batch)]
    first, runs = _time(lambda: [forward(s) for s in samples], args.device, args.repeats)
    return {"first_s": first, "runs": runs, "peak_gib": _peak_memory_gib(args.device), "calls_per_batch": args.batch}


def worker_roofline(args: argparse.Namespace) -> dict:
    """GFLOP/s of a 3x3 conv (128 -> 128, 64x48, batch 4): NCHW and channels_last, each dtype the device runs."""
    import torch
    import torch.nn.functional as F

    from acgpn.speed import cpu_supports_bf16

    torch.set_num_threads(args.threads)
    b, c, h, w = 4, 128, 64, 48
    flop = 2 * b * h * w * c * c * 9
    dtypes = {"fp32": torch.float32}
    if args.device.startswith("cuda"):
        dtypes.update(bf16=torch.bfloat16, fp16=torch.float16)
    elif cpu_supports_bf16():
        dtypes["bf16"] = torch.bfloat16
    result = {}
    for name, dtype in dtypes.items():
        for layout, fmt in (("nchw", torch.contiguous_format), ("channels_last", torch.channels_last)):
            x = torch.randn(b, c, h, w, device=args.device, dtype=dtype).to(memory_format=fmt)
            weight = torch.randn(c, c, 3, 3, device=args.device, dtype=dtype).to(memory_format=fmt) / 30
            bias = torch.zeros(c, device=args.device, dtype=dtype)
            calls = 20 if args.device.startswith("cuda") else 5
            with torch.no_grad():
                _, runs = _time(lambda: [F.conv2d(x, weight, bias, padding=1) for _ in range(calls)], args.device, max(args.repeats, 5))
            result[f"{name}_{layout}"] = flop * calls / statistics.median(runs) / 1e9
    return {"gflops": result, "shape": [b, c, h, w]}


def worker_flops(args: argparse.Namespace) -> dict:
    """Multiply-adds per image of each net, counted on the meta device (fast_math on, and official ops)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from acgpn.nets import official_net
    from acgpn.pipeline import NOISE_KEYS, TryOnPipeline

    result = {}
    for size in args.sizes:
        h, w = size
        with torch.device("meta"):
            pipe = TryOnPipeline(**{name: official_net(name) for name in ("g1", "g2", "u", "g")})
        batch = {k: v.to("meta") for k, v in parity_batch(1, h, w).items()}
        noise = {k: torch.zeros(1, 1, h, w, device="meta") for k in NOISE_KEYS}
        per_mode = {}
        for mode, fast in (("fast_math", True), ("official_ops", False)):
            pipe.set_fast_math(fast)
            with FlopCounterMode(display=False) as counter:
                pipe(batch, noise=noise)
            counts = counter.get_flop_counts()
            nets = {name: sum(counts.get(f"TryOnPipeline.{name}", {}).values()) / 2e9 for name in ("g1", "g2", "u", "g")}
            nets["loc_net"] = sum(counts.get("TryOnPipeline.u.stn.loc_net.cnn", {}).values()) / 2e9
            per_mode[mode] = {"gmac": nets, "total_gflop": sum(counts.get("Global", {}).values()) / 1e9}
        result[f"{h}x{w}"] = per_mode
    return result


def worker_alternate(args: argparse.Namespace) -> dict:
    """Ours in NCHW, ours in channels_last (and in bf16 channels_last where the CPU has bf16, or
    with --force-autocast) and the official code, one timed batch of each per round, the order
    rotated every round, all in this one process: they share every drift of the machine, which
    single runs of each in their own processes do not."""
    import torch

    from acgpn.parity import recipe_pipeline
    from acgpn.runtime import tune_cpu_allocator
    from acgpn.speed import apply_speed_options, cpu_supports_bf16

    sys.path.insert(0, str(HERE))
    from official import OfficialForward

    tune_cpu_allocator()
    torch.set_num_threads(args.threads)
    batch = parity_batch(args.batch, 256, 192)
    forward = OfficialForward(args.official)
    samples = [{k: v[i : i + 1] for k, v in batch.items()} for i in range(args.batch)]

    def ours(channels_last: bool, autocast: str | None = None):
        pipe = recipe_pipeline(1).set_channels_last(channels_last)  # one pipeline per layout: no weight copies while timed
        if autocast:
            apply_speed_options(pipe, channels_last=channels_last, autocast=autocast, force_autocast=args.force_autocast)
        noise = pipe.sample_noise(args.batch, 256, 192, torch.Generator().manual_seed(0))

        def call() -> None:
            with torch.inference_mode():
                pipe(batch, noise=noise)

        return call

    calls = {"nchw": ours(False), "channels_last": ours(True)}
    if cpu_supports_bf16() or args.force_autocast:  # bf16's ratio from the same rounds (issue 13: 2.5x)
        calls["bf16"] = ours(True, "bf16")
    calls["official"] = lambda: [forward(s) for s in samples]
    for call in calls.values():  # warm-up
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for round_ in range(args.repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            t0 = time.perf_counter()
            calls[name]()
            seconds[name].append((time.perf_counter() - t0) / args.batch)
    return {"batch": args.batch, "s_per_image": seconds}


WORKERS = {"pipeline": worker_pipeline, "onnx-export": worker_onnx_export, "onnx": worker_onnx, "official": worker_official,
           "roofline": worker_roofline, "flops": worker_flops, "alternate": worker_alternate}  # fmt: skip


# ------------------------------------------------------------------------------------------ driver
def run_worker(kind: str, args: argparse.Namespace, **options) -> dict:
    """One fresh process; its last stdout line is the JSON result (or an error record)."""
    cmd = [sys.executable, __file__, "--worker", kind, "--threads", str(args.threads), "--device", args.device,
           "--repeats", str(options.pop("repeats", args.repeats)), "--ref-dir", args.ref_dir]  # fmt: skip
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        cmd += [flag, *(f"{v[0]}x{v[1]}" for v in value)] if key == "sizes" else [flag, f"{value[0]}x{value[1]}" if key == "size" else str(value)]
    if args.official:
        cmd += ["--official", args.official]
    if args.force_autocast:
        cmd.append("--force-autocast")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{kind} worker failed: {tail}"}
    return json.loads(lines[-1])


def _size(text: str) -> tuple[int, int]:
    h, w = text.lower().split("x")
    return int(h), int(w)


def machine() -> dict:
    import torch

    from acgpn.speed import cpu_supports_bf16

    model = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    info = {"cpu": model, "cores": os.cpu_count(), "bf16": cpu_supports_bf16(), "torch": torch.__version__, "python": platform.python_version(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}  # fmt: skip
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def fmt(value: float | None, spec: str = ".2f", missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    preset = p.add_mutually_exclusive_group()
    preset.add_argument("--quick", action="store_true", help="256x192, batches 1 and 4, 2 repeats, no variants")
    preset.add_argument("--full", action="store_true", help="both sizes x batches 1/4/8/16 and every variant (long)")
    p.add_argument("--sizes", type=_size, nargs="+", help="override the preset's sizes (HxW)")
    p.add_argument("--batch-sizes", type=int, nargs="+", help="override the preset's batch sizes")
    p.add_argument("--repeats", type=int, help="timed runs per configuration (default: the preset's)")
    p.add_argument("--variants", nargs="*", choices=("nchw", "channels_last", "compile", "autocast", "onnx", "cuda_graph", "tf32"),
                   help="override the preset's variants (cuda_graph and tf32: CUDA only, added to the presets on a GPU)")  # fmt: skip
    p.add_argument("--variant-batch", type=int, default=4)
    p.add_argument("--variant-size", type=_size, default=VARIANT_SIZE)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--official", default=os.environ.get("OFFICIAL") or None, help="a DeepFashion_Try_On checkout to run side by side")
    p.add_argument("--alternate", type=int, default=0, metavar="ROUNDS",
                   help="with --official: also time ours (NCHW, channels_last, bf16 where the CPU has it) and the official code alternately in one process "
                        "for ROUNDS rounds at --variant-batch, the robust ratio on a machine whose speed drifts")  # fmt: skip
    p.add_argument("--force-autocast", action="store_true",
                   help="run the autocast variant even where the device lacks bf16 (emulated: its check against float32 is real, "
                        "its speed is not)")  # fmt: skip
    p.add_argument("--json", type=Path, default=REPO / "outputs" / "bench" / "inference.json")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--size", type=_size, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--variant", default="eager", help=argparse.SUPPRESS)
    p.add_argument("--ref-dir", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:  # one configuration, in this process (run by main(), or by hand as in the README)
        args.repeats = args.repeats or PRESETS["default"]["repeats"]
        result = WORKERS[args.worker](args)
        result["load"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        print(json.dumps(result))
        return
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # rows appear as they are measured
    chosen = PRESETS["quick" if args.quick else "full" if args.full else "default"]
    repeats = args.repeats or chosen["repeats"]
    args.repeats = repeats
    grid = {s: list(args.batch_sizes or bs) for s, bs in chosen["grid"].items()}
    if args.sizes:
        grid = {tuple(s): list(args.batch_sizes or [1, 4]) for s in args.sizes}
    variants = chosen["variants"] if args.variants is None else args.variants
    on_gpu = args.device.startswith("cuda")
    if on_gpu and args.variants is None:  # onnxruntime-gpu is not assumed; CUDA graphs and TF32 are GPU questions
        variants = [v for v in variants if v != "onnx"] + ["cuda_graph", "tf32"]
    if variants and args.variant_batch not in grid.get(args.variant_size, []):
        grid.setdefault(args.variant_size, []).append(args.variant_batch)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="acgpn-bench-") as ref_dir:
        args.ref_dir = ref_dir
        record: dict = {"machine": machine(), "device": args.device, "threads": args.threads, "repeats": repeats}
        print(f"acgpn inference benchmark: {record['machine']['cpu']}, {args.threads} threads, device {args.device}, "
              f"torch {record['machine']['torch']}, median of {repeats} runs per configuration, load average "
              f"{fmt(record['machine']['load_average'][0] if record['machine']['load_average'] else None)}")  # fmt: skip
        record["roofline"] = roof = run_worker("roofline", args)
        record["flops"] = flops = run_worker("flops", args, sizes=list(grid))
        print_flops(flops)
        print_roofline(roof)
        rows: list[dict] = []
        official: dict[int, dict] = {}
        record["pipeline"], record["official"] = rows, {"source": args.official or "spec §6 fallback (another machine)", "runs": official}
        print_grid_header(bool(args.official))
        for size, batches in grid.items():
            for b in sorted(set(batches)):
                r = {"size": list(size), "batch": b, **run_worker("pipeline", args, size=size, batch=b, variant="eager")}
                rows.append(r)
                if args.official and size == (256, 192) and b in (1, 4):  # right after ours: same conditions
                    official[b] = run_worker("official", args, batch=b)
                print_grid_row(r, flops, roof, official, bool(args.official))
                save(record, args.json, started)
        print_grid_footer(bool(args.official))
        record["variants"] = run_variants(args, variants, on_gpu)
        print_variants(record["variants"], rows)
        if args.alternate and args.official and not on_gpu:
            record["alternate"] = run_worker("alternate", args, batch=args.variant_batch, repeats=args.alternate)
            print_alternate(record["alternate"])
    save(record, args.json, started)
    print(f"\nwrote {args.json} ({record['wall_s'] / 60:.1f} min)")


def save(record: dict, path: Path, started: float) -> None:
    """Write the JSON record so far (after every configuration: an interrupted run keeps its numbers)."""
    record["wall_s"] = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")


def run_variants(args: argparse.Namespace, variants: list[str], on_gpu: bool) -> list[dict]:
    b, size, out = args.variant_batch, args.variant_size, []
    reps = max(2, args.repeats - 1)
    for v in variants:
        if v == "onnx":
            if on_gpu:
                out.append({"variant": "onnx", "error": "not benchmarked on the GPU (onnxruntime-gpu not assumed)"})
                continue
            export = run_worker("onnx-export", args, size=size)
            r = run_worker("onnx", args, size=size, batch=b, repeats=reps) if "error" not in export else export
            out.append({"variant": "onnx (onnxruntime)", "batch": b, "size": list(size), "export": export, **r})
            continue
        if v in ("cuda_graph", "tf32") and not on_gpu:
            out.append({"variant": v, "error": "CUDA only"})
            continue
        names = {"autocast": ["bf16", "fp16", "bf16+nchw", "fp16+nchw"] if on_gpu else ["bf16"],  # NHWC is autocast's GPU default
                 "cuda_graph": ["cuda_graph", "bf16+cuda_graph"], "tf32": ["tf32", "tf32+channels_last"]}.get(v, [v])  # fmt: skip
        for name in names:
            r = run_worker("pipeline", args, size=size, batch=b, variant=name, repeats=reps)
            if name in ("bf16", "fp16") and args.force_autocast:
                r.setdefault("notes", []).append("forced: emulated where the device lacks it, time not meaningful")
            out.append({"variant": name, "batch": b, "size": list(size), **r})
    return out


# ------------------------------------------------------------------------------------------ tables
def _median(r: dict) -> float | None:
    return statistics.median(r["runs"]) if r.get("runs") else None


def print_flops(flops: dict) -> None:
    if "error" in flops:
        print(f"FLOP count: {flops['error']}")
        return
    print("\nMultiply-adds per image (GMAC), counted; fast_math (default) / official op sequence:")
    print(f"{'size':>9} {'G1':>13} {'G2':>13} {'U':>13} {'(loc-net)':>10} {'G':>13} {'GFLOP total':>17}")
    for size, modes in flops.items():
        if not isinstance(modes, dict):  # the worker's load average
            continue
        f, o = modes["fast_math"], modes["official_ops"]
        cells = [f"{f['gmac'][n]:.1f} / {o['gmac'][n]:.1f}" for n in ("g1", "g2", "u")]
        loc = f"{f['gmac']['loc_net']:.3f}"
        print(f"{size:>9} {cells[0]:>13} {cells[1]:>13} {cells[2]:>13} {loc:>10} {f['gmac']['g']:.1f} / {o['gmac']['g']:.1f}".ljust(80)
              + f"{f['total_gflop']:.0f} / {o['total_gflop']:.0f}")  # fmt: skip


def print_roofline(roof: dict) -> None:
    if "error" in roof:
        print(f"roofline: {roof['error']}")
        return
    cells = ", ".join(f"{k} {v:.0f}" for k, v in roof["gflops"].items())
    print(f"\nRoofline, 3x3 conv 128->128 at 64x48 batch 4 (GFLOP/s): {cells}")


def print_grid_header(side_by_side: bool) -> None:
    label = "official s/img" if side_by_side else "official* s/img"
    print(f"\n{'size':>9} {'batch':>5} {'s/batch':>8} {'ms/img':>8} {'img/s':>7} {'peak GiB':>8} {'GFLOP/s':>8} {'roofline':>8} "
          f"{label:>15} {'off. GiB':>8} {'speed-up':>8} {'load':>5}")  # fmt: skip


def print_grid_row(r: dict, flops: dict, roof: dict, official: dict, side_by_side: bool) -> None:
    size = f"{r['size'][0]}x{r['size'][1]}"
    if "error" in r:
        print(f"{size:>9} {r['batch']:>5}  {r['error']}", flush=True)
        return
    ceiling = roof.get("gflops", {}).get(f"fp32_{r.get('layout', 'nchw')}")  # the conv in the layout the pipeline ran
    t = _median(r)
    per = t / r["batch"]
    gflop = flops.get(size, {}).get("fast_math", {}).get("total_gflop")
    rate = gflop / per if gflop else None
    off_per, off_mem = None, None
    if size == "256x192":
        if side_by_side and "runs" in official.get(r["batch"], {}):
            off = official[r["batch"]]
            off_per, off_mem = _median(off) / r["batch"], off["peak_gib"]
        elif not side_by_side and r["batch"] in SPEC_OFFICIAL_FALLBACK:
            off_per, off_mem = SPEC_OFFICIAL_FALLBACK[r["batch"]]
    print(f"{size:>9} {r['batch']:>5} {t:>8.2f} {per * 1000:>8.0f} {1 / per:>7.2f} {r['peak_gib']:>8.2f} {fmt(rate, '.0f'):>8} "
          f"{fmt(rate / ceiling * 100 if rate and ceiling else None, '.0f') + ' %':>8} {fmt(off_per):>15} {fmt(off_mem):>8} "
          f"{fmt(off_per / per if off_per else None) + 'x':>8} {fmt(r.get('load')):>5}", flush=True)  # fmt: skip


def print_grid_footer(side_by_side: bool) -> None:
    if not side_by_side:
        print("* official: spec §6 figures from another machine of the same class (fallback; pass --official PATH / "
              "make bench OFFICIAL=PATH to measure it side by side)")
    print("roofline = achieved GFLOP/s / the fp32 3x3-conv GFLOP/s above in the pipeline's layout (channels_last where it is "
          "the default); official batch 4 = four batch-1 calls; "
          "load = 1-min load average at the end of the configuration")


def print_variants(variants: list[dict], rows: list[dict]) -> None:
    if not variants:
        return
    base = {(tuple(r["size"]), r["batch"]): _median(r) for r in rows if "runs" in r}
    print("\nVariants against float32 eager (same inputs and noise; decisions tie-aware, see acgpn.speed for the tolerances):")
    print(f"{'variant':>20} {'size':>9} {'batch':>5} {'s/img':>7} {'speed-up':>8} {'peak GiB':>8} {'ties':>5} {'beyond':>6} {'PSNR dB':>8} {'max-abs':>8}  note")
    for v in variants:
        size = f"{v['size'][0]}x{v['size'][1]}" if "size" in v else "-"
        note = "; ".join(v.get("notes", []))
        if "runs" not in v:
            print(f"{v['variant']:>20} {size:>9} {v.get('batch', '-'):>5}  {v.get('error', note)}")
            continue
        t = _median(v)
        per = t / v["batch"]
        eager = base.get((tuple(v["size"]), v["batch"]))
        c = v.get("check", {})
        if "export" in v:
            note = f"export {v['export'].get('export_s', 0):.0f} s, {v['export'].get('file_mib', 0):.0f} MiB" + (f"; {note}" if note else "")
        if v["variant"] == "compile":
            note = f"first call (compiles) {v['first_s']:.0f} s" + (f"; {note}" if note else "")
        print(f"{v['variant']:>20} {size:>9} {v['batch']:>5} {per:>7.2f} {fmt(eager / t if eager else None) + 'x':>8} {v['peak_gib']:>8.2f} "
              f"{fmt(c.get('ties'), 'd'):>5} {fmt(c.get('violations'), 'd'):>6} {fmt(c.get('psnr_db'), '.1f'):>8} {fmt(c.get('max_abs'), '.1e'):>8}  {note}")  # fmt: skip



def print_alternate(result: dict) -> None:
    if "error" in result:
        print(f"\nalternating run: {result['error']}")
        return
    seconds = result["s_per_image"]
    rounds = len(seconds["official"])
    print(f"\nAlternating in one process (256x192, batch {result['batch']}, {rounds} rounds, order rotated; medians):")
    print(f"{'':>14} {'s/img':>7} {'speed-up (median of per-round ratios)':>38}")
    for name, runs in seconds.items():
        ratios = [o / t for o, t in zip(seconds["official"], runs)]
        print(f"{name:>14} {statistics.median(runs):>7.2f} {statistics.median(ratios):>37.2f}x")


if __name__ == "__main__":
    main()
