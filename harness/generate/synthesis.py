"""Facial synthesis (a blend of two people), classical version: NOT a neural deepfake.

Like the study's FaceApp "morph" blends: both faces are aligned by their eye centres into one
``size`` x ``size`` frame, the output geometry is the weighted average of the two landmark sets,
each face is piecewise-affine warped (Delaunay) onto that geometry, and the two warped images are
cross-dissolved with the same weight. The result is a face that belongs to neither source.
"""

from __future__ import annotations

import cv2
import numpy as np

from harness.generate.warp import (
    border_points,
    delaunay,
    eye_centres,
    face_points,
    jitter,
    largest_face_landmarks,
    piecewise_affine_warp,
    transform_points,
)


def _eye_alignment(lm: np.ndarray, size: int) -> np.ndarray:
    """Similarity transform putting the eye centres at (0.36, 0.42) and (0.64, 0.42) of the frame."""
    le, re = eye_centres(lm)
    dst_l, dst_r = np.array([0.36, 0.42]) * size, np.array([0.64, 0.42]) * size
    v_src, v_dst = re - le, dst_r - dst_l
    scale = np.linalg.norm(v_dst) / (np.linalg.norm(v_src) + 1e-9)
    angle = np.arctan2(v_dst[1], v_dst[0]) - np.arctan2(v_src[1], v_src[0])
    c, s = scale * np.cos(angle), scale * np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    shift = dst_l - rot @ le
    return np.hstack([rot, shift[:, None]])


def blend_faces(first: np.ndarray, second: np.ndarray, seed: int = 0, weight: float = 0.5,
                size: int = 256) -> np.ndarray:
    """A ``size`` x ``size`` morph: ``weight`` 0 gives ``first``'s face, 1 ``second``'s."""
    out = []
    pts = []
    for i, img in enumerate((first, second)):
        lm = jitter(largest_face_landmarks(img), seed + i)
        m = _eye_alignment(lm, size)
        out.append(cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101))
        pts.append(face_points(transform_points(lm, m)))
    mean = (1 - weight) * pts[0] + weight * pts[1]
    anchors = border_points((size, size))
    dst = np.vstack([mean, anchors])
    tris = delaunay(dst, (size, size))
    warped = [piecewise_affine_warp(o, np.vstack([p, anchors]), dst, tris) for o, p in zip(out, pts)]
    mix = (1 - weight) * warped[0].astype(np.float32) + weight * warped[1].astype(np.float32)
    return np.clip(mix + 0.5, 0, 255).astype(np.uint8)
