"""Test doubles for the campaign tests: a scripted vendor (NOT a mock vendor of the project) and
tiny datasets of synthetic images. Shared by tests/campaign/ and their subprocess child."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from harness.datasets.probe import Probe
from harness.vendors.base import BadImageError, Recognition, RecognizedFace, ServerError, ThrottledError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ScriptedVendor:
    """Answers computed from the image bytes' hash, so every answer is reproducible.

    ``fail``: sha256 -> "bad" (non-retryable refusal) | "server" (always 5xx) | "throttle-once".
    ``log``: a file receiving one line per call (opened O_APPEND, so a SIGKILL loses nothing).
    """

    def __init__(self, name: str, *, similarity: bool = True, fail: dict[str, str] | None = None,
                 log: Path | None = None, delay_s: float = 0.0):
        self.name = name
        self.supports_similarity = similarity
        self.fail = dict(fail or {})
        self.delay_s = delay_s
        self.calls: list[tuple[str, str]] = []
        self._log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND) if log else None
        self._throttled: set[str] = set()

    def _record(self, op: str, key: str) -> None:
        self.calls.append((op, key))
        if self._log_fd is not None:
            os.write(self._log_fd, f"{self.name} {op} {key}\n".encode())

    def _maybe_fail(self, h: str) -> None:
        mode = self.fail.get(h)
        if mode == "bad":
            raise BadImageError(self.name, "InvalidImageFormatException", "scripted refusal")
        if mode == "server":
            raise ServerError(self.name, "InternalServerError", "scripted outage")
        if mode == "throttle-once" and h not in self._throttled:
            self._throttled.add(h)
            raise ThrottledError(self.name, "ThrottlingException", "scripted throttle")

    def recognize(self, image: bytes) -> Recognition:
        h = sha(image)
        self._record("recognize", h)
        if self.delay_s:
            import time
            time.sleep(self.delay_s)
        self._maybe_fail(h)
        v = int(h[:8], 16)
        if v % 4 == 0:
            return Recognition((RecognizedFace(None, 0.0, 0.0),))
        conf = 50 + (v % 50)
        return Recognition((RecognizedFace(f"Celeb {v % 7}", float(conf), float(conf)),))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        key = f"{sha(image_a)}+{sha(image_b)}"
        self._record("similarity", key)
        self._maybe_fail(sha(image_b))
        if not self.supports_similarity:
            return None
        return float(int(sha(image_a + image_b)[:4], 16) % 101)


def noise_png(path: Path, seed: int, size: int = 24) -> Path:
    rng = np.random.default_rng(seed)
    cv2.imwrite(str(path), rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    return path


def synthetic_probes(root: Path, n: int, n_targets: int = 5, dataset: str = "Synthetic") -> list[Probe]:
    """n replacement probes of n_targets targets, images of random noise (no faces: use crop=False)."""
    root.mkdir(parents=True, exist_ok=True)
    targets = [noise_png(root / f"target{t}.png", 10_000 + t) for t in range(n_targets)]
    probes = []
    for i in range(n):
        fake = noise_png(root / f"fake{i:05d}.png", i)
        t = i % n_targets
        probes.append(Probe(f"p{i:05d}", dataset, "replacement", str(fake), f"T{t}",
                            (str(targets[t]),), (f"R{i % 3}",)))
    return probes
