"""Synthetic-data commands: ``acgpn synth``, ``acgpn sheet``, ``acgpn demo-sheet``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acgpn.fileio import check_folder_target
from acgpn.data.size import split_size
from acgpn.synth import contact_sheet, generate_dataset


def synth(
    out: Annotated[Path, typer.Argument(help="Output dataset root (new, empty, or an earlier synth dataset).")],
    num: Annotated[int, typer.Option(help="Number of samples (at least 2).")] = 100,
    size: Annotated[str, typer.Option(help="Image size HxW, multiples of 16, at least 32.")] = "256x192",
    seed: Annotated[int, typer.Option(help="Random seed (same seed -> same bytes).")] = 0,
    phase: Annotated[str, typer.Option(help="Phase: folder prefix (test, train, ...).")] = "test",
    framing: Annotated[str, typer.Option(help="Camera: full (whole body) or upper (head to mid-thigh, as VITON).")] = "full",
) -> None:
    """Write a synthetic ACGPN/VITON-layout dataset with exact ground truth."""
    check_folder_target(out)
    root = generate_dataset(out, num, split_size(size), seed, phase, framing)  # checked by check_synth_size
    typer.echo(f"wrote {num} samples to {root}")


def sheet(
    dataset: Annotated[Path, typer.Argument(help="Dataset root (VITON layout).")],
    out: Annotated[Path, typer.Option(help="Output PNG.")] = Path("contact_sheet.png"),
    rows: Annotated[int, typer.Option(help="Number of rows (pairs).")] = 6,
    phase: Annotated[str, typer.Option(help="Phase: folder prefix.")] = "test",
) -> None:
    """Draw a contact sheet: person | labels | pose | cloth | mask | unpaired ground truth."""
    typer.echo(str(contact_sheet(dataset, out, rows, phase)))


def demo_sheet(
    out: Annotated[Path, typer.Option(help="Output folder (gets data/ and contact_sheet.png).")] = Path(
        "outputs/demo"
    ),
    num: Annotated[int, typer.Option(help="Number of samples.")] = 8,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Synthesise a small dataset into OUT/data and draw OUT/contact_sheet.png (prints its path)."""
    check_folder_target(out)
    data = generate_dataset(out / "data", num, (256, 192), seed, "test")
    typer.echo(str(contact_sheet(data, out / "contact_sheet.png", num_rows=num)))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("synth")(synth)
    app.command("sheet")(sheet)
    app.command("demo-sheet")(demo_sheet)
