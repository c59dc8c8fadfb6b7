"""The one exception type for bad user input.

Library code raises :class:`InputError` with a one-line message that names the offending file and
what was expected; the CLI turns it into ``error: <file>: <message>`` on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

#: Longest message text kept (a pair file's 10 MB token must not become a 10 MB error line).
MAX_MESSAGE_CHARS = 500


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` safe to print on one terminal line: control characters (newlines, NUL, escape
    codes from a hostile file) shown as ``\\xNN`` escapes, and at most ``limit`` characters."""
    safe = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


class InputError(ValueError):
    """Bad user input (missing or corrupt file, wrong size, bad label ids, wrong checkpoint, ...).

    ``message`` says what was expected, ``path`` names the file (or ``None``); ``str(exc)`` is
    ``"<path>: <message>"``, each made one printable line (:func:`one_line`). Both survive a trip
    through a worker process (see :mod:`acgpn.inference`), so the message stays one line.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.message = one_line(message)
        self.path = None if path is None else one_line(str(path))
        super().__init__(f"{self.path}: {self.message}" if self.path else self.message)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.message, self.path))
