"""Export commands: ``export`` (the whole pipeline as one ONNX graph, :mod:`acgpn.export`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    """Add ``export``."""

    @app.command()
    def export(
        onnx: Path = typer.Option(..., "--onnx", help="Output .onnx file (written atomically)."),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="Folder of latest_net_*.pth (official) or of config.json + model.safetensors; default: the embedded model, trained on synthetic people only."),
        size: Optional[str] = typer.Option(None, "--size", help="Image size HxW of the graph, multiples of 16 (default: the model's working size, else 256x192)."),
        align_corners: Optional[bool] = typer.Option(None, "--align-corners/--no-align-corners", help="grid_sample convention of the warp (default: the checkpoint's; official: no)."),
        fast_math: bool = typer.Option(True, "--fast-math/--exact", help="Faster op sequences (as infer); --exact: the official ops."),
        opset: int = typer.Option(18, "--opset", min=16, help="ONNX opset (GridSample needs 16 or later)."),
    ) -> None:
        """Export the whole try-on pipeline (steps I-IV) as one ONNX graph with a dynamic batch."""
        from acgpn.data import parse_size
        from acgpn.export import export_onnx
        from acgpn.fileio import check_folder_target
        from acgpn.pipeline import TryOnPipeline

        graph_size = parse_size(size, max_pixels=None) if size else None
        check_folder_target(onnx.parent)  # before the (slow) checkpoint load
        if onnx.is_dir():
            from acgpn.errors import InputError

            raise InputError("is a folder; expected the path of the .onnx file to write", onnx)
        if checkpoint is None:
            from acgpn.assets import DEFAULT_MODEL, EMBEDDED, SYNTHETIC_NOTICE

            typer.echo(f"no --checkpoint: exporting the embedded '{DEFAULT_MODEL}' model; {SYNTHETIC_NOTICE}", err=True)
            checkpoint = EMBEDDED[DEFAULT_MODEL]
        pipe = TryOnPipeline.from_checkpoint(checkpoint, align_corners=align_corners).set_fast_math(fast_math)
        path = export_onnx(pipe, onnx, size=graph_size, opset=opset)
        typer.echo(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")
