"""Data commands: ``acgpn validate DIR`` checks an on-disk dataset (see :mod:`acgpn.data.validate`).

Output: one ``error: <file>: <what>`` line per problem and one ``warning: <file>: <what>`` line per
warning on stderr, then a summary on stdout: ``ok: ...`` (exit 0, also with warnings only) or
``failed: N problem(s) in DIR`` (exit 2).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from acgpn.data.validate import inspect_dataset


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
    dataset_layout: Annotated[LayoutName, typer.Option("--layout", help="Folder layout.")] = LayoutName.viton,
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
    """Check a dataset: print every problem and warning (one line each), then a summary; exit 2 on problems."""
    report = inspect_dataset(root, dataset_layout.value, phase, pairs, None if parse_source is None else parse_source.value)
    for line in report.problems:
        typer.echo(f"error: {line}", err=True)
    for line in report.warnings:
        typer.echo(f"warning: {line}", err=True)
    warned = f"; {len(report.warnings)} warning(s)" if report.warnings else ""
    if report.problems:
        typer.echo(f"failed: {len(report.problems)} problem(s) in {root}{warned}")
        raise typer.Exit(2)
    typer.echo(report.summary() + warned)


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("validate")(validate)
