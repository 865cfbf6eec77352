"""Facial reenactment, classical version: NOT a neural deepfake (no First Order Motion model).

T's image is warped so that T's landmarks take the layout of R's landmarks (pose and expression
transfer): R's 68 landmarks are first brought into T's frame by a similarity transform (so only
shape, not position or size, transfers), then a piecewise-affine warp over the Delaunay
triangulation of T's landmarks (plus forehead and image-border anchors) moves every triangle of
T's image to its new place. T's texture -- and so T's identity -- is kept; R contributes the
geometry: mouth opening, eye closure, a part of the head pose. Large pose changes are beyond a 2D
warp and show as stretching.
"""

from __future__ import annotations

import numpy as np

from harness.generate.warp import (
    border_points,
    delaunay,
    face_points,
    jitter,
    largest_face_landmarks,
    piecewise_affine_warp,
    similarity_from_points,
    transform_points,
)


def reenact_face(target: np.ndarray, reference: np.ndarray, seed: int = 0, strength: float = 1.0) -> np.ndarray:
    """``target`` (T) animated into ``reference``'s (R) landmark layout; ``strength`` 0..1."""
    lm_t = jitter(largest_face_landmarks(target), seed)
    lm_r = jitter(largest_face_landmarks(reference), seed + 1)
    m = similarity_from_points(lm_r, lm_t)
    lm_r_in_t = transform_points(lm_r, m)
    src = face_points(lm_t)
    dst = face_points(lm_t + strength * (lm_r_in_t - lm_t))
    anchors = border_points(target.shape)
    src_all = np.vstack([src, anchors])
    dst_all = np.vstack([dst, anchors])
    tris = delaunay(dst_all, target.shape)
    return piecewise_affine_warp(target, src_all, dst_all, tris)
