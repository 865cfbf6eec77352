"""The campaign journal: an append-only JSON Lines file, the campaign's only state on disk.

Two kinds of records follow a header line:

* ``{"k": "c", ...}`` -- one vendor call and its answer, written the moment the call returns, so a
  resumed campaign answers it from the cache instead of calling the vendor again;
* ``{"k": "r", ...}`` -- one finished results-table row (probe x vendor).

Every record (or batch of records) is written with one ``write`` straight to the operating system,
so a ``kill -9`` loses nothing already written (the kernel keeps the bytes). ``fsync`` -- which
only matters for a power loss or kernel crash -- runs per batch: a background thread syncs whenever
records are waiting, at most every ``fsync_seconds`` (and at once when ``fsync_every`` records
are waiting), and at close, so the writers never wait for the disk. A crash can leave a torn last
line; opening the journal cuts it off before appending.
A call in flight at the moment of the kill has no record and is made again on resume.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from harness.errors import DfiError

JOURNAL_VERSION = 1


def _encode_lines(records: Iterable[dict[str, Any]]) -> bytes:
    """JSON Lines with orjson (about 10x faster than the standard library's encoder, which
    dominated the journal's cost in benchmarks/bench_campaign.py)."""
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


class JournalError(DfiError):
    """The journal belongs to another campaign or cannot be read."""


class Journal:
    def __init__(self, path: str | Path, header: dict[str, Any], *, fsync_every: int = 4096,
                 fsync_seconds: float = 0.25):
        self.path = Path(path)
        self.fsync_every = fsync_every
        self.fsync_seconds = fsync_seconds
        self._lock = threading.Lock()
        self.records: list[dict[str, Any]] = []
        self.torn_bytes = 0
        self.quarantined = 0  # records set aside as untrustworthy (see quarantine)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existing = self._load()
        if existing is None:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(self._fd, _encode_lines([{"k": "h", "version": JOURNAL_VERSION, **header}]))
            os.fsync(self._fd)
        else:
            for key in ("campaign",):
                if key in header and existing.get(key) != header[key]:
                    raise JournalError(
                        f"{self.path}: written by another campaign ({key} {existing.get(key)!r}, this one "
                        f"{header[key]!r}); use another output folder or --fresh")
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        self.header = existing or {"k": "h", "version": JOURNAL_VERSION, **header}
        self._unsynced = 0
        self.bytes_written = 0
        self.fsyncs = 0
        self._wake = threading.Event()
        self._stop = False
        self._syncer = threading.Thread(target=self._sync_loop, name="dfi-journal-fsync", daemon=True)
        self._syncer.start()

    def _sync_loop(self) -> None:
        while not self._stop:
            self._wake.wait(self.fsync_seconds)
            self._wake.clear()
            self.sync()

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
            header = orjson.loads(lines[0])
        except orjson.JSONDecodeError:  # also bytes that are not UTF-8
            header = None
        if not isinstance(header, dict) or header.get("k") != "h" or header.get("version") != JOURNAL_VERSION:
            raise JournalError(f"{self.path}: not a dfi campaign journal (version {JOURNAL_VERSION}); use another "
                               "output folder, or --fresh to discard it")
        for n, line in enumerate(lines[1:], start=2):
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                self.quarantine(line, f"line {n}: not a JSON record")
                continue
            if not isinstance(record, dict):
                self.quarantine(line, f"line {n}: not a JSON object")
                continue
            self.records.append(record)
        return header

    @property
    def quarantine_path(self) -> Path:
        return self.path.with_name(self.path.stem + ".quarantine.jsonl")

    def quarantine(self, record: bytes | dict[str, Any], reason: str) -> None:
        """Set aside a record that cannot be trusted (damaged, or an answer no vendor gives): it is
        copied, with the reason, to :attr:`quarantine_path` and not replayed, so the work it stood for
        is done again instead of failing every resume."""
        raw = record.decode("utf-8", "backslashreplace") if isinstance(record, bytes) else record
        with open(self.quarantine_path, "ab") as f:
            f.write(orjson.dumps({"reason": reason, "record": raw}, default=str) + b"\n")
        self.quarantined += 1

    def append(self, record: dict[str, Any]) -> None:
        self.append_many((record,))

    def append_many(self, records: Iterable[dict[str, Any]]) -> None:
        """Write records with one ``write`` call."""
        data = _encode_lines(records)
        if not data:
            return
        with self._lock:
            os.write(self._fd, data)
            self.bytes_written += len(data)
            self._unsynced += data.count(b"\n")
            many = self._unsynced >= self.fsync_every
        if many:
            self._wake.set()

    def sync(self) -> None:
        with self._lock:
            pending, self._unsynced = self._unsynced, 0
            fd = self._fd
        if pending and fd >= 0:
            os.fsync(fd)  # outside the lock: writers keep appending while the disk catches up
            self.fsyncs += 1

    def close(self) -> None:
        if self._fd >= 0:
            self._stop = True
            self._wake.set()
            self._syncer.join()
            self.sync()
            with self._lock:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
