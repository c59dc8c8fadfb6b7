"""The one exception type for bad user input.

Library code raises :class:`InputError` with a one-line message that names the offending file and
what was expected; the CLI turns it into ``error: <file>: <message>`` on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Bad user input (missing or corrupt file, wrong size, bad label ids, wrong checkpoint, ...).

    ``message`` says what was expected, ``path`` names the file (or ``None``); ``str(exc)`` is
    ``"<path>: <message>"``. Both survive a trip through a worker process (see
    :mod:`acgpn.inference`), so the message stays one line.
    """

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.message, self.path))
