"""The campaign journal: an append-only JSON Lines file, the campaign's only state on disk.

Two kinds of records follow a header line:

* ``{"k": "c", ...}`` -- one vendor call and its answer, written the moment the call returns, so a
  resumed campaign answers it from the cache instead of calling the vendor again;
* ``{"k": "r", ...}`` -- one finished results-table row (probe x vendor).

Every record is written with one ``write`` and flushed to the operating system at once, so a
``kill -9`` loses nothing already written (the kernel keeps the bytes); ``fsync`` runs once per
batch (``fsync_every`` records or ``fsync_seconds``) and at close, which bounds what a power loss
can take. A crash can leave a torn last line; opening the journal cuts it off before appending.
A call in flight at the moment of the kill has no record and is made again on resume.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from harness.errors import DfiError

JOURNAL_VERSION = 1


class JournalError(DfiError):
    """The journal belongs to another campaign or cannot be read."""


class Journal:
    def __init__(self, path: str | Path, header: dict[str, Any], *, fsync_every: int = 256,
                 fsync_seconds: float = 1.0):
        self.path = Path(path)
        self.fsync_every = fsync_every
        self.fsync_seconds = fsync_seconds
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.torn_bytes = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = self._load()
        if existing is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._write_now({"k": "h", "version": JOURNAL_VERSION, **header})
            os.fsync(self._fd)
        else:
            old = existing
            for key in ("campaign",):
                if key in header and old.get(key) != header[key]:
                    raise JournalError(
                        f"{self.path}: written by another campaign ({key} {old.get(key)!r}, this one "
                        f"{header[key]!r}); use another output folder or --fresh")
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self.header = existing or {"k": "h", "version": JOURNAL_VERSION, **header}
        self._unsynced = 0
        self._last_sync = time.monotonic()
        self.bytes_written = 0

    def _load(self) -> dict[str, Any] | None:
        if not self.path.exists() or self.path.stat().st_size == 0:
            return None
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # torn last line from a crash: cut it off
            self.torn_bytes = len(data) - end
            with open(self.path, "r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
            data = data[:end]
        lines = data.splitlines()
        if not lines:
            return None
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            raise JournalError(f"{self.path}: the first line is not a journal header") from None
        if header.get("k") != "h" or header.get("version") != JOURNAL_VERSION:
            raise JournalError(f"{self.path}: not a dfi campaign journal (version {JOURNAL_VERSION})")
        for n, line in enumerate(lines[1:], start=2):
            try:
                self.records.append(json.loads(line))
            except json.JSONDecodeError:
                raise JournalError(f"{self.path}, line {n}: damaged record in the middle of the journal") from None
        return header

    def _write_now(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        os.write(self._fd, line)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        with self._lock:
            os.write(self._fd, line)
            self.bytes_written += len(line)
            self._unsynced += 1
            if self._unsynced >= self.fsync_every or time.monotonic() - self._last_sync >= self.fsync_seconds:
                os.fsync(self._fd)
                self._unsynced = 0
                self._last_sync = time.monotonic()

    def sync(self) -> None:
        with self._lock:
            if self._unsynced:
                os.fsync(self._fd)
                self._unsynced = 0
                self._last_sync = time.monotonic()

    def close(self) -> None:
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
