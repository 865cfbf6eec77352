"""Facial replacement (face swap), classical version: NOT a neural deepfake.

The target T's face is aligned onto the reference image R by a similarity transform fitted to the
68 landmarks, its colours are matched to R's face (mean/std transfer in Lab), and it is
Poisson-blended into R (``cv2.seamlessClone``, normal clone) inside the hull of R's landmarks.
The result shows T's inner face (eyes, nose, mouth, brows) in R's head, lighting and background --
the same structure as DeepFaceLab/FaceSwap outputs, without their learned re-rendering, so blending
seams and pose mismatches are more visible than in Celeb-DF.
"""

from __future__ import annotations

import cv2
import numpy as np

from harness.generate.warp import face_points, hull_mask, jitter, largest_face_landmarks, similarity_from_points

INNER = list(range(17, 68))  # brows, nose, eyes, mouth: stable points for the alignment


def lab_colour_transfer(source: np.ndarray, reference: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift ``source``'s Lab mean/std inside ``mask`` to ``reference``'s (Reinhard et al. 2001)."""
    src = cv2.cvtColor(source, cv2.COLOR_BGR2LAB).astype(np.float32)
    ref = cv2.cvtColor(reference, cv2.COLOR_BGR2LAB).astype(np.float32)
    m = mask > 0
    if not m.any():
        return source
    s_mean, s_std = src[m].mean(0), src[m].std(0) + 1e-6
    r_mean, r_std = ref[m].mean(0), ref[m].std(0) + 1e-6
    out = (src - s_mean) / s_std * r_std + r_mean
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def replace_face(target: np.ndarray, reference: np.ndarray, seed: int = 0) -> np.ndarray:
    """T's face (``target``) swapped into ``reference``. Deterministic for a given seed."""
    lm_t = jitter(largest_face_landmarks(target), seed)
    lm_r = jitter(largest_face_landmarks(reference), seed + 1)
    m = similarity_from_points(lm_t[INNER], lm_r[INNER])
    h, w = reference.shape[:2]
    warped = cv2.warpAffine(target, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    pts_r = face_points(lm_r)[17:]  # brows, inner face and forehead: the jawline stays R's
    face_size = float(np.ptp(lm_r[:, 0]))
    mask = hull_mask(np.vstack([pts_r, lm_r[4:13]]), reference.shape, erode=max(3, int(face_size * 0.04)))
    warped = lab_colour_transfer(warped, reference, mask)
    x, y, bw, bh = cv2.boundingRect(mask)
    if bw == 0 or bh == 0:
        raise ValueError("empty blending mask")
    # seamlessClone needs the mask's box strictly inside the destination
    mask[:1, :] = mask[-1:, :] = 0
    mask[:, :1] = mask[:, -1:] = 0
    x, y, bw, bh = cv2.boundingRect(mask)
    centre = (x + bw // 2, y + bh // 2)
    return cv2.seamlessClone(warped, reference, mask, centre, cv2.NORMAL_CLONE)
