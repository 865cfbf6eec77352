"""Make an ONNX graph convertible by onnx2torch and capturable as a CUDA graph.

onnx2torch implements opset >= 9 for most ops but not, for example, opset-1 ``Slice`` (attributes
instead of inputs), and it needs the rank of a ``BatchNormalization`` input. The installed face
models are opset 9, and two compute Reshape shapes at run time (Shape -> Gather -> Concat), which in
PyTorch means creating tensors from Python values on every call: no CUDA-graph capture. So:
convert to opset 13; where the graph reads shapes at run time, fix the batch and let onnxruntime's
basic (standard-ONNX) constant folding turn those shape computations into constants; then give every
tensor a shape.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import onnx
from onnx import helper, version_converter

from harness.bench.flops import run_shapes

TORCH_OPSET = 13
RUNTIME_SHAPE_OPS = {"Shape", "Size"}


def reads_shapes_at_run_time(model: onnx.ModelProto) -> bool:
    return any(n.op_type in RUNTIME_SHAPE_OPS for n in model.graph.node)


def torch_ready_model(model_path: Path, batch: int | None = None) -> onnx.ModelProto:
    """The model prepared for onnx2torch; with ``batch``, shape computations are folded for that batch."""
    model = onnx.load(str(model_path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), TORCH_OPSET)
    if opset < TORCH_OPSET:
        model = version_converter.convert_version(model, TORCH_OPSET)
    if batch is not None and reads_shapes_at_run_time(model):
        model = _fold_for_batch(model, batch)
    model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    known = {vi.name for vi in [*model.graph.value_info, *model.graph.input, *model.graph.output]
             if vi.type.tensor_type.HasField("shape")}
    missing = [o for n in model.graph.node for o in n.output if o and o not in known]
    if missing:
        elem: dict[str, int] = {}
        for name, shape in run_shapes(model, missing, elem).items():
            dims: list[str | int | None] = ["batch", *shape[1:]] if shape and batch is None else list(shape)
            model.graph.value_info.append(helper.make_tensor_value_info(name, elem.get(name, 1), dims))
    return model


def _fold_for_batch(model: onnx.ModelProto, batch: int) -> onnx.ModelProto:
    import onnxruntime as ort

    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    inits = {i.name for i in fixed.graph.initializer}
    for inp in fixed.graph.input:
        if inp.name not in inits and inp.type.tensor_type.shape.dim:
            dim = inp.type.tensor_type.shape.dim[0]
            dim.Clear()
            dim.dim_value = batch
    del fixed.graph.value_info[:]
    for out in fixed.graph.output:
        out.type.tensor_type.ClearField("shape")
    fd, tmp = tempfile.mkstemp(suffix=".onnx")
    os.close(fd)
    try:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC  # standard ONNX ops only
        opts.optimized_model_filepath = tmp
        opts.log_severity_level = 3
        ort.InferenceSession(fixed.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        folded = onnx.load(tmp)
    finally:
        os.unlink(tmp)
    return folded
