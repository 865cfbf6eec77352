"""Five-point similarity alignment to the standard ArcFace 112x112 template."""

from __future__ import annotations

import cv2
import numpy as np

# insightface's arcface_dst: left eye, right eye, nose tip, left and right mouth corners (image left/right).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
ALIGNED_SIZE = 112

# 68-point (iBUG 300-W) indices, as seen in the image: 36-41 the image-left eye, 42-47 the image-right
# eye, 30 the nose tip, 48/60 and 54/64 the outer/inner mouth corners.
_LEFT_EYE = [36, 37, 38, 39, 40, 41]
_RIGHT_EYE = [42, 43, 44, 45, 46, 47]


def five_from_68(landmarks68: np.ndarray) -> np.ndarray:
    """(68,2) -> (5,2): eye centres (mean of each eye contour), nose tip, mouth corners."""
    p = np.asarray(landmarks68, dtype=np.float32)
    return np.stack(
        [
            p[_LEFT_EYE].mean(axis=0),
            p[_RIGHT_EYE].mean(axis=0),
            p[30],
            (p[48] + p[60]) / 2,
            (p[54] + p[64]) / 2,
        ]
    ).astype(np.float32)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation+uniform scale+translation mapping src to dst (Umeyama 1991). 2x3."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s_c, d_c = src - mu_s, dst - mu_d
    cov = d_c.T @ s_c / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1
    rot = u @ np.diag(d) @ vt
    var_s = (s_c**2).sum() / len(src)
    scale = (sig * d).sum() / var_s if var_s > 0 else 1.0
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def align_face(image_bgr: np.ndarray, landmarks5: np.ndarray) -> np.ndarray:
    """Warp the face to the 112x112 ArcFace template; returns a uint8 BGR crop."""
    m = similarity_transform(landmarks5, ARCFACE_TEMPLATE)
    return cv2.warpAffine(image_bgr, m, (ALIGNED_SIZE, ALIGNED_SIZE), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
