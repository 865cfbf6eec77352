"""A small ONNX graph builder for the reference detector architectures (onnx.helper underneath).

Weights are random (He-normal for convolutions and dense layers, identity batch-norm statistics):
the graphs are for measuring speed and checking shapes, never for detecting anything.
The batch dimension is symbolic (``batch``) so one file serves every batch size.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# onnx2torch (the PyTorch CUDA backend) and every onnxruntime in use support opset 13.
OPSET = 13


class GraphBuilder:
    """Appends nodes and random initializers; each method returns the output tensor's name."""

    def __init__(self, name: str, seed: int = 0):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self._count = 0

    def _name(self, kind: str) -> str:
        self._count += 1
        return f"{kind}_{self._count}"

    def _weight(self, kind: str, array: np.ndarray) -> str:
        name = self._name(kind)
        self.initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def _node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self._name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def input(self, name: str, channels: int, height: int, width: int) -> str:
        self.inputs.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", channels, height, width])
        )
        return name

    def conv(self, x: str, cin: int, cout: int, kernel: int, *, stride: int = 1, pad: int | None = None,
             group: int = 1, dilation: int = 1, bias: bool = True, gain: float = 2.0) -> str:
        """Convolution; ``gain`` 2 is He-normal (before a ReLU), 1 is LeCun-normal (linear next)."""
        if pad is None:  # "same" for stride 1; for stride 2 the same output size as TF's "same"
            pad = dilation * (kernel - 1) // 2
        fan_in = (cin // group) * kernel * kernel
        w = self.rng.normal(0.0, np.sqrt(gain / fan_in), size=(cout, cin // group, kernel, kernel))
        inputs = [x, self._weight("w", w)]
        if bias:
            inputs.append(self._weight("b", np.zeros(cout)))
        return self._node("Conv", inputs, kernel_shape=[kernel, kernel], strides=[stride, stride],
                          pads=[pad] * 4, group=group, dilations=[dilation, dilation])

    def separable_conv(self, x: str, cin: int, cout: int, kernel: int = 3) -> str:
        """Depthwise kxk then pointwise 1x1, both without bias (Keras SeparableConv2D as in Xception)."""
        # no activation between the two: LeCun init on the depthwise part keeps the variance steady
        dw = self.conv(x, cin, cin, kernel, group=cin, bias=False, gain=1.0)
        return self.conv(dw, cin, cout, 1, bias=False)

    def batch_norm(self, x: str, channels: int, eps: float = 1e-3) -> str:
        scale = self._weight("bn_gamma", np.ones(channels))
        shift = self._weight("bn_beta", np.zeros(channels))
        mean = self._weight("bn_mean", np.zeros(channels))
        var = self._weight("bn_var", np.ones(channels))
        return self._node("BatchNormalization", [x, scale, shift, mean, var], epsilon=eps)

    def relu(self, x: str) -> str:
        return self._node("Relu", [x])

    def leaky_relu(self, x: str, alpha: float) -> str:
        return self._node("LeakyRelu", [x], alpha=alpha)

    def sigmoid(self, x: str) -> str:
        return self._node("Sigmoid", [x])

    def swish(self, x: str) -> str:
        return self.mul(x, self.sigmoid(x))

    def mul(self, a: str, b: str) -> str:
        return self._node("Mul", [a, b])

    def add(self, a: str, b: str) -> str:
        return self._node("Add", [a, b])

    def concat(self, xs: list[str]) -> str:
        return self._node("Concat", xs, axis=1)

    def max_pool(self, x: str, kernel: int, stride: int, pad: int = 0) -> str:
        return self._node("MaxPool", [x], kernel_shape=[kernel, kernel], strides=[stride, stride], pads=[pad] * 4)

    def global_avg_pool(self, x: str) -> str:
        return self._node("GlobalAveragePool", [x])

    def flatten(self, x: str) -> str:
        return self._node("Flatten", [x], axis=1)

    def dense(self, x: str, fin: int, fout: int, *, he: bool = True) -> str:
        std = np.sqrt((2.0 if he else 1.0) / fin)
        w = self._weight("fc_w", self.rng.normal(0.0, std, size=(fout, fin)))
        b = self._weight("fc_b", np.zeros(fout))
        return self._node("Gemm", [x, w, b], transB=1)

    def softmax(self, x: str) -> str:
        return self._node("Softmax", [x], axis=1)

    def build(self, output: str, output_name: str, output_width: int, doc: str) -> onnx.ModelProto:
        """Finish the graph; renames ``output`` to ``output_name`` with shape (batch, output_width)."""
        self.nodes.append(helper.make_node("Identity", [output], [output_name], name="output"))
        outputs = [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", output_width])]
        graph = helper.make_graph(self.nodes, self.name, self.inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="dfi.reference")
        model.ir_version = 8  # readable by onnxruntime >= 1.14 and onnx2torch
        model.doc_string = doc
        onnx.checker.check_model(model, full_check=True)
        return model


def parameter_counts(model: onnx.ModelProto) -> tuple[int, int]:
    """(all stored parameters, trainable parameters): batch-norm running mean/variance are not trainable.

    Keras and PyTorch summaries count trainable parameters the second way, which is how the
    published figures (MesoNet paper, Keras Xception, EfficientNet) are stated.
    """
    sizes = {init.name: int(np.prod(init.dims)) for init in model.graph.initializer}
    running_stats = {
        name for node in model.graph.node if node.op_type == "BatchNormalization" for name in node.input[3:5]
    }
    total = sum(sizes.values())
    return total, total - sum(sizes.get(n, 0) for n in running_stats)
