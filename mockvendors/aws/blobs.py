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


class _ByContent:
    """Values by a text or a body, least recently used dropped first, bounded in entries and in the
    characters (or bytes) held. The lookup key is the content's length and ends; a hit is confirmed by
    comparing the whole content: a fresh string or body from the network would otherwise be hashed in
    full (slower than comparing it)."""

    def __init__(self, max_entries: int, max_size: int):
        self.max_entries, self.max_size = max_entries, max_size
        self._items: OrderedDict[tuple[int, Any, Any], tuple[Any, Any]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @staticmethod
    def _key(content: str | bytes) -> tuple[int, Any, Any]:
        return len(content), content[:_EDGE], content[-_EDGE:]

    def get(self, content: str | bytes) -> Any:
        key = self._key(content)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] == content:
                self._items.move_to_end(key)
                return hit[1]
        return None

    def put(self, content: str | bytes, value: Any) -> None:
        if len(content) > self.max_size:
            return
        key = self._key(content)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old[0])
            self._items[key] = (content, value)
            self._size += len(content)
            while len(self._items) > self.max_entries or self._size > self.max_size:
                _, (dropped, _) = self._items.popitem(last=False)
                self._size -= len(dropped)


class BlobCache:
    """Decoded blobs by their base64 text (:class:`_ByContent`: at most ``max_entries``, ``max_chars``).
    Errors are not cached (they raise as :func:`b64decode_validated` does)."""

    def __init__(self, max_entries: int = 128, max_chars: int = 64 * 1024 * 1024):
        self._blobs = _ByContent(max_entries, max_chars)

    def decode(self, text: str) -> Blob:
        hit = self._blobs.get(text)
        if hit is not None:
            return hit
        data = b64decode_validated(text)
        blob = Blob(data, sha256_hex(data))
        self._blobs.put(text, blob)
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
    """Request bodies parsed by ``parse`` (a pure function of the bytes), kept by content
    (:class:`_ByContent`); only parses that give a value are kept. The parsed value is shared between
    requests: callers only read it."""

    def __init__(self, parse: Callable[[bytes], Any], max_entries: int = 64, max_bytes: int = 64 * 1024 * 1024):
        self.parse = parse
        self._parsed = _ByContent(max_entries, max_bytes)

    def __call__(self, body: bytes) -> Any:
        hit = self._parsed.get(body)
        if hit is not None:
            return hit
        value = self.parse(body)
        if value is not None:
            self._parsed.put(body, value)
        return value
