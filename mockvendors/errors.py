"""Vendor-level refusals shared by the wire protocols and the in-process API."""

from __future__ import annotations

from harness.errors import DfiError


class ImageRejected(DfiError):
    """The vendor refuses an image before looking for faces. ``code`` is the vendor's error code."""

    def __init__(self, vendor: str, code: str, message: str, status: int = 400, too_large: bool = False):
        self.vendor = vendor
        self.code = code
        self.message = message
        self.status = status
        self.too_large = too_large
        super().__init__(f"{vendor}: {code}: {message}")
