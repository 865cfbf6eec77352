"""The default backend: the faceplugin ONNX models (detector, 68-point landmarks, embedder, liveness).

Pre-processing follows the published JavaScript where it matters for the weights (input sizes,
normalisation, colour order); alignment uses a 5-point similarity transform instead of the JS's
3-point affine, which shears faces. Colour orders were checked on real photos (see README).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import onnxruntime as ort

from harness.faces.align import five_from_68
from harness.faces.base import l2_normalise, run_in_chunks
from harness.faces.types import Face
from harness.models import model_path
from harness.models.runtime import inference_session

DETECT_W, DETECT_H = 320, 240
LANDMARK_SIZE = 64
LIVENESS_SIZE = 128
LIVENESS_SCALE = 2.7
# Images or faces per model call. Larger batches measured no faster here: with 2 cores the
# activations of 32 faces (~100 MB in the first layers) fall out of cache (benchmarks/README.md).
CHUNK = 8


@dataclass(frozen=True)
class FacepluginConfig:
    score_threshold: float = 0.65
    nms_threshold: float = 0.4
    min_face_size: float = 20.0  # pixels; the embedder sees 112x112 crops, below this they are mush
    detect_rgb: bool = False  # the JS effectively feeds BGR
    feature_rgb: bool = False  # measured: BGR separates people better than the JS's RGB (README)
    letterbox: bool = True  # keep the aspect ratio (pad) instead of stretching to 320x240


def _sessions(names: Sequence[str], providers: Sequence[str] | str | None,
              threads: int | None) -> dict[str, ort.InferenceSession]:
    return {n: inference_session(model_path(n), providers=providers, threads=threads) for n in names}


class FacepluginDetector:
    name = "faceplugin"

    def __init__(self, providers: Sequence[str] | str | None = None, threads: int | None = None,
                 config: FacepluginConfig | None = None):
        self.config = config or FacepluginConfig()
        self.min_face_size = self.config.min_face_size
        s = _sessions(("fr_detect", "fr_landmark"), providers, threads)
        self._detect, self._landmark = s["fr_detect"], s["fr_landmark"]

    # -- detector ---------------------------------------------------------------------------------
    def _to_input(self, image: np.ndarray) -> tuple[np.ndarray, float, float, float, float]:
        """Resize into the 320x240 canvas; return it and the canvas->image mapping (sx, sy, ox, oy)."""
        h, w = image.shape[:2]
        if self.config.letterbox:
            s = min(DETECT_W / w, DETECT_H / h)
            nw, nh = max(1, round(w * s)), max(1, round(h * s))
            canvas = np.full((DETECT_H, DETECT_W, 3), 127, np.uint8)
            ox, oy = (DETECT_W - nw) // 2, (DETECT_H - nh) // 2
            interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
            canvas[oy : oy + nh, ox : ox + nw] = cv2.resize(image, (nw, nh), interpolation=interp)
            return canvas, w / nw, h / nh, ox, oy
        interp = cv2.INTER_AREA if w > DETECT_W else cv2.INTER_LINEAR
        return cv2.resize(image, (DETECT_W, DETECT_H), interpolation=interp), w / DETECT_W, h / DETECT_H, 0, 0

    def _run_detect(self, batch: np.ndarray) -> list[np.ndarray]:
        return self._detect.run(None, {"input": batch})

    def detect_boxes(self, images: Sequence[np.ndarray]) -> list[list[tuple[np.ndarray, float]]]:
        """Square face boxes (x1,y1,x2,y2, unclipped) and scores per image, after threshold and NMS."""
        if not images:
            return []
        canvases, maps = [], []
        for img in images:
            c, *m = self._to_input(img)
            canvases.append(c)
            maps.append(m)
        x = np.stack(canvases)
        if self.config.detect_rgb:
            x = x[..., ::-1]
        x = (x.transpose(0, 3, 1, 2).astype(np.float32) - 127.0) / 128.0
        scores, boxes = run_in_chunks(self._run_detect, x, CHUNK)
        out: list[list[tuple[np.ndarray, float]]] = []
        for i, (sx, sy, ox, oy) in enumerate(maps):
            s = scores[i, :, 1]
            keep = np.flatnonzero(s > self.config.score_threshold)
            if keep.size == 0:
                out.append([])
                continue
            b = boxes[i, keep] * np.array([DETECT_W, DETECT_H, DETECT_W, DETECT_H], np.float32)
            b = (b - np.array([ox, oy, ox, oy], np.float32)) * np.array([sx, sy, sx, sy], np.float32)
            xywh = np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], axis=1)
            picked = cv2.dnn.NMSBoxes(xywh.tolist(), s[keep].tolist(), self.config.score_threshold,
                                      self.config.nms_threshold)
            faces = []
            for j in np.asarray(picked, dtype=int).reshape(-1):
                x1, y1, x2, y2 = b[j]
                side = y2 - y1  # the JS's square box: side = box height, same centre
                cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
                sq = np.array([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], np.float32)
                faces.append((sq, float(s[keep][j])))
            faces.sort(key=lambda f: -(f[0][2] - f[0][0]))
            out.append(faces)
        return out

    # -- landmarks --------------------------------------------------------------------------------
    @staticmethod
    def _crop_square(image: np.ndarray, box: np.ndarray, size: int, flags: int = cv2.INTER_LINEAR) -> np.ndarray:
        """Resample the (possibly out-of-image) square box to size x size, replicating the border."""
        x1, y1, x2, y2 = box
        s = size / max(x2 - x1, 1e-3)
        m = np.array([[s, 0, -x1 * s], [0, s, -y1 * s]], np.float64)
        return cv2.warpAffine(image, m, (size, size), flags=flags, borderMode=cv2.BORDER_REPLICATE)

    def landmarks68(self, grey_crops: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """(N,64,64) uint8 grey crops of square boxes (N,4) -> (N,68,2) image coordinates."""
        x = grey_crops[:, None].astype(np.float32) / 256.0
        (pts,) = run_in_chunks(lambda b: self._landmark.run(None, {"input": b}), x, 8 * CHUNK)  # 64x64: tiny
        pts = pts.reshape(-1, 68, 2)
        side = (boxes[:, 2] - boxes[:, 0])[:, None, None]
        return pts * side + boxes[:, None, :2]

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        found = self.detect_boxes(images)
        crops, boxes, owners = [], [], []
        for i, (img, faces) in enumerate(zip(images, found, strict=True)):
            if not faces:
                continue
            grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
            for box, _ in faces:
                crops.append(self._crop_square(grey, box, LANDMARK_SIZE, cv2.INTER_AREA))
                boxes.append(box)
                owners.append(i)
        result: list[list[Face]] = [[] for _ in images]
        if not crops:
            return result
        lm = self.landmarks68(np.stack(crops), np.stack(boxes))
        k = 0
        for i, faces in enumerate(found):
            h, w = images[i].shape[:2]
            for box, score in faces:
                x1, y1, x2, y2 = (float(v) for v in box)
                clipped = (max(0.0, x1), max(0.0, y1), min(float(w - 1), x2), min(float(h - 1), y2))
                result[i].append(Face(box=clipped, score=score, landmarks5=five_from_68(lm[k]),
                                      landmarks68=lm[k].astype(np.float32)))
                k += 1
        return result


class FacepluginEmbedder:
    name = "faceplugin"
    dim = 512

    def __init__(self, providers: Sequence[str] | str | None = None, threads: int | None = None,
                 config: FacepluginConfig | None = None):
        self.config = config or FacepluginConfig()
        self._session = _sessions(("fr_feature",), providers, threads)["fr_feature"]

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        return self._session.run(None, {"input": batch})

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (112, 112, 3):
            raise ValueError(f"expected (N,112,112,3) aligned crops, got {crops.shape}")
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32)
        x = crops[..., ::-1] if self.config.feature_rgb else crops
        x = (x.transpose(0, 3, 1, 2).astype(np.float32) - 127.0) / 128.0
        (emb,) = run_in_chunks(self._run, x, CHUNK)
        return l2_normalise(emb)


class FacepluginLiveness:
    """Presentation-attack score of each face: probability that it is a live face (class 0)."""

    def __init__(self, providers: Sequence[str] | str | None = None, threads: int | None = None):
        self._session = _sessions(("fr_liveness",), providers, threads)["fr_liveness"]

    def live_probability(self, image_bgr: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        if not faces:
            return np.zeros(0, np.float32)
        rgb = np.ascontiguousarray(image_bgr[..., ::-1])
        crops = [cv2.resize(_liveness_roi(rgb, f.box), (LIVENESS_SIZE, LIVENESS_SIZE)) for f in faces]
        x = np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32)
        (logits,) = run_in_chunks(lambda b: self._session.run(None, {"input": b}), x, CHUNK)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (e[:, 0] / e.sum(axis=1)).astype(np.float32)


def _liveness_roi(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The JS's crop: the box enlarged 2.7x about its centre (less if the image is smaller), then
    shifted to lie inside the image."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    bw, bh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    scale = min((h - 1) / bh, (w - 1) / bw, LIVENESS_SCALE)
    nw, nh = bw * scale, bh * scale
    left = min(max((x1 + x2) / 2 - nw / 2, 0.0), w - 1 - nw)
    top = min(max((y1 + y2) / 2 - nh / 2, 0.0), h - 1 - nh)
    x0, y0 = max(int(left), 0), max(int(top), 0)
    return image[y0 : y0 + max(int(nh), 1), x0 : x0 + max(int(nw), 1)]
