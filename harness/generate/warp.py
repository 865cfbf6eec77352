"""Landmark geometry shared by the generators: face landmarks, similarity alignment, Delaunay
triangulation and the piecewise-affine warp."""

from __future__ import annotations

import cv2
import numpy as np

from harness.faces.types import Face, NoFaceError

LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)
JAW = slice(0, 17)
BROWS = slice(17, 27)


def largest_face(image: np.ndarray) -> Face:
    """The largest face of ``image`` with its 68 landmarks (the faces pipeline's detector)."""
    from harness.faces import default_pipeline

    faces = default_pipeline().detect(image)
    faces = [f for f in faces if f.landmarks68 is not None]
    if not faces:
        raise NoFaceError("no face with landmarks found")
    return max(faces, key=lambda f: f.width * f.height)


def largest_face_landmarks(image: np.ndarray) -> np.ndarray:
    """The 68 landmarks of :func:`largest_face`'s face."""
    lm = largest_face(image).landmarks68
    if lm is None:  # largest_face only returns a face that has them
        raise NoFaceError("no face with landmarks found")
    return lm


def face_points(landmarks68: np.ndarray) -> np.ndarray:
    """The 68 landmarks plus 7 forehead points (brows mirrored upward), so warps and masks cover
    the forehead, which the 68-point layout leaves out."""
    lm = np.asarray(landmarks68, dtype=np.float64)
    brows = lm[BROWS]
    eye_line = (lm[LEFT_EYE].mean(0) + lm[RIGHT_EYE].mean(0)) / 2
    nose_len = np.linalg.norm(lm[30] - lm[27])
    up = eye_line - lm[30]
    up = up / (np.linalg.norm(up) + 1e-9)
    forehead = brows[::len(brows) // 6 or 1][:7] + up * nose_len * 0.8
    return np.vstack([lm, forehead])


def border_points(shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape[:2]
    xs, ys = [0, w / 2, w - 1], [0, h / 2, h - 1]
    return np.array([(x, y) for x in xs for y in ys if not (x == w / 2 and y == h / 2)], dtype=np.float64)


def eye_centres(landmarks68: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lm = np.asarray(landmarks68, dtype=np.float64)
    return lm[LEFT_EYE].mean(0), lm[RIGHT_EYE].mean(0)


def similarity_from_points(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity transform (rotation, uniform scale, shift) src -> dst."""
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    if m is None:
        raise ValueError("cannot fit a similarity transform to the landmarks")
    return m


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    return points @ m[:, :2].T + m[:, 2]


def delaunay(points: np.ndarray, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Triangles (K x 3 indices into ``points``) of the Delaunay triangulation of ``points``.

    With the image corners among the points, the triangles cover the whole image."""
    from scipy.spatial import Delaunay

    return np.asarray(Delaunay(np.asarray(points, dtype=np.float64)).simplices, dtype=np.int64)


def piecewise_affine_warp(image: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray,
                          triangles: np.ndarray, out_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Warp ``image`` so that each triangle ``src_pts[tri]`` lands on ``dst_pts[tri]``."""
    out_shape = out_shape or image.shape
    out = np.zeros((out_shape[0], out_shape[1], image.shape[2]), dtype=np.float32)
    img = image.astype(np.float32)
    for tri in triangles:
        s = src_pts[tri].astype(np.float32)
        d = dst_pts[tri].astype(np.float32)
        x, y, w, h = cv2.boundingRect(d)
        if w <= 0 or h <= 0 or abs(cv2.contourArea(s)) < 1e-6:
            continue
        # the output rectangle only: warpAffine's cost follows the output size, not the input's
        m = cv2.getAffineTransform(s, d - np.array([x, y], dtype=np.float32))
        warped = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        mask = np.zeros((h, w), dtype=np.float32)
        cv2.fillConvexPoly(mask, np.round(d - [x, y]).astype(np.int32), 1.0, cv2.LINE_8)
        y0, y1 = max(y, 0), min(y + h, out_shape[0])
        x0, x1 = max(x, 0), min(x + w, out_shape[1])
        if y1 <= y0 or x1 <= x0:
            continue
        sub = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
        region = out[y0:y1, x0:x1]
        mk = mask[sub][..., None]
        region[:] = region * (1 - mk) + warped[sub] * mk
    return np.clip(out, 0, 255).astype(np.uint8)


def hull_mask(points: np.ndarray, shape: tuple[int, ...], erode: int = 0) -> np.ndarray:
    mask: np.ndarray = np.zeros(shape[:2], dtype=np.uint8)
    hull = cv2.convexHull(np.round(points).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    if erode > 0:
        mask = cv2.erode(mask, np.ones((erode, erode), np.uint8))
    return mask


def jitter(points: np.ndarray, seed: int, scale: float = 0.5) -> np.ndarray:
    """Sub-pixel landmark noise from ``seed``: a tracker is never exact, and the seed makes the
    output reproducible while letting two seeds give two slightly different fakes."""
    rng = np.random.default_rng(seed)
    return points + rng.normal(0.0, scale, points.shape)
