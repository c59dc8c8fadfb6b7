"""Data commands: ``acgpn validate DIR`` checks an on-disk dataset (see :mod:`acgpn.data.validate`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from acgpn.data.files import format_size
from acgpn.data.validate import inspect_dataset
from acgpn.errors import InputError


class LayoutName(str, Enum):
    """Dataset layouts (:mod:`acgpn.data.layouts`)."""

    viton = "viton"
    cpvton = "cpvton"
    vitonhd = "vitonhd"


class ParseSource(str, Enum):
    """Label-id conventions of the label maps."""

    acgpn = "acgpn"
    lip = "lip"
    cihp = "cihp"
    atr = "atr"


def validate(
    root: Annotated[Path, typer.Argument(metavar="DIR", help="Dataset root folder.")],
    layout: Annotated[LayoutName, typer.Option(help="Folder layout.")] = LayoutName.viton,
    phase: Annotated[str, typer.Option(help="Phase: folder prefix (test, train, ...).")] = "test",
    pairs: Annotated[
        Optional[Path],  # noqa: UP045 - typer needs Optional on Python 3.10
        typer.Option(help="Pair file ('person_image cloth_image' per line); default: own cloth."),
    ] = None,
    parse_source: Annotated[
        Optional[ParseSource],  # noqa: UP045
        typer.Option(help="Label ids stored as (default: acgpn/lip/cihp per layout)."),
    ] = None,
) -> None:
    """Check a dataset: print every problem (one line each, exit 2) or one 'ok' summary (exit 0)."""
    try:
        problems, info = inspect_dataset(
            root, layout.value, phase, pairs, None if parse_source is None else parse_source.value
        )
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if problems:
        for line in problems:
            typer.echo(line)
        typer.echo(f"error: {len(problems)} problem(s) in {root}", err=True)
        raise typer.Exit(2)
    sizes = ", ".join(format_size(s) for s in info["sizes"]) or "no size"  # type: ignore[attr-defined]
    typer.echo(
        f"ok: {info['persons']} persons, {info['clothes']} clothes, {info['pairs']} pairs "
        f"({info['layout']}, {info['phase']}, {sizes})"
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("validate")(validate)
