"""An EfficientNet-B4-sized network (Tan & Le, ICML 2019) at 380x380.

B0's seven MBConv stages scaled by width 1.4 and depth 1.8 (filters rounded to multiples of 8,
repeats rounded up): 32 MBConv blocks with squeeze-and-excitation (ratio 0.25 of the block's
input channels) and swish, stem 48, head 1792. With ``num_classes=1000`` the trainable parameter
count is the published 19.34M; the detector variant has one logit (fake), as the DFDC
EfficientNet detectors do. "Same" padding is written as a symmetric pad of k//2, which gives the
same feature-map sizes (190, 95, 48, 24, 12). Drop-connect and dropout are training-only.
"""

from __future__ import annotations

import math

import onnx

from harness.detectors.reference.graph import GraphBuilder

INPUT_SIZE = 380
WIDTH, DEPTH = 1.4, 1.8
# B0 stages: expand ratio, kernel, stride, output filters, repeats
B0_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
             (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]


def round_filters(filters: int, divisor: int = 8) -> int:
    scaled = filters * WIDTH
    new = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if new < 0.9 * scaled:
        new += divisor
    return int(new)


def round_repeats(repeats: int) -> int:
    return int(math.ceil(DEPTH * repeats))


def _mbconv(g: GraphBuilder, x: str, cin: int, cout: int, expand: int, kernel: int, stride: int) -> str:
    mid = cin * expand
    y = x
    if expand != 1:
        y = g.swish(g.batch_norm(g.conv(y, cin, mid, 1, bias=False), mid))
    y = g.swish(g.batch_norm(g.conv(y, mid, mid, kernel, stride=stride, group=mid, bias=False), mid))
    squeezed = max(1, int(cin * 0.25))
    s = g.swish(g.conv(g.global_avg_pool(y), mid, squeezed, 1))
    y = g.mul(y, g.sigmoid(g.conv(s, squeezed, mid, 1)))
    y = g.batch_norm(g.conv(y, mid, cout, 1, bias=False), cout)
    if stride == 1 and cin == cout:
        y = g.add(y, x)
    return y


def build_efficientnet_b4(seed: int = 0, num_classes: int = 1) -> onnx.ModelProto:
    g = GraphBuilder("EfficientNet-B4", seed)
    x = g.input("image", 3, INPUT_SIZE, INPUT_SIZE)
    cin = round_filters(32)
    x = g.swish(g.batch_norm(g.conv(x, 3, cin, 3, stride=2, bias=False), cin))
    for expand, kernel, stride, filters, repeats in B0_STAGES:
        cout = round_filters(filters)
        for i in range(round_repeats(repeats)):
            x = _mbconv(g, x, cin, cout, expand, kernel, stride if i == 0 else 1)
            cin = cout
    head = round_filters(1280)
    x = g.swish(g.batch_norm(g.conv(x, cin, head, 1, bias=False), head))
    logits = g.dense(g.flatten(g.global_avg_pool(x)), head, num_classes, he=False)
    out = g.softmax(logits) if num_classes > 1 else logits
    return g.build(out, "fake_logit" if num_classes == 1 else "class_probabilities", num_classes,
                   "EfficientNet-B4-sized (Tan & Le 2019; width 1.4, depth 1.8, 380x380), 1-logit fake head; "
                   "RANDOM UNTRAINED WEIGHTS, for speed measurement only")
