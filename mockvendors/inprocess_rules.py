"""How a vendor's mock answers when called in-process (no HTTP): the same image checks and error
codes as its wire protocol, and the shape of its similarity call. Each vendor folder defines one
:class:`InProcessRules` (``mockvendors.<vendor>.INPROCESS``) and the vendor registry points at it,
so the in-process backend (:mod:`harness.backends.inprocess`) has no per-vendor code of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class InProcessRules:
    check_image: Callable[[bytes], None]  # raises mockvendors.errors.ImageRejected, as the wire would
    decode_error_code: str  # an undecodable image
    too_large_code: str  # an image over the vendor's pixel limits
    reports_unnamed_faces: bool = False  # AWS lists faces it does not name (UnrecognizedFaces)
    check_decoded: Callable[[bytes, tuple[int, int]], None] | None = None  # checks needing the pixel size
    no_face_source_code: str = "NoFaceDetected"  # similarity: no face in the first image
    no_face_target_code: str = "NoFaceDetected"  # similarity: no face in the second image
    # "compare": the largest source face against every target face, best match (AWS CompareFaces);
    # "largest": the largest face of each image (Azure verify / find-similar)
    similarity: str = "largest"
    similarity_decimals: int | None = None  # the wire answer's rounding, kept in-process too
