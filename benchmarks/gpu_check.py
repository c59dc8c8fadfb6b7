"""Correctness checks of the CUDA path, for a machine with a GPU (CI has none; run by hand).

    python benchmarks/gpu_check.py [--device cuda] [--json outputs/bench/gpu_check.json]

1. **No host synchronisation in the forward**: the pipeline runs under
   ``torch.cuda.set_sync_debug_mode("error")`` (float32 and bf16 autocast, noise given and noise
   drawn on the device), so any op that waits on the GPU raises.
2. **CUDA graphs**: :class:`acgpn.speed.CudaGraphPipeline` replays the same outputs as the eager
   pipeline (same noise), and its latency against eager at batches 1, 8 and 32 (bf16, channels_last).
3. **TF32**: cuDNN runs float32 convolutions in TF32 by default on Ampere and later (the pipeline
   turns it off unless ``tf32`` is set); the float32 pipeline with TF32 on and off, and bf16 / fp16
   autocast, against the CPU in float32 (tie-aware decisions, as parity step 7).
4. **GPU against CPU**: the embedded model on the same batch on both devices (tie-aware).

Each line printed is one finding; the JSON holds the numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_inference import parity_batch  # noqa: E402

from acgpn.modules.decisions import TieAwareDecisions  # noqa: E402
from acgpn.parity import psnr, recipe_pipeline  # noqa: E402
from acgpn.speed import AUTOCAST_TIE_MARGIN, TIE_MARGIN, CudaGraphPipeline, apply_speed_options  # noqa: E402


def _timed(call, repeats: int = 20) -> float:
    """Median seconds of ``call`` (CUDA events), after two warm-ups."""
    for _ in range(2):
        call()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1000)
    return statistics.median(times)


def _tie_aware(pipe, batch, noise, reference, margin: float) -> dict:
    device = batch["image"].device
    decisions = TieAwareDecisions(reference.layout_ids.to(device), reference.predicted_cloth_mask.to(device), tie_margin=margin)
    out = pipe(batch, noise=noise, decisions=decisions)
    fake, ref = out.fake_image.float().cpu(), reference.fake_image.float().cpu()
    return {"psnr_db": psnr(fake, ref), "max_abs": float((fake - ref).abs().max()), "ties": decisions.ties_resolved,
            "beyond_margin": decisions.violations}  # fmt: skip


def check_sync(device: str) -> dict:
    result = {}
    for name in ("fp32", "bf16"):
        pipe = recipe_pipeline(1).to(device)
        if name == "bf16":
            apply_speed_options(pipe, channels_last=True, autocast="bf16")
        batch = {k: v.to(device) for k, v in parity_batch(2, 256, 192).items()}
        noise = pipe.sample_noise(2, 256, 192, torch.Generator(device).manual_seed(0))
        pipe(batch, noise=noise)  # warm-up outside the check (cuDNN handles, lazy inits)
        torch.cuda.synchronize()
        for how, kwargs in (("noise given", {"noise": noise}), ("noise drawn on the device", {})):
            torch.cuda.set_sync_debug_mode("error")
            try:
                pipe(batch, **kwargs)
                verdict = "no host synchronisation"
            except RuntimeError as e:
                verdict = f"SYNCHRONISES: {str(e).splitlines()[0]}"
            finally:
                torch.cuda.set_sync_debug_mode("default")
            result[f"{name}, {how}"] = verdict
            print(f"sync check, {name}, {how}: {verdict}", flush=True)
    return result


def check_graphs(device: str) -> dict:
    result = {}
    for options in ({}, {"channels_last": True, "autocast": "bf16"}):
        label = "bf16+channels_last" if options else "fp32"
        for b in (1, 8, 32) if options else (4,):
            pipe = recipe_pipeline(1).to(device)
            apply_speed_options(pipe, **options)
            graphed = CudaGraphPipeline(pipe)
            batch = {k: v.to(device) for k, v in parity_batch(b, 256, 192).items()}
            noise = pipe.sample_noise(b, 256, 192, torch.Generator(device).manual_seed(0))
            eager_out, graph_out = pipe(batch, noise=noise), graphed(batch, noise=noise)
            noise2 = pipe.sample_noise(b, 256, 192, torch.Generator(device).manual_seed(1))  # a second replay, new noise
            diff = max(float((getattr(eager_out, k) - getattr(graph_out, k)).float().abs().max()) for k in ("fake_image", "layout_prob", "warped_cloth"))
            diff2 = float((pipe(batch, noise=noise2).fake_image - graphed(batch, noise=noise2).fake_image).abs().max())
            t_eager = _timed(lambda: pipe(batch, noise=noise))
            t_graph = _timed(lambda: graphed(batch, noise=noise))
            result[f"{label} b{b}"] = r = {"max_abs_graph_vs_eager": diff, "max_abs_second_noise": diff2, "eager_ms_per_image": t_eager / b * 1e3,
                                           "graph_ms_per_image": t_graph / b * 1e3, "speedup": t_eager / t_graph}  # fmt: skip
            print(f"CUDA graph, {label}, batch {b}: graph vs eager max-abs {diff:.1e} / {diff2:.1e} (new noise); "
                  f"{r['eager_ms_per_image']:.2f} -> {r['graph_ms_per_image']:.2f} ms/image ({r['speedup']:.2f}x)", flush=True)  # fmt: skip
            torch.cuda.empty_cache()  # the next batch size captures afresh
    return result


def check_tf32(device: str) -> dict:
    b = 4
    batch = {k: v.to(device) for k, v in parity_batch(b, 256, 192).items()}
    pipe = recipe_pipeline(1).to(device)
    noise = pipe.sample_noise(b, 256, 192, torch.Generator(device).manual_seed(0))
    cpu_pipe = recipe_pipeline(1)
    reference = cpu_pipe({k: v.cpu() for k, v in batch.items()}, noise={k: v.cpu() for k, v in noise.items()})
    result = {}
    for tf32 in (True, False):
        pipe.tf32 = tf32  # acgpn.runtime.cudnn_tf32 around the forward (default False)
        r = _tie_aware(pipe, batch, noise, reference, TIE_MARGIN)
        result[f"tf32 {'on' if tf32 else 'off'} vs cpu fp32"] = r
        print(f"float32 on {device}, TF32 {'on ' if tf32 else 'off'} vs CPU float32 (recipe weights, tie margin {TIE_MARGIN}): "
              f"PSNR {r['psnr_db']:.1f} dB, max-abs {r['max_abs']:.1e}, {r['ties']} ties, {r['beyond_margin']} beyond the margin", flush=True)  # fmt: skip
    for name in ("bf16", "fp16"):
        p = recipe_pipeline(1).to(device)
        apply_speed_options(p, channels_last=True, autocast=name)
        r = _tie_aware(p, batch, noise, reference, AUTOCAST_TIE_MARGIN)
        result[f"{name} vs cpu fp32"] = r
        print(f"{name} autocast on {device} vs CPU float32 (tie margin {AUTOCAST_TIE_MARGIN}): PSNR {r['psnr_db']:.1f} dB, "
              f"max-abs {r['max_abs']:.1e}, {r['ties']} ties, {r['beyond_margin']} beyond the margin", flush=True)  # fmt: skip
    return result


def check_embedded(device: str) -> dict:
    from acgpn.pipeline import TryOnPipeline

    b = 8
    cpu = TryOnPipeline.from_pretrained()
    gpu = TryOnPipeline.from_pretrained(device=device)
    h, w = cpu.working_size or (256, 192)  # at the model's working size: decisions compare at the size they are made
    batch = parity_batch(b, h, w)
    noise = cpu.sample_noise(b, h, w, torch.Generator().manual_seed(0))
    reference = cpu(batch, noise=noise)
    result = {}
    for name in ("fp32", "bf16"):
        if name == "bf16":
            apply_speed_options(gpu, channels_last=True, autocast="bf16")
        r = _tie_aware(gpu, {k: v.to(device) for k, v in batch.items()}, {k: v.to(device) for k, v in noise.items()}, reference,
                       AUTOCAST_TIE_MARGIN if name == "bf16" else TIE_MARGIN)  # fmt: skip
        result[name] = r
        print(f"embedded model, {name} on {device} vs CPU float32: PSNR {r['psnr_db']:.1f} dB, max-abs {r['max_abs']:.1e}, "
              f"{r['ties']} ties, {r['beyond_margin']} beyond the margin", flush=True)  # fmt: skip
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cuda")
    p.add_argument("--json", type=Path, default=HERE.parent / "outputs" / "bench" / "gpu_check.json")
    args = p.parse_args()
    if not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA device here")
    torch.backends.cudnn.benchmark = True
    record: dict = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "cuda": torch.version.cuda}
    print(f"gpu_check on {record['gpu']}, torch {record['torch']}, CUDA {record['cuda']}", flush=True)
    t0 = time.perf_counter()
    for name, check in (("sync", check_sync), ("tf32", check_tf32), ("embedded", check_embedded), ("graphs", check_graphs)):
        try:
            record[name] = check(args.device)
        except Exception as e:  # noqa: BLE001  (one failed check must not hide the others' findings)
            record[name] = {"error": f"{type(e).__name__}: {e}"}
            print(f"{name} check failed: {type(e).__name__}: {e}", flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {args.json} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
