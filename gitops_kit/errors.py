"""The one user-facing error type: anything raised as it ends the run with exit 2."""

from __future__ import annotations


class UsageError(Exception):
    """A usage or configuration error; the message is shown as is, the exit code is 2."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path:
            where = f"{path}:{line}: " if line else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line
