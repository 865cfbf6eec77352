"""Work per image from an ONNX graph: FLOPs, parameters, weight and activation bytes.

FLOPs are counted as 2 x multiply-accumulates of Conv, ConvTranspose, Gemm and MatMul, from the
tensor shapes that ONNX shape inference gives with the batch dimension fixed to 1 (shapes it cannot
infer, e.g. behind Shape->Gather->Concat->Reshape in old opsets, are read off one onnxruntime run). Everything else
(bias additions, batch-norm, activations, pooling, element-wise ops, softmax) is not counted: it is
a small share of the arithmetic in these networks, though not of their memory traffic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

COUNTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
FLOPS_METHOD = ("FLOPs = 2 x multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul, from the ONNX graph's "
                "shapes (onnx shape inference at batch 1; shapes it cannot infer read off one onnxruntime "
                "run); bias, normalisation, activations, pooling and "
                "element-wise ops not counted")


@dataclass
class ModelCost:
    flops_per_image: int
    flops_by_op: dict[str, int]
    params: int
    weight_bytes: int
    activation_bytes_per_image: int  # every tensor the graph computes (and its input), batch 1
    input_shapes: dict[str, list[int | str]]
    uncounted_nodes: list[str] = field(default_factory=list)  # counted ops whose shapes were unknown
    peak_live_bytes_per_image: int = 0  # most activation bytes alive at once, executing nodes in file order

    def bytes_per_image(self, batch: int, dtype_bytes: int = 4) -> float:
        """Memory traffic model: weights read once per batch, every activation written once and read once.

        Ignores cache reuse and operator fusion, so it is a rough estimate of DRAM traffic, stated as such.
        """
        scale = dtype_bytes / 4
        return self.weight_bytes * scale / batch + 2 * self.activation_bytes_per_image * scale

    def intensity(self, batch: int, dtype_bytes: int = 4) -> float:
        return self.flops_per_image / self.bytes_per_image(batch, dtype_bytes)


def _fix_batch(model: onnx.ModelProto, batch: int) -> onnx.ModelProto:
    fixed = onnx.ModelProto()
    fixed.CopyFrom(model)
    initializers = {i.name for i in fixed.graph.initializer}
    for inp in fixed.graph.input:
        if inp.name in initializers:
            continue
        dims = inp.type.tensor_type.shape.dim
        for k, dim in enumerate(dims):
            if not dim.HasField("dim_value"):
                if k == 0:
                    dim.Clear()
                    dim.dim_value = batch
    # value_info from an earlier inference may carry symbolic batch dims: recompute them all
    del fixed.graph.value_info[:]
    for out in fixed.graph.output:
        out.type.tensor_type.ClearField("shape")
    return onnx.shape_inference.infer_shapes(fixed, strict_mode=False, data_prop=True)


def _shape(vi: onnx.ValueInfoProto) -> list[int] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    if not all(d.HasField("dim_value") for d in t.shape.dim):
        return None
    return [int(d.dim_value) for d in t.shape.dim]


def _dtype_bytes(elem_type: int) -> int:
    return int(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).itemsize) if elem_type else 4


def count_cost(model: onnx.ModelProto | str | Path) -> ModelCost:
    """FLOPs, parameters and bytes per image (see the module docstring for what is counted)."""
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    inferred = _fix_batch(model, 1)
    g = inferred.graph
    shapes: dict[str, list[int]] = {}
    elem: dict[str, int] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        s = _shape(vi)
        if s is not None:
            shapes[vi.name] = s
            elem[vi.name] = vi.type.tensor_type.elem_type
    params = weight_bytes = 0
    for init in g.initializer:
        shapes[init.name] = list(init.dims)
        n = int(np.prod(init.dims)) if init.dims else 1
        params += n
        weight_bytes += n * _dtype_bytes(init.data_type)
    initializer_names = {i.name for i in g.initializer}
    unknown = [o for n in g.node for o in n.output if o and o not in shapes]
    if unknown:
        shapes.update(run_shapes(inferred, unknown, elem))
    constant_outputs = {o for n in g.node if n.op_type == "Constant" for o in n.output}

    flops: Counter[str] = Counter()
    uncounted: list[str] = []
    for node in g.node:
        if node.op_type not in COUNTED_OPS:
            continue
        macs = _macs(node, shapes)
        if macs is None:
            uncounted.append(node.name or node.output[0])
        else:
            flops[node.op_type] += 2 * macs

    activation_bytes = 0
    inputs = {}
    for inp in g.input:
        if inp.name in initializer_names:
            continue
        inputs[inp.name] = [d.dim_value if d.HasField("dim_value") else d.dim_param
                            for d in inp.type.tensor_type.shape.dim]
        if inp.name in shapes:
            activation_bytes += int(np.prod(shapes[inp.name])) * _dtype_bytes(elem.get(inp.name, 1))
    for node in g.node:
        for out in node.output:
            if out in shapes and out not in constant_outputs:
                activation_bytes += int(np.prod(shapes[out])) * _dtype_bytes(elem.get(out, TensorProto.FLOAT))
    peak_live = _peak_live_bytes(g, shapes, elem, initializer_names | constant_outputs)
    # report the original (possibly symbolic) input shapes
    for inp in model.graph.input:
        if inp.name in inputs:
            inputs[inp.name] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
                                for d in inp.type.tensor_type.shape.dim]
    return ModelCost(
        flops_per_image=int(sum(flops.values())), flops_by_op=dict(flops), params=params,
        weight_bytes=weight_bytes, activation_bytes_per_image=activation_bytes, input_shapes=inputs,
        uncounted_nodes=uncounted, peak_live_bytes_per_image=peak_live,
    )


def _peak_live_bytes(g: onnx.GraphProto, shapes: dict, elem: dict, constants: set[str]) -> int:
    """Peak of the bytes of tensors alive at once: a tensor lives from its producer to its last consumer."""
    def size(name: str) -> int:
        return int(np.prod(shapes[name])) * _dtype_bytes(elem.get(name, TensorProto.FLOAT)) if name in shapes else 0

    last_use: dict[str, int] = {}
    for i, node in enumerate(g.node):
        for name in node.input:
            last_use[name] = i
    outputs = {o.name for o in g.output}
    live = {inp.name: size(inp.name) for inp in g.input if inp.name not in constants}
    peak = sum(live.values())
    for i, node in enumerate(g.node):
        for out in node.output:
            if out and out not in constants:
                live[out] = size(out)
        peak = max(peak, sum(live.values()))
        for name in list(live):
            if last_use.get(name, -1) <= i and name not in outputs:
                del live[name]
    return peak


def run_shapes(model: onnx.ModelProto, names: list[str], elem: dict[str, int]) -> dict[str, list[int]]:
    """Shapes that static inference could not give (e.g. a Reshape fed by Shape->Gather->Concat in
    an old opset), read off one onnxruntime run at batch 1 on zeros."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    existing = {o.name for o in probe.graph.output}
    for name in names:
        if name not in existing:
            probe.graph.output.append(helper.make_empty_tensor_value_info(name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        sess = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001 - an unloadable probe only means fewer shapes are known
        return {}
    feeds: dict[str, np.ndarray] = {}
    for inp in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in inp.shape]
        feeds[inp.name] = np.zeros(shape, dtype=_ORT_TYPES.get(inp.type, np.float32))
    wanted = [o.name for o in sess.get_outputs()]
    found = {}
    for name, value in zip(wanted, sess.run(wanted, feeds)):
        if name in names:
            found[name] = list(np.shape(value))
            elem.setdefault(name, helper.np_dtype_to_tensor_dtype(np.asarray(value).dtype))
    return found


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
              "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(uint8)": np.uint8,
              "tensor(int8)": np.int8, "tensor(bool)": np.bool_}


def _attr(node: onnx.NodeProto, name: str, default):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _macs(node: onnx.NodeProto, shapes: dict[str, list[int]]) -> int | None:
    ins = [shapes.get(i) for i in node.input]
    out = shapes.get(node.output[0])
    if node.op_type == "Conv":
        w = ins[1] if len(ins) > 1 else None
        if w is None or out is None:
            return None
        # each output element: (C_in / group) x kernel_h x kernel_w multiply-accumulates
        return int(np.prod(out)) * int(np.prod(w[1:]))
    if node.op_type == "ConvTranspose":
        x, w = ins[0], ins[1] if len(ins) > 1 else None
        if x is None or w is None:
            return None
        # each input element is scattered to (C_out / group) x kernel_h x kernel_w outputs
        return int(np.prod(x)) * int(np.prod(w[1:]))
    if node.op_type == "Gemm":
        a, b = ins[0], ins[1]
        if a is None or b is None:
            return None
        m, k = (a[1], a[0]) if _attr(node, "transA", 0) else (a[0], a[1])
        n = b[0] if _attr(node, "transB", 0) else b[1]
        return m * n * k
    if node.op_type == "MatMul":
        a = ins[0]
        if a is None or out is None:
            return None
        k = a[-1]
        return int(np.prod(out)) * k
    return None


def cost_summary(cost: ModelCost) -> dict:
    return {
        "flops_per_image": cost.flops_per_image,
        "gflops_per_image": round(cost.flops_per_image / 1e9, 4),
        "flops_by_op": cost.flops_by_op,
        "flops_method": FLOPS_METHOD,
        "params": cost.params,
        "weight_bytes": cost.weight_bytes,
        "activation_bytes_per_image": cost.activation_bytes_per_image,
        "peak_live_bytes_per_image": cost.peak_live_bytes_per_image,
        "input_shapes": cost.input_shapes,
        "uncounted_nodes": cost.uncounted_nodes,
    }
