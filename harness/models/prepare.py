"""Turn the published graphs into batch-dynamic, denormal-free ones, and prove nothing else changed.

The published files fix the batch at 1 and fr_feature ends with ``Reshape(x, [1, -1])``; the
Reshape is rewritten to ``[0, -1]`` (0 = keep the incoming batch). fr_feature and fr_landmark carry
tens of thousands of denormal float32 weights, which make x86 CPUs several times slower; they are
set to zero. Both edits are checked by running the original and the prepared graph on the same
inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from harness.errors import DfiError
from harness.models.registry import ModelSpec
from harness.models.runtime import make_session

BATCH_DIM = "batch"
VERIFY_BATCH = 3
# Flushing values below 1.2e-38 changes outputs by far less than this; a real change would not.
FLUSH_TOLERANCE = 1e-4
BATCH_TOLERANCE = 1e-4


class PrepareError(DfiError):
    """A prepared graph does not reproduce the published one."""


@dataclass(frozen=True)
class PrepareReport:
    name: str
    denormals_flushed: int
    reshapes_fixed: int
    max_batch_diff: float  # prepared batch-N vs N single runs of the published graph
    max_flush_diff: float  # prepared (flushed) vs batch-dynamic-only graph


def _set_dynamic_batch(model: onnx.ModelProto) -> int:
    for value in list(model.graph.input) + list(model.graph.output):
        dim0 = value.type.tensor_type.shape.dim[0]
        dim0.ClearField("dim_value")
        dim0.dim_param = BATCH_DIM
    del model.graph.value_info[:]  # stale batch-1 shapes; onnxruntime re-infers them
    fixed = 0
    inits = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[1] not in inits:
            continue
        target = numpy_helper.to_array(inits[node.input[1]])
        if target.ndim == 1 and target.size >= 2 and target[0] == 1:
            new = target.copy()
            new[0] = 0
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(new, node.input[1]))
            fixed += 1
    return fixed


def denormal_mask(arr: np.ndarray) -> np.ndarray:
    """Subnormal float32 values, found from the bit pattern (exponent 0, mantissa not 0): float
    comparisons would miss them in a process where something has set denormals-are-zero."""
    bits = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32)
    return ((bits & 0x7F800000) == 0) & ((bits & 0x007FFFFF) != 0)


def _flush_denormals(model: onnx.ModelProto) -> int:
    flushed = 0
    for i, tensor in enumerate(model.graph.initializer):
        if tensor.data_type != onnx.TensorProto.FLOAT:
            continue
        arr = numpy_helper.to_array(tensor)
        mask = denormal_mask(arr)
        n = int(mask.sum())
        if n:
            arr = arr.copy()
            arr[mask] = 0.0
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(arr, tensor.name))
            flushed += n
    return flushed


def _sample_inputs(spec: ModelSpec, n: int) -> np.ndarray:
    rng = np.random.default_rng(1234)
    x = rng.integers(0, 256, size=(n, *spec.input_shape)).astype(np.float32)
    if spec.name in ("fr_detect", "fr_feature"):
        return (x - 127.0) / 128.0
    if spec.name == "fr_landmark":
        return x / 256.0
    return x  # fr_liveness takes raw 0-255


def _run(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    # No denormals-as-zero here: the check must see the published weights as they are.
    sess = make_session(model.SerializeToString(), providers="cpu", threads=1)
    name = sess.get_inputs()[0].name
    return sess.run(None, {name: x})


def _max_rel_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        scale = max(float(np.abs(x).max()), 1e-6)
        worst = max(worst, float(np.abs(x - y).max()) / scale)
    return worst


def prepare_model(spec: ModelSpec, published: bytes) -> tuple[bytes, PrepareReport]:
    """Return the prepared graph's bytes and what was changed and checked."""
    original = onnx.load_from_string(published)
    dynamic = onnx.load_from_string(published)
    reshapes = _set_dynamic_batch(dynamic)
    prepared = onnx.ModelProto()
    prepared.CopyFrom(dynamic)
    flushed = _flush_denormals(prepared)
    onnx.checker.check_model(prepared)

    x = _sample_inputs(spec, VERIFY_BATCH)
    singles = [_run(original, x[i : i + 1]) for i in range(VERIFY_BATCH)]
    singles_cat = [np.concatenate([s[k] for s in singles]) for k in range(len(singles[0]))]
    batched = _run(prepared, x)
    unflushed = _run(dynamic, x)
    batch_diff = _max_rel_diff(singles_cat, batched)
    flush_diff = _max_rel_diff(unflushed, batched)
    if batch_diff > BATCH_TOLERANCE:
        raise PrepareError(f"{spec.name}: batch-{VERIFY_BATCH} output differs from single runs "
                           f"by {batch_diff:.2e} (relative); not installing it")
    if flush_diff > FLUSH_TOLERANCE:
        raise PrepareError(f"{spec.name}: flushing denormal weights changed the output by "
                           f"{flush_diff:.2e} (relative); not installing it")
    report = PrepareReport(spec.name, flushed, reshapes, batch_diff, flush_diff)
    return prepared.SerializeToString(), report
