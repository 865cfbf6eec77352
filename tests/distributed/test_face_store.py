"""The face stage's analyses on disk (harness.distributed.analysis.FaceStore) and how a shard's vendors
are seeded from them: per recognizer, and a torn or missing file means "analyse it yourself"."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.distributed.analysis import FaceStore, analysis_misses, seed_analyzers
from mockvendors.analysis import CachingAnalyzer, FaceAnalysis, ImageAnalysis


class _Model:
    def __init__(self, model_id: str):
        self.model_id = model_id
        self.calls = 0

    def analyze(self, image: bytes) -> ImageAnalysis:
        self.calls += 1
        raise AssertionError("a seeded image must not be analysed again")


class _Vendor:
    def __init__(self, analyzer: CachingAnalyzer):
        self.analyzer = analyzer


def _analysis(sha: str, value: float) -> ImageAnalysis:
    face = FaceAnalysis(box=(1.0, 2.0, 30.0, 40.0), score=0.99, landmarks5=((5.0, 5.0),) * 5,
                        embedding=np.full(4, value, dtype=np.float32), pose=(0.0, 0.0, 0.0), brightness=50.0,
                        sharpness=60.0)
    return ImageAnalysis(sha, 64, 64, "png", (face,))


def test_a_store_keeps_each_recognizers_analysis_apart_and_survives_a_torn_file(tmp_path: Path):
    store = FaceStore(tmp_path / "faces")
    a, b = "a" * 64, "b" * 64
    store.put("model-512", _analysis(a, 1.0))
    store.put("model-192", _analysis(a, 2.0))
    assert store.get("model-512", a).faces[0].embedding[0] == 1.0
    assert store.get("model-192", a).faces[0].embedding[0] == 2.0
    assert store.get("model-512", b) is None and not store.has("model-512", b)
    store.path("model-512", a).write_bytes(b"\x80\x05 torn")  # a killed writer's half file
    assert store.get("model-512", a) is None
    assert not list((tmp_path / "faces").rglob("*.tmp"))


def test_shards_seed_every_analyzer_with_its_own_recognizers_analyses(tmp_path: Path):
    store = FaceStore(tmp_path / "faces")
    sha, missing = "c" * 64, "d" * 64
    store.put("model-512", _analysis(sha, 1.0))
    store.put("model-192", _analysis(sha, 2.0))
    big, small = CachingAnalyzer(_Model("model-512")), CachingAnalyzer(_Model("model-192"))
    vendors = {"aws": _Vendor(big), "nav": _Vendor(big), "ms": _Vendor(small)}
    assert seed_analyzers(vendors, store, [sha, missing, sha]) == 2  # one per recognizer; the missing image none
    assert big.analyze(b"", sha).faces[0].embedding[0] == 1.0
    assert small.analyze(b"", sha).faces[0].embedding[0] == 2.0
    assert analysis_misses(vendors) == 0
    assert big.cached(missing) is None
