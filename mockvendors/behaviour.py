"""What a mock vendor answers, independent of any wire protocol.

``MockVendorBehaviour(profile, gallery, analyzer)``:

- :meth:`recognize` (image bytes) -> :class:`RecognitionResult`: every detected face with the best
  identity the vendor knows, its calibrated confidence, and whether the vendor names it;
- :meth:`recognize_embeddings` (N x D embeddings) -> :class:`EmbeddingAnswers`, vectorised, for
  simulations that skip images;
- :meth:`similarity` / :meth:`compare` / :meth:`similarity_embeddings` for the similarity call.

Deterministic: answers are pure functions of the image bytes (analyses are cached by sha256).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.errors import DfiError
from mockvendors.analysis import Analyzer, CachingAnalyzer, FaceAnalysis, ImageAnalysis, PipelineAnalyzer, sha256_hex
from mockvendors.gallery import Gallery, Identity
from mockvendors.profile import SimilarityCall, VendorProfile


class NoSimilarityCall(DfiError):
    """The vendor has no face-similarity call (Naver)."""


class NoFaceInImage(DfiError):
    """The similarity call needs a face in an image that has none. ``which`` is "source"/"target"."""

    def __init__(self, which: str):
        self.which = which
        super().__init__(f"no face detected in the {which} image")


@dataclass(frozen=True)
class FaceMatch:
    face: FaceAnalysis
    best: Identity | None  # best identity the vendor knows (None: it knows no one)
    cosine: float  # cosine to ``best``'s closest enrolment photo (-inf when best is None)
    confidence: float  # vendor scale, of ``best``
    named: bool  # whether the vendor reports ``best`` (the vendor's reporting rule)

    @property
    def identity(self) -> Identity | None:
        return self.best if self.named else None


@dataclass(frozen=True)
class RecognitionResult:
    image: ImageAnalysis
    faces: tuple[FaceMatch, ...]

    @property
    def named(self) -> tuple[FaceMatch, ...]:
        return tuple(f for f in self.faces if f.named)

    @property
    def unrecognized(self) -> tuple[FaceMatch, ...]:
        return tuple(f for f in self.faces if not f.named)


@dataclass(frozen=True)
class EmbeddingAnswers:
    """Per probe row: ``index`` into ``gallery.identities`` of the best known identity (-1: none),
    its ``cosine``, the vendor-scale ``confidence`` (0 where index is -1), and ``named``."""

    index: np.ndarray
    cosine: np.ndarray
    confidence: np.ndarray
    named: np.ndarray

    def names(self, gallery: Gallery) -> list[str | None]:
        return [gallery.identities[i].name if n else None for i, n in zip(self.index.tolist(), self.named.tolist())]


@dataclass(frozen=True)
class Comparison:
    source: ImageAnalysis
    source_face: FaceAnalysis
    target: ImageAnalysis
    similarities: tuple[float, ...]  # vendor scale, one per target face (same order)


class MockVendorBehaviour:
    def __init__(self, profile: VendorProfile, gallery: Gallery, analyzer: Analyzer | None = None):
        self.profile = profile
        self.gallery = gallery
        inner = analyzer if analyzer is not None else PipelineAnalyzer()
        self.analyzer = inner if isinstance(inner, CachingAnalyzer) else CachingAnalyzer(inner)
        known = [profile.coverage.knows(profile.vendor, i.id, i.tags) for i in gallery.identities]
        self.known = np.asarray(known, dtype=bool)

    @property
    def vendor(self) -> str:
        return self.profile.vendor

    # --- recognition --------------------------------------------------------------------------
    def analyze(self, image: bytes, sha256: str | None = None) -> ImageAnalysis:
        return self.analyzer.analyze(image, sha256)

    def recognize(self, image: bytes) -> RecognitionResult:
        """Recognise every face of ``image`` (at most ``profile.max_faces``, largest first)."""
        return self.recognize_analysis(self.analyze(image))

    def recognize_analysis(self, analysis: ImageAnalysis) -> RecognitionResult:
        faces = analysis.faces[: self.profile.max_faces]
        if not faces:
            return RecognitionResult(analysis, ())
        ans = self.recognize_embeddings(np.stack([f.embedding for f in faces]), exclude_sha256=analysis.sha256)
        out = []
        for f, i, c, conf, n in zip(faces, ans.index.tolist(), ans.cosine.tolist(), ans.confidence.tolist(),
                                    ans.named.tolist()):
            out.append(FaceMatch(f, self.gallery.identities[i] if i >= 0 else None, c, conf, n))
        return RecognitionResult(analysis, tuple(out))

    def recognize_embeddings(self, embeddings: np.ndarray,
                             exclude_sha256: str | Iterable[str] | None = None) -> EmbeddingAnswers:
        """Vectorised recognition of probe embeddings (N x D, L2-normalised).

        ``exclude_sha256``: enrolment photos to hold out (the probe image's own hash)."""
        cos = self.gallery.identity_cosines(embeddings, exclude_sha256, among=self.known)
        n = len(cos)
        if not cos.shape[1]:
            idx = np.full(n, -1, dtype=np.int64)
            best = np.full(n, -np.inf, dtype=np.float32)
        else:
            idx = np.argmax(cos, axis=1)
            best = cos[np.arange(n), idx]
            idx = np.where(np.isfinite(best), idx, -1)
        conf = np.where(idx >= 0, self.profile.confidence(np.where(np.isfinite(best), best, -1.0)), 0.0)
        if self.profile.always_name_best:
            named = idx >= 0
        else:
            named = (idx >= 0) & (conf >= self.profile.report_threshold)
        return EmbeddingAnswers(idx, best.astype(np.float64), conf, named)

    # --- similarity ---------------------------------------------------------------------------
    def similarity_embeddings(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Vendor-scale similarity of paired embeddings (N x D each, or D each)."""
        sim = self.similarity_call()
        a2, b2 = np.atleast_2d(a).astype(np.float64), np.atleast_2d(b).astype(np.float64)
        norms = np.linalg.norm(a2, axis=1) * np.linalg.norm(b2, axis=1)
        cos = np.sum(a2 * b2, axis=1) / np.where(norms > 0, norms, 1.0)
        return sim.calibration(cos) * sim.scale

    def compare(self, source: bytes, target: bytes) -> Comparison:
        """AWS CompareFaces semantics: the largest source face against every target face."""
        self.similarity_call()
        src = self.analyze(source)
        if not src.faces:
            raise NoFaceInImage("source")
        tgt = self.analyze(target)
        if not tgt.faces:
            return Comparison(src, src.faces[0], tgt, ())
        emb = np.stack([f.embedding for f in tgt.faces[: self.profile.max_faces]])
        sims = self.similarity_embeddings(np.broadcast_to(src.faces[0].embedding, emb.shape), emb)
        return Comparison(src, src.faces[0], tgt, tuple(float(s) for s in sims))

    def similarity(self, image_a: bytes, image_b: bytes) -> float:
        """Vendor-scale similarity of the largest faces of two images. Raises :class:`NoFaceInImage`."""
        self.similarity_call()
        a, b = self.analyze(image_a), self.analyze(image_b)
        if not a.faces:
            raise NoFaceInImage("source")
        if not b.faces:
            raise NoFaceInImage("target")
        return float(self.similarity_embeddings(a.faces[0].embedding, b.faces[0].embedding)[0])

    def similarity_call(self) -> SimilarityCall:
        """The profile's face-similarity call; raises :class:`NoSimilarityCall` for a vendor without one."""
        if self.profile.similarity is None:
            raise NoSimilarityCall(f"{self.profile.display_name} has no face-similarity call")
        return self.profile.similarity


def behaviour_for(vendor: str, gallery: Gallery, analyzer: Analyzer | None = None,
                  profile: VendorProfile | str | Path | dict | None = None) -> MockVendorBehaviour:
    """Convenience: the built-in profile of ``vendor`` (optionally overridden) over ``gallery``; as in
    :func:`behaviours`, a vendor whose models ``analyzer`` does not run gets its own."""
    return behaviours([vendor], gallery, analyzer, {vendor: profile} if profile is not None else None)[vendor]


def shared_analyzer(analyzer: Analyzer | None = None) -> CachingAnalyzer:
    """``analyzer`` behind one embedding cache (as is when it already is a cache)."""
    return analyzer if isinstance(analyzer, CachingAnalyzer) else CachingAnalyzer(analyzer or PipelineAnalyzer())


def behaviours(vendors: Iterable[str], gallery: Gallery | str | Path | None = None, analyzer: Analyzer | None = None,
               profiles: Mapping[str, VendorProfile | str | Path | dict] | None = None
               ) -> dict[str, MockVendorBehaviour]:
    """The behaviour of each vendor over one gallery (see :func:`mockvendors.gallery.resolve_gallery`):
    what the in-process backend, the HTTP servers and the boto3 in-process mock are all built from.

    Vendors whose profiles name the same recognizer and detector share one embedding cache and one
    gallery in that model's space; a vendor with other models gets its own analyzer, and the gallery's
    photos enrolled again with them. ``analyzer``, when given, serves the vendors whose models it runs
    (a custom analyzer that is not the face pipeline serves every vendor: its models are the caller's)."""
    from mockvendors.gallery import resolve_gallery
    from mockvendors.profile import load_profile

    chosen = list(vendors)
    given = profiles or {}
    profs = {v: p if isinstance(p := given.get(v), VendorProfile) else load_profile(v, p) for v in chosen}
    shared: dict[tuple[str, str], tuple[CachingAnalyzer, Gallery]] = {}
    base: Gallery | None = None
    if analyzer is not None:
        an = shared_analyzer(analyzer)
        base = resolve_gallery(gallery, an)
        inner = an.inner
        if not isinstance(inner, PipelineAnalyzer):
            return {v: MockVendorBehaviour(profs[v], base, an) for v in chosen}
        shared[(inner.recognizer, inner.detector)] = (an, base)
    out = {}
    for v in chosen:
        key = (profs[v].recognizer, profs[v].detector)
        if key not in shared:
            an = CachingAnalyzer(PipelineAnalyzer(recognizer=key[0], detector=key[1]))
            shared[key] = (an, base.for_analyzer(an) if base is not None else resolve_gallery(gallery, an))
        an, g = shared[key]
        out[v] = MockVendorBehaviour(profs[v], g, an)
    return out


__all__ = [
    "Comparison", "EmbeddingAnswers", "FaceMatch", "MockVendorBehaviour", "NoFaceInImage", "NoSimilarityCall",
    "RecognitionResult", "behaviour_for", "behaviours", "sha256_hex", "shared_analyzer",
]
