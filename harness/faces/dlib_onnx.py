"""dlib's face-recognition ResNet as an ONNX graph, read from its own ``.dat`` file.

The ``dlib-bin`` wheel's convolutions are dlib's own single-threaded CPU code (no BLAS): about 7
faces per CPU-second here, 40% of a three-vendor campaign's time. The same weights in onnxruntime
run several times faster, on every core, behind the same inference thread as the other face models.

The graph is the network of dlib's ``dnn_face_recognition_ex.cpp`` (``anet_type``): a 7x7/2 conv,
3x3/2 max pool, 14 residual blocks (3 at 32 channels, 4 at 64, 3 at 128, 4 at 256; four of them
halve the resolution with a 3x3/2 conv, their shortcut a 2x2/2 average pool), a global
average pool and a 128x256 matrix without bias. Layer sizes, strides and paddings are read from the
file and checked against that plan, so a different file is refused rather than misread.

The file is dlib's ``serialize`` format: integers as a length byte (low nibble: byte count, 0x80:
negative) and little-endian bytes, strings as length + bytes, floats as a mantissa and a base-2
exponent, tensors as version, four dimensions and raw little-endian float32. Each layer's record
starts with its type string (``con_4``, ``affine_``, ``max_pool_2``, ...), in input-to-output order.

Where dlib's ``add_prev`` adds tensors of different shapes (a shortcut with fewer channels, or the
3x3 output of a 3x3/2 conv on a 8x8 input beside the 4x4 average pool), the missing values count as
zero: the graph pads the smaller tensor at the end of each axis. :func:`check_against_dlib` compares
the graph with dlib itself; the embedder refuses a graph that does not match (``dfi models fetch``
prepares and checks it, and records the difference).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import DfiError

CHIP = 150
# the residual blocks, input to output: (channels, halves the resolution); dlib's alevel4..alevel0
BLOCKS = ((32, False),) * 3 + ((64, True),) + ((64, False),) * 3 + ((128, True),) + ((128, False),) * 2 \
    + ((256, True),) + ((256, False),) * 2 + ((256, True),)
EMBEDDING = 128


class DlibFormatError(DfiError):
    """The file is not dlib's face-recognition ResNet as this reader knows it."""


class _Reader:
    def __init__(self, data: bytes, pos: int):
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        n = head & 0x0F
        if n > 8:
            raise DlibFormatError(f"bad integer at byte {self.pos}")
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -value if head & 0x80 else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        return float(mantissa) * 2.0 ** exponent

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise DlibFormatError(f"unknown tensor version at byte {self.pos}")
        dims = [self.int() for _ in range(4)]
        count = int(np.prod(dims))
        end = self.pos + 4 * count
        if end > len(self.data):
            raise DlibFormatError("tensor runs past the end of the file")
        values = np.frombuffer(self.data, "<f4", count, self.pos).astype(np.float32)
        self.pos = end
        return values.reshape(dims)


@dataclass
class Conv:
    weight: np.ndarray  # (out, in, kh, kw)
    bias: np.ndarray
    stride: int
    pad: int


@dataclass
class DlibResnet:
    mean_rgb: tuple[float, float, float]
    convs: list[Conv] = field(default_factory=list)
    affines: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # (gamma, beta) per conv
    fc: np.ndarray | None = None  # (256, 128): y = x @ fc
    pools: list[tuple[int, int, int, int]] = field(default_factory=list)  # (kind 0=max 1=avg, size, stride, pad)


def _tagged(data: bytes, tag: bytes) -> list[int]:
    """Offsets just after every serialized string equal to ``tag`` (its length byte checked)."""
    return [m.end() for m in re.finditer(re.escape(bytes([1, len(tag)]) + tag), data)]


def read_dlib_resnet(path: Path) -> DlibResnet:
    data = Path(path).read_bytes()
    inputs = _tagged(data, b"input_rgb_image_sized")
    if len(inputs) != 1:
        raise DlibFormatError(f"{path}: no input_rgb_image_sized layer: not dlib's face-recognition ResNet")
    r = _Reader(data, inputs[0])
    mean = (r.float(), r.float(), r.float())
    net = DlibResnet(mean_rgb=mean)
    for at in _tagged(data, b"con_4"):
        r = _Reader(data, at)
        params = r.tensor().reshape(-1)
        filters, kh, kw, sy, sx, py, px = (r.int() for _ in range(7))
        if sy != sx or py != px or kh != kw:
            raise DlibFormatError(f"{path}: unexpected convolution at byte {at}")
        fan_in = (params.size - filters) // (filters * kh * kw)
        if filters * fan_in * kh * kw + filters != params.size:
            raise DlibFormatError(f"{path}: convolution parameters do not add up at byte {at}")
        w = params[: filters * fan_in * kh * kw].reshape(filters, fan_in, kh, kw)
        net.convs.append(Conv(w, params[filters * fan_in * kh * kw:].copy(), sy, py))
    for at in _tagged(data, b"affine_"):
        params = _Reader(data, at).tensor().reshape(-1)
        half = params.size // 2
        net.affines.append((params[:half].copy(), params[half:].copy()))
    for kind, tag in ((0, b"max_pool_2"), (1, b"avg_pool_2")):
        for at in _tagged(data, tag):
            r = _Reader(data, at)
            nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
            net.pools.append((kind, nr, sy, py))
    fcs = _tagged(data, b"fc_2")
    if len(fcs) != 1:
        raise DlibFormatError(f"{path}: expected one fully connected layer, found {len(fcs)}")
    r = _Reader(data, fcs[0])
    outputs, inputs_n = r.int(), r.int()
    net.fc = r.tensor().reshape(inputs_n, outputs)
    _check_plan(net, path)
    return net


def _check_plan(net: DlibResnet, path: Path) -> None:
    blocks = len(BLOCKS)
    if len(net.convs) != 1 + 2 * blocks or len(net.affines) != len(net.convs):
        raise DlibFormatError(f"{path}: {len(net.convs)} convolutions and {len(net.affines)} affine layers; "
                              f"the face-recognition ResNet has {1 + 2 * blocks} of each")
    first = net.convs[0]
    if first.weight.shape != (32, 3, 7, 7) or first.stride != 2 or first.pad != 0:
        raise DlibFormatError(f"{path}: the first convolution is not 32x3x7x7 stride 2")
    k = 1
    channels = 32
    for width, down in BLOCKS:
        for j in range(2):
            c = net.convs[k]
            want_in = channels if j == 0 else width
            stride = 2 if (down and j == 0) else 1
            pad = 0 if stride == 2 else 1
            if c.weight.shape != (width, want_in, 3, 3) or c.stride != stride or c.pad != pad:
                raise DlibFormatError(f"{path}: convolution {k} is {c.weight.shape} stride {c.stride} pad "
                                      f"{c.pad}; expected ({width}, {want_in}, 3, 3) stride {stride} pad {pad}")
            if net.affines[k][0].shape != (width,):
                raise DlibFormatError(f"{path}: affine layer {k} has {net.affines[k][0].shape[0]} channels")
            k += 1
        channels = width
    if net.fc is None or net.fc.shape != (256, EMBEDDING):
        raise DlibFormatError(f"{path}: the last layer is not 256 -> 128")
    maxes = [p for p in net.pools if p[0] == 0]
    avgs = [p for p in net.pools if p[0] == 1]
    if maxes != [(0, 3, 2, 0)] or avgs.count((1, 2, 2, 0)) != sum(d for _, d in BLOCKS):
        raise DlibFormatError(f"{path}: unexpected pooling layers {net.pools}")


def build_onnx(net: DlibResnet):  # noqa: ANN201 - onnx.ModelProto
    """(N,150,150,3) uint8 **BGR** chips -> (N,128) raw descriptors (dlib's native space)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    inits: list = []
    counter = [0]

    def name(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def const(arr: np.ndarray, prefix: str = "c") -> str:
        n = name(prefix)
        inits.append(numpy_helper.from_array(np.asarray(arr), n))
        return n

    def op(kind: str, inputs: list[str], **attrs: Any) -> str:
        out = name(kind.lower())
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    # uint8 BGR NHWC -> float RGB NCHW, (x - mean) / 256 as dlib's input_rgb_image
    x = op("Cast", ["chips"], to=TensorProto.FLOAT)
    x = op("Transpose", [x], perm=[0, 3, 1, 2])
    mean_bgr = np.array(net.mean_rgb[::-1], np.float32).reshape(1, 3, 1, 1)
    x = op("Sub", [x, const(mean_bgr)])
    x = op("Mul", [x, const(np.array(1.0 / 256.0, np.float32))])

    def conv(x: str, i: int) -> str:
        c = net.convs[i]
        gamma, beta = net.affines[i]
        # the affine layer folded into the convolution: gamma * (W x + b) + beta
        w = (c.weight[:, ::-1] if i == 0 else c.weight) * gamma[:, None, None, None]  # first conv reads BGR
        b = c.bias * gamma + beta
        k = c.weight.shape[2]
        return op("Conv", [x, const(np.ascontiguousarray(w, np.float32)), const(b.astype(np.float32))],
                  kernel_shape=[k, k], strides=[c.stride, c.stride], pads=[c.pad] * 4)

    x = op("Relu", [conv(x, 0)])
    x = op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2])
    size = (CHIP - 7) // 2 + 1
    size = (size - 3) // 2 + 1
    k = 1
    channels = 32
    for width, down in BLOCKS:
        y = op("Relu", [conv(x, k)])
        y = conv(y, k + 1)
        k += 2
        if down:
            conv_size = (size - 3) // 2 + 1
            pool_size = (size - 2) // 2 + 1
            shortcut = op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
            out_size = max(conv_size, pool_size)
            # dlib's add_prev over unequal shapes: the missing values are zeros
            if conv_size < out_size:
                grow = out_size - conv_size
                y = op("Pad", [y, const(np.array([0, 0, 0, 0, 0, 0, grow, grow], np.int64))])
            pads = [0, 0, 0, 0, 0, width - channels, out_size - pool_size, out_size - pool_size]
            shortcut = op("Pad", [shortcut, const(np.array(pads, np.int64))])
            size = out_size
        else:
            shortcut = x
        x = op("Relu", [op("Add", [y, shortcut])])
        channels = width
    x = op("GlobalAveragePool", [x])
    x = op("Flatten", [x])
    assert net.fc is not None
    out = op("MatMul", [x, const(np.ascontiguousarray(net.fc, np.float32))])
    nodes.append(helper.make_node("Identity", [out], ["descriptor"]))
    graph = helper.make_graph(
        nodes, "dlib_face_recognition_resnet_v1",
        [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["N", CHIP, CHIP, 3])],
        [helper.make_tensor_value_info("descriptor", TensorProto.FLOAT, ["N", EMBEDDING])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="dfi harness.faces.dlib_onnx")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def convert(dat: Path, out: Path) -> Path:
    """Write the ONNX graph of the dlib ResNet file ``dat`` to ``out`` (atomically)."""
    import onnx

    model = build_onnx(read_dlib_resnet(dat))
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")  # per process: two first uses may race
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out


def check_against_dlib(session, chips: np.ndarray, dlib_descriptors: np.ndarray) -> float:  # noqa: ANN001
    """Max abs difference between the graph's descriptors and dlib's for the same BGR chips."""
    (got,) = session.run(None, {"chips": np.ascontiguousarray(chips, np.uint8)})
    return float(np.abs(got - dlib_descriptors).max())
