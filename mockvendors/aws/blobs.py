"""What a repeated AWS request need not redo: parsing its body, decoding its ``Image.Bytes``, shaping
its answer.

A client sending the same image again (a benchmark, a retry, a study comparing one source with many
targets) costs a lookup instead of a base64 decode and a hash, and gets the same bytes object each
time, so :class:`mockvendors.analysis.CachingAnalyzer` finds it by identity without hashing. A
CompareFaces answer is a pure function of the two (frozen, cached) analyses, the vendor profile and
the threshold, so its encoded JSON is kept by their identities (:class:`AnswerMemo`).
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from mockvendors.analysis import sha256_hex

_EDGE = 48  # characters of each end of a blob's text in its lookup key


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
    the characters held. Errors are not cached (they raise as :func:`b64decode_validated` does).

    The lookup key is the text's length and ends, the hit is confirmed by comparing the whole text: a
    fresh string from the JSON parser would otherwise be hashed in full (slower than comparing it)."""

    def __init__(self, max_entries: int = 128, max_chars: int = 64 * 1024 * 1024):
        self.max_entries, self.max_chars = max_entries, max_chars
        self._blobs: OrderedDict[tuple[int, str, str], tuple[str, Blob]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def decode(self, text: str) -> Blob:
        key = (len(text), text[:_EDGE], text[-_EDGE:])
        with self._lock:
            hit = self._blobs.get(key)
            if hit is not None and hit[0] == text:
                self._blobs.move_to_end(key)
                return hit[1]
        data = b64decode_validated(text)
        blob = Blob(data, sha256_hex(data))
        if len(text) <= self.max_chars:
            with self._lock:
                old = self._blobs.pop(key, None)
                if old is not None:
                    self._chars -= len(old[0])
                self._blobs[key] = (text, blob)
                self._chars += len(text)
                while len(self._blobs) > self.max_entries or self._chars > self.max_chars:
                    _, (dropped, _) = self._blobs.popitem(last=False)
                    self._chars -= len(dropped)
        return blob


class AnswerMemo:
    """Encoded answers by a key of object identities and values; an entry holds the objects whose ids
    it was filed under, so no id is reused while it lives, and a hit must name the same objects."""

    def __init__(self, max_entries: int = 1024):
        self.max_entries = max_entries
        self._answers: OrderedDict[Hashable, tuple[tuple[object, ...], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(objects: tuple[object, ...], values: tuple[Hashable, ...]) -> Hashable:
        return (*(id(o) for o in objects), *values)

    def get(self, objects: tuple[object, ...], values: tuple[Hashable, ...]) -> bytes | None:
        key = self.key(objects, values)
        with self._lock:
            hit = self._answers.get(key)
            if hit is None or len(hit[0]) != len(objects) or any(a is not b for a, b in zip(hit[0], objects)):
                return None
            self._answers.move_to_end(key)
            return hit[1]

    def put(self, objects: tuple[object, ...], values: tuple[Hashable, ...], answer: bytes) -> None:
        with self._lock:
            self._answers[self.key(objects, values)] = (objects, answer)
            while len(self._answers) > self.max_entries:
                self._answers.popitem(last=False)


class ParsedBodies:
    """Request bodies parsed by ``parse`` (a pure function of the bytes), by the body's length and ends,
    a hit confirmed by comparing the whole body; only parses that give a value are kept. The parsed
    value is shared between requests: callers only read it."""

    def __init__(self, parse: Callable[[bytes], Any], max_entries: int = 64, max_bytes: int = 64 * 1024 * 1024):
        self.parse, self.max_entries, self.max_bytes = parse, max_entries, max_bytes
        self._parsed: OrderedDict[tuple[int, bytes, bytes], tuple[bytes, Any]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, body: bytes) -> Any:
        key = (len(body), body[:_EDGE], body[-_EDGE:])
        with self._lock:
            hit = self._parsed.get(key)
            if hit is not None and hit[0] == body:
                self._parsed.move_to_end(key)
                return hit[1]
        value = self.parse(body)
        if value is not None and len(body) <= self.max_bytes:
            with self._lock:
                old = self._parsed.pop(key, None)
                if old is not None:
                    self._bytes -= len(old[0])
                self._parsed[key] = (body, value)
                self._bytes += len(body)
                while len(self._parsed) > self.max_entries or self._bytes > self.max_bytes:
                    _, (dropped, _) = self._parsed.popitem(last=False)
                    self._bytes -= len(dropped)
        return value
