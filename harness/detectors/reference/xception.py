"""Xception (Chollet, CVPR 2017) at 299x299, as the FaceForensics++ detector uses it.

Entry flow, 8 middle-flow blocks, exit flow, as in Keras' ``Xception``; the classifier is a
2-way softmax (real, fake) as in FaceForensics++ (Rössler et al. 2019). With ``num_classes=1000``
the trainable parameter count is Keras' 22,855,952. Stride-2 "same" padding is written as a
symmetric pad of 1, which gives the same feature-map sizes (149, 147, 74, 37, 19, 10).
"""

from __future__ import annotations

import onnx

from harness.detectors.reference.graph import GraphBuilder

INPUT_SIZE = 299


def _residual_block(g: GraphBuilder, x: str, cin: int, cout: int, *, relu_first: bool) -> str:
    shortcut = g.batch_norm(g.conv(x, cin, cout, 1, stride=2, pad=0, bias=False), cout)
    y = g.relu(x) if relu_first else x
    y = g.batch_norm(g.separable_conv(y, cin, cout), cout)
    y = g.batch_norm(g.separable_conv(g.relu(y), cout, cout), cout)
    return g.add(g.max_pool(y, 3, 2, pad=1), shortcut)


def build_xception(seed: int = 0, num_classes: int = 2) -> onnx.ModelProto:
    g = GraphBuilder("Xception", seed)
    x = g.input("image", 3, INPUT_SIZE, INPUT_SIZE)
    # entry flow
    x = g.relu(g.batch_norm(g.conv(x, 3, 32, 3, stride=2, pad=0, bias=False), 32))
    x = g.relu(g.batch_norm(g.conv(x, 32, 64, 3, pad=0, bias=False), 64))
    x = _residual_block(g, x, 64, 128, relu_first=False)
    x = _residual_block(g, x, 128, 256, relu_first=True)
    x = _residual_block(g, x, 256, 728, relu_first=True)
    # middle flow
    for _ in range(8):
        y = x
        for _ in range(3):
            y = g.batch_norm(g.separable_conv(g.relu(y), 728, 728), 728)
        x = g.add(y, x)
    # exit flow
    shortcut = g.batch_norm(g.conv(x, 728, 1024, 1, stride=2, pad=0, bias=False), 1024)
    y = g.batch_norm(g.separable_conv(g.relu(x), 728, 728), 728)
    y = g.batch_norm(g.separable_conv(g.relu(y), 728, 1024), 1024)
    x = g.add(g.max_pool(y, 3, 2, pad=1), shortcut)
    x = g.relu(g.batch_norm(g.separable_conv(x, 1024, 1536), 1536))
    x = g.relu(g.batch_norm(g.separable_conv(x, 1536, 2048), 2048))
    logits = g.dense(g.flatten(g.global_avg_pool(x)), 2048, num_classes, he=False)
    return g.build(g.softmax(logits), "class_probabilities", num_classes,
                   "Xception-299 (Chollet 2017), FaceForensics++ 2-class head (real, fake); "
                   "RANDOM UNTRAINED WEIGHTS, for speed measurement only")
