"""The ``insightface`` backend: a model pack folder (SCRFD detector + ArcFace embedder ONNX files).

Model packs such as buffalo_l cannot be downloaded by this project; point ``model_dir`` at one the
user has (default ``~/.insightface/models/buffalo_l``). When the insightface package is installed its
own SCRFD class runs the detector; otherwise the same decoding (anchor centres, distance-to-box and
distance-to-keypoint, score 0.5, NMS 0.4) runs here. The embedder follows insightface's ArcFaceONNX:
RGB, (x - 127.5) / 127.5 unless the graph normalises its own input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx

from harness.faces.base import l2_normalise, run_in_chunks
from harness.faces.types import Face
from harness.models import ModelsNotInstalledError, make_session

log = logging.getLogger(__name__)
DEFAULT_PACK = Path("~/.insightface/models/buffalo_l")
PACK_REMEDY = "`dfi models fetch` does not install insightface packs: pass --model-dir PACK (e.g. a buffalo_l folder)"
DET_SIZE = 640
CHUNK = 32


def find_pack_models(model_dir: Path) -> tuple[Path, Path]:
    """(detector, recogniser) ONNX files of a pack, told apart by their signatures like model_zoo does."""
    model_dir = Path(model_dir).expanduser()
    if not model_dir.is_dir():
        raise ModelsNotInstalledError(f"no insightface model pack at {model_dir} (it must be provided by you)",
                                      remedy=PACK_REMEDY)
    det = rec = None
    for path in sorted(model_dir.glob("*.onnx")):
        graph = onnx.load(str(path), load_external_data=False).graph
        dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
        if len(graph.output) >= 6 and det is None:
            det = path
        elif len(graph.output) == 1 and dims[2:] == [112, 112] and rec is None:
            rec = path
    if det is None or rec is None:
        raise ModelsNotInstalledError(f"{model_dir} lacks an SCRFD detector or a 112x112 ArcFace model",
                                      remedy=PACK_REMEDY)
    return det, rec


class ScrfdDetector:
    name = "insightface"

    def __init__(self, path: Path, providers: Sequence[str] | str | None = None, threads: int | None = None,
                 min_face_size: float = 20.0,
                 score_threshold: float = 0.5, nms_threshold: float = 0.4):
        self.min_face_size = min_face_size
        self.score_threshold, self.nms_threshold = score_threshold, nms_threshold
        self.session = make_session(path, providers=providers, threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        n_out = len(self.session.get_outputs())
        self.fmc, self.strides, self.has_kps = {6: (3, [8, 16, 32], False), 9: (3, [8, 16, 32], True),
                                                10: (5, [8, 16, 32, 64, 128], False),
                                                15: (5, [8, 16, 32, 64, 128], True)}[n_out]
        self.batched = len(self.session.get_outputs()[0].shape) == 3
        self._package = self._package_detector(path, providers)

    @staticmethod
    def _package_detector(path: Path, providers: Sequence[str] | str | None) -> Any:
        try:
            from insightface.model_zoo import get_model
        except ImportError:
            log.info("insightface package not installed: SCRFD decoding runs in harness.faces")
            return None
        model = get_model(str(path), providers=providers or ["CPUExecutionProvider"])
        model.prepare(ctx_id=-1, input_size=(DET_SIZE, DET_SIZE))
        log.info("SCRFD runs through the insightface package")
        return model

    def _detect_one(self, image: np.ndarray) -> list[Face]:
        if self._package is not None:
            boxes, kps = self._package.detect(image, max_num=0)
            kps = kps if kps is not None else [_box_landmarks(b[:4]) for b in boxes]
            return [Face(box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])), score=float(b[4]),
                         landmarks5=np.asarray(k, np.float32))
                    for b, k in zip(boxes, kps, strict=True)]
        h, w = image.shape[:2]
        scale = DET_SIZE / max(h, w)
        nh, nw = int(round(h * scale)), int(round(w * scale))
        canvas = np.zeros((DET_SIZE, DET_SIZE, 3), np.uint8)
        canvas[:nh, :nw] = cv2.resize(image, (nw, nh))
        blob = cv2.dnn.blobFromImage(canvas, 1.0 / 128, (DET_SIZE, DET_SIZE), (127.5, 127.5, 127.5), swapRB=True)
        outs = self.session.run(None, {self.input_name: blob})
        scores, boxes, kpss = [], [], []
        for idx, stride in enumerate(self.strides):
            grid = DET_SIZE // stride
            sc = outs[idx][0] if self.batched else outs[idx]
            bb = (outs[idx + self.fmc][0] if self.batched else outs[idx + self.fmc]) * stride
            anchors_per_cell = sc.shape[0] // (grid * grid)
            centres = np.stack(list(np.mgrid[:grid, :grid][::-1]), axis=-1).reshape(-1, 2).astype(np.float32) * stride
            centres = np.repeat(centres, anchors_per_cell, axis=0)
            keep = np.flatnonzero(sc.reshape(-1) >= self.score_threshold)
            c = centres[keep]
            scores.append(sc.reshape(-1)[keep])
            boxes.append(np.concatenate([c - bb[keep, :2], c + bb[keep, 2:4]], axis=1))
            if self.has_kps:
                kp = (outs[idx + 2 * self.fmc][0] if self.batched else outs[idx + 2 * self.fmc]) * stride
                kpss.append(kp[keep].reshape(-1, 5, 2) + c[:, None, :])
        score = np.concatenate(scores)
        if score.size == 0:
            return []
        box = np.concatenate(boxes) / scale
        kps = np.concatenate(kpss) / scale if self.has_kps else None
        xywh = np.concatenate([box[:, :2], box[:, 2:] - box[:, :2]], axis=1)
        picked = np.asarray(cv2.dnn.NMSBoxes(xywh.tolist(), score.tolist(), self.score_threshold,
                                             self.nms_threshold), dtype=int).reshape(-1)
        faces = []
        for j in picked:
            x1, y1, x2, y2 = (float(v) for v in box[j])
            clipped = (max(0.0, x1), max(0.0, y1), min(float(w - 1), x2), min(float(h - 1), y2))
            lm5 = kps[j].astype(np.float32) if kps is not None else _box_landmarks(box[j])
            faces.append(Face(box=clipped, score=float(score[j]), landmarks5=lm5))
        return faces

    def detect_batch(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        return [sorted(self._detect_one(img), key=lambda f: -f.width * f.height) for img in images]


def _box_landmarks(box: np.ndarray) -> np.ndarray:
    """Template landmarks placed in the box, for detectors without keypoints."""
    from harness.faces.align import ARCFACE_TEMPLATE

    x1, y1, x2, y2 = box
    return (ARCFACE_TEMPLATE / 112.0 * [x2 - x1, y2 - y1] + [x1, y1]).astype(np.float32)


class ArcFaceEmbedder:
    name = "insightface"

    def __init__(self, path: Path, providers: Sequence[str] | str | None = None, threads: int | None = None):
        self.session = make_session(path, providers=providers, threads=threads)
        self.input_name = self.session.get_inputs()[0].name
        self.dim = int(self.session.get_outputs()[0].shape[-1])
        graph = onnx.load(str(path), load_external_data=False).graph
        # Converted MXNet models normalise inside the graph (they start with Sub/Mul).
        first_ops = {n.op_type for n in graph.node[:8]}
        self.mean, self.std = (0.0, 1.0) if {"Sub", "Mul"} <= first_ops else (127.5, 127.5)

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops)
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32)
        x = (crops[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) - self.mean) / self.std
        (emb,) = run_in_chunks(lambda b: self.session.run(None, {self.input_name: b}), x, CHUNK)
        return l2_normalise(emb)


def load_insightface(model_dir: Path | None, providers: Sequence[str] | str | None = None,
                     threads: int | None = None) -> tuple[ScrfdDetector, ArcFaceEmbedder]:
    det, rec = find_pack_models(model_dir or DEFAULT_PACK)
    return ScrfdDetector(det, providers, threads), ArcFaceEmbedder(rec, providers, threads)
