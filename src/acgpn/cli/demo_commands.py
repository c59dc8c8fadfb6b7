"""``acgpn demo-tryon``: unpaired try-on of new synthetic people with the embedded model (``make demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from acgpn.cli import PRESERVE_HELP


def register(app: typer.Typer) -> None:
    """Add ``demo-tryon``."""

    @app.command("demo-tryon")
    def demo_tryon(
        out: Path = typer.Option(Path("outputs/demo"), "--out", help="Output folder: data/, tryon_sheet.png, scores.json."),
        num: int = typer.Option(6, "--num", min=2, max=64, help="Number of new synthetic people (rows of the sheet, 2-64)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Synthesis seed (default: one no training used)."),
        size: str = typer.Option("256x192", "--size", help="Size of the synthesised data, HxW (the model resizes in and out)."),
        checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="A save_pretrained folder instead of the embedded model."),
        device: str = typer.Option("auto", "--device", help="auto | cpu | cuda[:N] | mps"),
        preserve: Optional[bool] = typer.Option(None, "--preserve/--no-preserve", help=PRESERVE_HELP),  # noqa: UP007
    ) -> None:
        """Synthesise new people and clothes, try each person on another's cloth with the embedded
        model, write OUT/tryon_sheet.png and print the scores against the exact ground truth."""
        from acgpn.assets import SYNTHETIC_NOTICE
        from acgpn.fileio import check_folder_target
        from acgpn.recipes import DEMO_SEED, run_demo, score_table
        from acgpn.runtime import resolve_device
        from acgpn.data.size import split_size

        check_folder_target(out)
        if checkpoint is None:
            typer.echo(f"note: {SYNTHETIC_NOTICE}", err=True)
        scores = run_demo(
            out, num=num, seed=DEMO_SEED if seed is None else seed, size=split_size(size),
            model="synthetic" if checkpoint is None else checkpoint, device=resolve_device(device), preserve_content=preserve,
        )  # fmt: skip
        typer.echo(score_table({f"{int(scores.summary['pairs'])} unpaired pairs": scores.summary}))
        typer.echo(f"try-on of {num} pairs in {scores.seconds:.1f} s -> {out / 'tryon_sheet.png'}")
