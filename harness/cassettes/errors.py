"""Errors of the cassette layer. They are harness errors, not vendor errors: a cassette that
cannot answer stops the run loudly instead of being counted as a failed (or empty) call."""

from __future__ import annotations

from harness.errors import DfiError


class CassetteError(DfiError):
    """Base class of cassette problems."""


class CassetteNotFoundError(CassetteError):
    pass


class CorruptCassetteError(CassetteError):
    def __init__(self, path: str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"corrupt cassette {path}: {reason}")


class CassetteVendorMismatchError(CassetteError):
    def __init__(self, path: str, expected: str, found: set[str]):
        self.path = str(path)
        super().__init__(
            f"{path}: recorded for vendor(s) {', '.join(sorted(found)) or 'unknown'}, "
            f"but used as the {expected!r} backend"
        )


class UnrecordedCallError(CassetteError):
    """Replay mode met a call the cassette does not hold (record_mode 'none' never goes to the network)."""
