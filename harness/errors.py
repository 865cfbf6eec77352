"""Exception hierarchy shared by every part of the harness.

Every error the harness raises on bad input derives from :class:`DfiError`, so the CLI can print a
clear one-line message instead of a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path


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


def read_utf8(path: str | os.PathLike[str]) -> str:
    """The text of a user's file (UTF-8, a byte-order mark allowed), or an :class:`InputFileError`
    that names the file and the first byte that is not UTF-8."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputFileError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(str(path), f"not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); "
                                        "save it as UTF-8") from None
