"""The ``acgpn`` typer app. Bad input (:class:`acgpn.errors.InputError`) -> one line on stderr, exit 2."""

from __future__ import annotations

import sys

import typer

from acgpn.errors import InputError

app = typer.Typer(
    name="acgpn",
    help="ACGPN virtual try-on: data tools, official-checkpoint inference, parity checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_all() -> None:
    from acgpn.cli import data_commands, model_commands, synth_commands

    synth_commands.register(app)
    data_commands.register(app)
    model_commands.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=True)
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
