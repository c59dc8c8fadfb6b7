"""Command-line interface (``acgpn --help``). Each sub-module registers its own commands."""

#: Help of ``--preserve/--no-preserve``, shared by the try-on commands.
PRESERVE_HELP = (
    "Copy the person's preserved pixels (face, hair, legs, background) into the result at the input's resolution; "
    "default: the model's setting (off for official checkpoints, as the official code outputs; on for the embedded model)."
)
