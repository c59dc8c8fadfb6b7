"""Model commands: ``infer``, ``parity``, ``convert-official``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from acgpn.cli import PRESERVE_HELP
from acgpn.data.size import MAX_WORKING_PIXELS
from acgpn.runtime import resolve_device


def register(app: typer.Typer) -> None:
    """Add ``infer``, ``parity`` and ``convert-official``."""

    @app.command()
    def infer(
        data: Path = typer.Option(..., "--data", help="Dataset root."),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Folder of latest_net_*.pth (official) or of config.json + model.safetensors; default: the embedded model, trained on synthetic people only."),
        out: Path = typer.Option(..., "--out", help="Output folder (resumable)."),
        pairs: Optional[Path] = typer.Option(None, "--pairs", help="Pair file 'person cloth' per line; default: each person with its own cloth."),
        dataset_layout: str = typer.Option("viton", "--layout", help="viton | cpvton | vitonhd"),
        phase: str = typer.Option("test", "--phase"),
        parse_source: Optional[str] = typer.Option(None, "--parse-source", help="Label ids stored as acgpn | lip | cihp | atr (default: per layout)."),
        size: Optional[str] = typer.Option(None, "--size", help="Working size HxW, multiples of 16 (default: the images' own); images are resized once."),
        max_pixels: int = typer.Option(MAX_WORKING_PIXELS, "--max-pixels", min=512, help="Cap on H x W of the working size (memory grows with it)."),
        batch_size: int = typer.Option(1, "--batch-size", min=1),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N] | mps"),
        seed: int = typer.Option(0, "--seed", help="Noise seed (per pair, batch-size independent)."),
        save_intermediates: bool = typer.Option(False, "--save-intermediates", help="Also write every intermediate per pair."),
        align_corners: Optional[bool] = typer.Option(None, "--align-corners/--no-align-corners", help="grid_sample convention of the warp (default: the checkpoint's; official: no)."),
        workers: int = typer.Option(0, "--workers", min=0, help="DataLoader worker processes."),
        fast_math: bool = typer.Option(True, "--fast-math/--exact", help="Faster op sequences in all four nets (outputs within ~1e-4, near-tie decisions may differ); --exact: official ops everywhere."),
        backend: str = typer.Option("torch", "--backend", help="torch | onnxruntime (then --checkpoint is a file written by acgpn export)."),
        channels_last: Optional[bool] = typer.Option(None, "--channels-last/--no-channels-last", help="Nets in NHWC layout (torch backend); default: on CPUs with AVX2 or AVX-512 kernels, unless --exact (acgpn.runtime.prefers_channels_last)."),  # noqa: UP007
        autocast: Optional[str] = typer.Option(None, "--autocast", help="bf16 | fp16: nets under autocast where the device supports it, else float32 with a note (torch backend)."),
        tf32: bool = typer.Option(False, "--tf32", help="CUDA: float32 convolutions in TF32 (faster; moves near-threshold decisions, off for parity)."),
        compile_nets: bool = typer.Option(False, "--compile", help="torch.compile the four nets (torch backend): each new batch shape compiles first (~40 s on a GPU); pays on GPUs, not on CPUs."),
        preserve: Optional[bool] = typer.Option(None, "--preserve/--no-preserve", help=PRESERVE_HELP),  # noqa: UP007
    ) -> None:
        """Run try-on on a dataset with official or converted checkpoints (default: the embedded synthetic model)."""
        from tqdm import tqdm

        from acgpn.data import TryOnDataset, parse_size
        from acgpn.inference import check_output_folder, run_inference
        from acgpn.pipeline import TryOnPipeline

        dev = resolve_device(device)
        from acgpn.distributed import join

        shard = join(dev)  # under torchrun: this rank's share of the pairs, on cuda:LOCAL_RANK for CUDA
        dev = shard.device if shard is not None else dev
        if dev.type == "cpu":
            from acgpn.runtime import tune_cpu_allocator

            tune_cpu_allocator()
        working = parse_size(size, max_pixels) if size else None
        dataset = TryOnDataset(data, dataset_layout=dataset_layout, phase=phase, pairs=pairs, size=working, parse_source=parse_source, max_pixels=max_pixels)
        check_output_folder(out, dataset, save_intermediates)  # before the (slow) checkpoint load
        if backend not in ("torch", "onnxruntime") or (backend == "onnxruntime" and checkpoint is None):
            from acgpn.errors import InputError

            raise InputError(f"--backend {backend}: expected torch, or onnxruntime with --checkpoint FILE.onnx (written by acgpn export)")
        if checkpoint is None:
            from acgpn.assets import DEFAULT_MODEL, EMBEDDED, SYNTHETIC_NOTICE

            from acgpn.train.distributed import launched_rank

            if launched_rank() == 0:  # once under torchrun
                typer.echo(f"no --checkpoint: using the embedded '{DEFAULT_MODEL}' model; {SYNTHETIC_NOTICE}", err=True)
            checkpoint = EMBEDDED[DEFAULT_MODEL]
        if backend == "onnxruntime":
            from acgpn.export import OnnxPipeline

            ignored = [name for name, given in (("--exact", not fast_math), ("--[no-]channels-last", channels_last is not None),
                                                ("--autocast", bool(autocast)), ("--tf32", tf32), ("--compile", compile_nets)) if given]  # fmt: skip
            if ignored:
                typer.echo(f"note: {', '.join(ignored)} ignored with --backend onnxruntime (the exported graph fixes its ops)", err=True)

            pipe = OnnxPipeline(checkpoint, device=dev)
        else:
            pipe = TryOnPipeline.from_checkpoint(checkpoint, device=dev, align_corners=align_corners).set_fast_math(fast_math)
            if channels_last is not None:
                pipe.set_channels_last(channels_last)
            if autocast or tf32 or compile_nets:
                from acgpn.speed import apply_speed_options

                for note in apply_speed_options(pipe, autocast=autocast, tf32=tf32, compile=compile_nets):
                    typer.echo(f"note: {note}", err=True)
        if preserve is not None:
            pipe.preserve_content = preserve
        report = run_inference(
            pipe, dataset, out, batch_size=batch_size, seed=seed, intermediates=save_intermediates, num_workers=workers,
            progress=lambda it: tqdm(it, desc="try-on" if shard is None else f"try-on rank {shard.info.rank}", unit="batch"),
            shard=shard,
        )  # fmt: skip
        if shard is not None:
            report = shard.finish(report, out)  # rank 0 writes the merged summary.json
            if not shard.is_main:
                return
        typer.echo(f"{report.written} written, {report.skipped} already done, {report.total} pairs -> {out}")

    @app.command()
    def parity(
        vectors: Path = typer.Argument(..., help="A parity vectors file (shared format)."),
        device: str = typer.Option("cpu", "--device", help="cpu | cuda[:N] | mps | auto"),
        fast_math: bool = typer.Option(True, "--fast-math/--exact", help="Check the default fast op sequences, or the official ones."),
        tie_margin: float = typer.Option(1e-4, "--tie-margin", min=0.0, help="Step 7: a differing decision is a tie if our own margin is below this."),
    ) -> None:
        """Check this install against official-code vectors, stage by stage; exit 1 on any FAIL."""
        from acgpn.parity import run_parity

        results = run_parity(vectors, device=str(resolve_device(device)), log=typer.echo, fast_math=fast_math, tie_margin=tie_margin)
        failed = [r for r in results if not r.passed]
        checked = [r for r in results if not r.skipped]
        skipped = f", {len(results) - len(checked)} skipped" if len(checked) < len(results) else ""
        typer.echo(f"{'FAIL' if failed else 'PASS'}: {len(checked) - len(failed)}/{len(checked)} checks passed{skipped}")
        if failed:
            raise typer.Exit(1)

    @app.command("convert-official")
    def convert_official(
        directory: Path = typer.Argument(..., help="Folder with latest_net_{U,G1,G2,G}.pth."),
        out: Path = typer.Argument(..., help="Output folder (model.safetensors + config.json)."),
        align_corners: bool = typer.Option(False, "--align-corners/--no-align-corners", help="Warp convention stored in the config."),
    ) -> None:
        """Convert the released .pth files to safetensors + JSON config."""
        from acgpn.fileio import check_folder_target
        from acgpn.pipeline import TryOnPipeline

        check_folder_target(out)  # before the (slow) checkpoint load
        TryOnPipeline.from_official(directory, align_corners=align_corners).save_pretrained(out)
        typer.echo(f"wrote {out / 'model.safetensors'} and {out / 'config.json'}")
