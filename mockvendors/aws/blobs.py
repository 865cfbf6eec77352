"""``Image.Bytes`` blobs decoded once: the base64 text of a recent request maps to its bytes and sha256.

A client sending the same image again (a benchmark, a retry, a study comparing one source with many
targets) costs a dict lookup instead of a base64 decode and a hash; and the bytes object is the same
one each time, so :class:`mockvendors.analysis.CachingAnalyzer` finds it by identity without hashing.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from typing import NamedTuple

from mockvendors.analysis import sha256_hex


class Blob(NamedTuple):
    data: bytes
    sha256: str


def b64decode_validated(text: str) -> bytes:
    """``base64.b64decode(text, validate=True)``, the same bytes and the same errors, faster: what
    ``a2b_base64``'s strict mode accepts the validating decode accepts with the same result (the
    strict mode is the narrower), so only what it refuses takes the slower, regex-checked path."""
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return base64.b64decode(text, validate=True)


class BlobCache:
    """Decoded blobs by their base64 text, least recently used dropped first; bounded in entries and in
    the characters held. Errors are not cached (they raise as :func:`b64decode_validated` does)."""

    def __init__(self, max_entries: int = 128, max_chars: int = 64 * 1024 * 1024):
        self.max_entries, self.max_chars = max_entries, max_chars
        self._blobs: OrderedDict[str, Blob] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def decode(self, text: str) -> Blob:
        with self._lock:
            blob = self._blobs.get(text)
            if blob is not None:
                self._blobs.move_to_end(text)
                return blob
        data = b64decode_validated(text)
        blob = Blob(data, sha256_hex(data))
        if len(text) <= self.max_chars:
            with self._lock:
                if text not in self._blobs:
                    self._blobs[text] = blob
                    self._chars += len(text)
                while len(self._blobs) > self.max_entries or self._chars > self.max_chars:
                    old, _ = self._blobs.popitem(last=False)
                    self._chars -= len(old)
        return blob
