"""Exception hierarchy shared by every part of the harness.

Every error the harness raises on bad input derives from :class:`DfiError`, so the CLI can print a
clear one-line message instead of a traceback.
"""

from __future__ import annotations


class DfiError(Exception):
    """Base class of all errors the harness raises deliberately."""


class InputFileError(DfiError):
    """A user-supplied file is malformed; names the file, and the row and column where known."""

    def __init__(self, path: str, message: str, row: int | None = None, column: str | None = None):
        self.path = str(path)
        self.row = row
        self.column = column
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")
