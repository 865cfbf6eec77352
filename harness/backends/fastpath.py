"""Batch entry points over the in-process mock vendors, for campaigns of many probes.

A campaign against the in-process mocks spends most of its time on per-call overhead: each call
re-hashes the image, re-parses its header for the vendor's image checks and queries the gallery
with a single row. :class:`BatchedMockVendor` keeps the per-call :class:`Vendor` methods as they
are (it delegates to :class:`harness.backends.inprocess.MockVendor`) and adds

* ``recognize_batch([(bytes, sha256), ...])`` and
* ``similarity_batch([((a, sha_a), (b, sha_b)), ...])``,

which answer an image with one vectorised gallery query when (1) this vendor has already accepted
the image (its bytes passed the vendor's checks once: the result is remembered by sha256, as the
face analysis is) and (2) its face analysis is cached. Anything else -- a new image, an image the
vendor refused, an enrolment photo (hold-out), an image without a face -- goes through the per-call
path, so the answers are the same; ``tests/campaign/test_campaign_fastpath.py`` checks that they are equal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.backends.inprocess import MockVendor, answer_to_recognition
from harness.vendors.base import Recognition

Item = tuple[bytes, str]  # image bytes, sha256


class BatchedMockVendor:
    def __init__(self, mock):  # noqa: ANN001 - a harness.backends.inprocess.MockVendor
        from mockvendors.analysis import ImageAnalysis

        self._ImageAnalysis = ImageAnalysis
        self.mock = mock
        self.name = mock.name
        self.supports_similarity = mock.supports_similarity
        self.behaviour = mock.behaviour
        self.analyzer = mock.behaviour.analyzer
        gallery = mock.behaviour.gallery
        self._enrolled = set(gallery.image_sha256) if gallery.holdout else set()
        self._accepted: set[str] = set()
        self.fast_calls = 0

    def remember_pixels(self, sha256: str, pixels: np.ndarray) -> None:
        """The decoded image of the bytes with this sha256 (the campaign's face crop): the vendors'
        analyzers take it instead of decoding the bytes they are sent (identical pixels: PNG is lossless)."""
        from mockvendors.analysis import IMAGE_MEMO

        IMAGE_MEMO.put_pixels(sha256, pixels)

    # ----- the per-call protocol: unchanged answers; remembers which images the vendor accepted ----
    def recognize(self, image: bytes, sha256: str | None = None) -> Recognition:
        rec = self.mock.recognize(image)
        if sha256:
            self._accepted.add(sha256)
        return rec

    def similarity(self, image_a: bytes, image_b: bytes, sha_a: str | None = None,
                   sha_b: str | None = None) -> float | None:
        score = self.mock.similarity(image_a, image_b)
        self._accepted.update(s for s in (sha_a, sha_b) if s)
        return score

    # ----- batches ---------------------------------------------------------------------------------
    def _ready(self, sha: str):  # noqa: ANN202
        if sha not in self._accepted or sha in self._enrolled:
            return None
        a = self.analyzer.cached(sha)
        return a if isinstance(a, self._ImageAnalysis) and a.faces else None

    def recognize_batch(self, items: Sequence[Item]) -> list[Recognition | Exception]:
        out: list[Recognition | Exception | None] = [None] * len(items)
        fast = []
        for i, (data, sha) in enumerate(items):
            a = self._ready(sha)
            if a is None:
                try:
                    out[i] = self.recognize(data, sha)
                except Exception as exc:  # noqa: BLE001 - returned in place, like analyze_many
                    out[i] = exc
            else:
                fast.append((i, a.faces[: self.behaviour.profile.max_faces]))
        if fast:
            emb = np.stack([f.embedding for _, faces in fast for f in faces])
            ans = self.behaviour.recognize_embeddings(emb)  # no hold-out needed: none is an enrolment photo
            idx, conf, named = ans.index.tolist(), ans.confidence.tolist(), ans.named.tolist()
            k = 0
            identities = self.behaviour.gallery.identities
            for i, faces in fast:
                answers = []
                for f in faces:
                    answers.append((identities[idx[k]] if named[k] else None, conf[k], f.box))
                    k += 1
                out[i] = answer_to_recognition(answers, self.behaviour.profile.scale, self.mock.rules)
            self.fast_calls += len(fast)
        return out  # type: ignore[return-value]

    def similarity_batch(self, pairs: Sequence[tuple[Item, Item]]) -> list[float | None | Exception]:
        out: list[float | None | Exception] = [None] * len(pairs)
        if not self.supports_similarity:
            return out
        fast = []
        for i, ((a, sa), (b, sb)) in enumerate(pairs):
            an, bn = self._ready(sa), self._ready(sb)
            if an is None or bn is None:
                try:
                    out[i] = self.similarity(a, b, sa, sb)
                except Exception as exc:  # noqa: BLE001
                    out[i] = exc
            else:
                fast.append((i, an, bn))
        if not fast:
            return out
        if self.mock.rules.similarity == "compare":  # the largest source face against every target face
            src, tgt, owner = [], [], []
            for j, (_, an, bn) in enumerate(fast):
                for f in bn.faces[: self.behaviour.profile.max_faces]:
                    src.append(an.faces[0].embedding)
                    tgt.append(f.embedding)
                    owner.append(j)
            sims = self.behaviour.similarity_embeddings(np.stack(src), np.stack(tgt))
            best = np.full(len(fast), -np.inf)
            np.maximum.at(best, np.asarray(owner), sims)
            for (i, _, _), s in zip(fast, best.tolist()):
                out[i] = self.mock.to_100(s)
        else:  # the largest face of each image, rounded as the wire answer is
            emb_a = np.stack([an.faces[0].embedding for _, an, _ in fast])
            emb_b = np.stack([bn.faces[0].embedding for _, _, bn in fast])
            for (i, _, _), s in zip(fast, self.behaviour.similarity_embeddings(emb_a, emb_b).tolist()):
                out[i] = self.mock.to_100(self.mock.round_similarity(s))
        self.fast_calls += len(fast)
        return out


def batched(vendors: dict) -> dict:  # noqa: ANN001
    """Wrap the in-process mock vendors of ``vendors``; leave every other backend as it is."""
    return {k: BatchedMockVendor(v) if isinstance(v, MockVendor) else v for k, v in vendors.items()}
