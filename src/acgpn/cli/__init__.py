"""Command-line interface (``acgpn --help``). Each sub-module registers its own commands."""
