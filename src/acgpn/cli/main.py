"""The ``acgpn`` typer app. Bad input (:class:`acgpn.errors.InputError`) -> one line on stderr, exit 2."""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from acgpn.errors import InputError


class _Commands(TyperGroup):
    """Turns :class:`InputError` from any command, and a bad option value of a command (click's
    usage errors), into one stderr line and exit code 2. An empty argument (``--out ""``, mostly
    an unset shell variable) is refused before parsing: as a path it would mean the current folder."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        for i, arg in enumerate(args):
            if arg == "" or (arg.startswith("--") and arg.endswith("=")):
                option = arg[:-1] if arg else (args[i - 1] if i and args[i - 1].startswith("-") else f"argument {i + 1}")
                typer.echo(f"error: {option}: empty value (an unset shell variable?); expected a value (see --help)", err=True)
                raise typer.Exit(2)
        return super().parse_args(ctx, args)

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except InputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except typer.TyperException as exc:  # click's usage errors (e.g. --batch-size 0): not the multi-line usage box
            if not hasattr(exc, "format_message"):
                raise
            ctx_ = getattr(exc, "ctx", None)
            command = f"{ctx_.command_path}: " if ctx_ is not None else ""
            typer.echo(f"error: {command}{' '.join(exc.format_message().split())} (see --help)", err=True)
            raise typer.Exit(getattr(exc, "exit_code", 2)) from None


app = typer.Typer(
    cls=_Commands,
    name="acgpn",
    help="ACGPN virtual try-on: data tools, official-checkpoint inference, parity checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """ACGPN virtual try-on: data tools, official-checkpoint inference, parity checks."""


def _register_all() -> None:
    from acgpn.cli import data_commands, model_commands, synth_commands, train_commands
    from acgpn.cli import demo_commands, eval_commands, export_commands, photo_commands

    synth_commands.register(app)
    data_commands.register(app)
    model_commands.register(app)
    train_commands.register(app)
    eval_commands.register(app)
    photo_commands.register(app)
    demo_commands.register(app)
    export_commands.register(app)


_register_all()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    app(args=argv)


if __name__ == "__main__":
    main()
