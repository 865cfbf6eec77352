"""Meso4 and MesoInception4 (Afchar et al., "MesoNet", WIFS 2018), 256x256 RGB input.

Layer for layer as the authors' Keras code (classifiers.py of the MesoNet repository):
trainable parameters 27,977 (Meso4) and 28,615 (MesoInception4), as the paper states.
Dropout is an identity at inference and is left out of the graph.
"""

from __future__ import annotations

import onnx

from harness.detectors.reference.graph import GraphBuilder

INPUT_SIZE = 256


def _meso_head(g: GraphBuilder, x: str) -> str:
    # 256 -> 128 -> 64 -> 32 -> (pool 4) 8: 16 channels x 8 x 8 = 1024 features
    y = g.flatten(x)
    y = g.leaky_relu(g.dense(y, 16 * 8 * 8, 16), alpha=0.1)
    return g.sigmoid(g.dense(y, 16, 1, he=False))


def _conv_relu_bn_pool(g: GraphBuilder, x: str, cin: int, cout: int, kernel: int, pool: int) -> str:
    y = g.batch_norm(g.relu(g.conv(x, cin, cout, kernel)), cout)
    return g.max_pool(y, pool, pool)


def build_meso4(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("Meso4", seed)
    x = g.input("image", 3, INPUT_SIZE, INPUT_SIZE)
    x = _conv_relu_bn_pool(g, x, 3, 8, 3, 2)
    x = _conv_relu_bn_pool(g, x, 8, 8, 5, 2)
    x = _conv_relu_bn_pool(g, x, 8, 16, 5, 2)
    x = _conv_relu_bn_pool(g, x, 16, 16, 5, 4)
    return g.build(_meso_head(g, x), "fake_probability", 1,
                   "Meso4 (MesoNet, Afchar et al. 2018); RANDOM UNTRAINED WEIGHTS, for speed measurement only")


def _inception(g: GraphBuilder, x: str, cin: int, a: int, b: int, c: int, d: int) -> tuple[str, int]:
    """MesoNet's inception module: 1x1 | 1x1->3x3 | 1x1->3x3 dilation 2 | 1x1->3x3 dilation 3."""
    x1 = g.relu(g.conv(x, cin, a, 1))
    x2 = g.relu(g.conv(g.relu(g.conv(x, cin, b, 1)), b, b, 3))
    x3 = g.relu(g.conv(g.relu(g.conv(x, cin, c, 1)), c, c, 3, dilation=2))
    x4 = g.relu(g.conv(g.relu(g.conv(x, cin, d, 1)), d, d, 3, dilation=3))
    return g.concat([x1, x2, x3, x4]), a + b + c + d


def build_meso_inception4(seed: int = 0) -> onnx.ModelProto:
    g = GraphBuilder("MesoInception4", seed)
    x = g.input("image", 3, INPUT_SIZE, INPUT_SIZE)
    x, ch = _inception(g, x, 3, 1, 4, 4, 2)
    x = g.max_pool(g.batch_norm(x, ch), 2, 2)
    x, ch2 = _inception(g, x, ch, 2, 4, 4, 2)
    x = g.max_pool(g.batch_norm(x, ch2), 2, 2)
    x = _conv_relu_bn_pool(g, x, ch2, 16, 5, 2)
    x = _conv_relu_bn_pool(g, x, 16, 16, 5, 4)
    return g.build(_meso_head(g, x), "fake_probability", 1,
                   "MesoInception4 (MesoNet, Afchar et al. 2018); RANDOM UNTRAINED WEIGHTS, for speed measurement only")
