"""PyTorch modules with DeepfakeBench's parameter names, so its trained state dicts load strictly.

DeepfakeBench (SCLBD/DeepfakeBench, ``training/networks/``) saves ``detector.state_dict()``; every
key is ``backbone.<name>`` where ``<name>`` is one of the parameters below. These modules
reproduce the *inference* forward of its backbones (dropout is an identity and left out; it has no
parameters, so the key layout is unchanged):

- ``xception``: the FaceForensics++ Xception (entry flow, 8 middle blocks, exit flow), the head
  ReLU -> global average pool -> ``last_linear``; ``adjust_channel`` exists (as in DeepfakeBench,
  where it is built whatever the mode) but is unused by the plain forward.
- ``meso4`` / ``meso4Inception``: MesoNet as DeepfakeBench writes it (ReLU *before* batch-norm,
  one batch-norm reused twice, no activation inside the inception branches); 16x8x8 features, so
  the input must be 256x256.
- ``efficientnetb4``: efficientnet_pytorch's EfficientNet-B4 (its "static same" padding is
  computed for a 380-pixel image, as ``EfficientNet.from_name('efficientnet-b4')`` does, and the
  trained weights saw exactly those pads), with DeepfakeBench's stem (a plain 3x3 stride-2
  convolution without padding) and ``last_layer`` head.

torch is imported here; this module is imported only by the importer
(:mod:`harness.detectors.imported.deepfakebench`), never by the runtime.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812 - torch's own spelling

# --------------------------------------------------------------------------- Xception


class SeparableConv2d(nn.Module):
    """Depthwise k x k (``conv1``) then pointwise 1x1 (``pointwise``), no bias."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, padding: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cin, kernel, 1, padding, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.conv1(x))


class XceptionBlock(nn.Module):
    """``rep`` (ReLU/separable/BN triples, a max-pool when strided) plus the ``skip``/``skipbn`` shortcut.

    The ReLU modules stay in ``rep`` (they hold no weights) so its indices match DeepfakeBench's.
    """

    def __init__(self, cin: int, cout: int, reps: int, stride: int, *, start_with_relu: bool, grow_first: bool):
        super().__init__()
        self.skip: nn.Module | None = None
        if cout != cin or stride != 1:
            self.skip = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)
            self.skipbn = nn.BatchNorm2d(cout)
        layers: list[nn.Module] = []
        width = cin
        if grow_first:
            layers += [nn.ReLU(), SeparableConv2d(cin, cout), nn.BatchNorm2d(cout)]
            width = cout
        for _ in range(reps - 1):
            layers += [nn.ReLU(), SeparableConv2d(width, width), nn.BatchNorm2d(width)]
        if not grow_first:
            layers += [nn.ReLU(), SeparableConv2d(cin, cout), nn.BatchNorm2d(cout)]
        if not start_with_relu:
            layers = layers[1:]
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.skipbn(self.skip(x)) if self.skip is not None else x
        return self.rep(x) + shortcut


class Xception(nn.Module):
    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.block1 = XceptionBlock(64, 128, 2, 2, start_with_relu=False, grow_first=True)
        self.block2 = XceptionBlock(128, 256, 2, 2, start_with_relu=True, grow_first=True)
        self.block3 = XceptionBlock(256, 728, 2, 2, start_with_relu=True, grow_first=True)
        for i in range(4, 12):
            setattr(self, f"block{i}", XceptionBlock(728, 728, 3, 1, start_with_relu=True, grow_first=True))
        self.block12 = XceptionBlock(728, 1024, 2, 2, start_with_relu=True, grow_first=False)
        self.conv3 = SeparableConv2d(1024, 1536)
        self.bn3 = nn.BatchNorm2d(1536)
        self.conv4 = SeparableConv2d(1536, 2048)
        self.bn4 = nn.BatchNorm2d(2048)
        self.last_linear = nn.Linear(2048, num_classes)
        self.adjust_channel = nn.Sequential(nn.Conv2d(2048, 512, 1, 1), nn.BatchNorm2d(512), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for i in range(1, 13):
            x = getattr(self, f"block{i}")(x)
        x = F.relu(self.bn3(self.conv3(x)))
        x = self.bn4(self.conv4(x))
        x = F.adaptive_avg_pool2d(F.relu(x), 1).flatten(1)
        return self.last_linear(x)


# --------------------------------------------------------------------------- MesoNet


class Meso4(nn.Module):
    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 5, padding=2, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(8, 16, 5, padding=2, bias=False)
        self.conv4 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
        self.fc1 = nn.Linear(16 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.bn1(F.relu(self.conv1(x))), 2)
        x = F.max_pool2d(self.bn1(F.relu(self.conv2(x))), 2)
        x = F.max_pool2d(self.bn2(F.relu(self.conv3(x))), 2)
        x = F.max_pool2d(self.bn2(F.relu(self.conv4(x))), 4)
        return self.fc2(F.leaky_relu(self.fc1(x.flatten(1)), 0.1))


class MesoInception4(nn.Module):
    # (name suffix, kernel, padding, dilation) of the convolutions of each inception layer's four branches
    _BRANCHES = (("conv1", 1, 0, 1), ("conv2_1", 1, 0, 1), ("conv2_2", 3, 1, 1), ("conv3_1", 1, 0, 1),
                 ("conv3_2", 3, 2, 2), ("conv4_1", 1, 0, 1), ("conv4_2", 3, 3, 3))

    def __init__(self, num_classes: int = 2):
        super().__init__()
        for layer, cin, widths in ((1, 3, (1, 4, 4, 2)), (2, 11, (2, 4, 4, 2))):
            a, b, c, d = widths
            outs = {"conv1": a, "conv2_1": b, "conv2_2": b, "conv3_1": c, "conv3_2": c, "conv4_1": d, "conv4_2": d}
            for suffix, kernel, pad, dil in self._BRANCHES:
                first = suffix in ("conv1", "conv2_1", "conv3_1", "conv4_1")
                width_in = cin if first else outs[suffix]
                setattr(self, f"Incption{layer}_{suffix}",
                        nn.Conv2d(width_in, outs[suffix], kernel, padding=pad, dilation=dil, bias=False))
            setattr(self, f"Incption{layer}_bn", nn.BatchNorm2d(a + b + c + d))
        self.conv1 = nn.Conv2d(12, 16, 5, padding=2, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 5, padding=2, bias=False)
        self.fc1 = nn.Linear(16 * 8 * 8, 16)
        self.fc2 = nn.Linear(16, num_classes)

    def _inception(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        def conv(suffix: str, t: torch.Tensor) -> torch.Tensor:
            module: nn.Module = getattr(self, f"Incption{layer}_{suffix}")
            return module(t)

        y = torch.cat([conv("conv1", x), conv("conv2_2", conv("conv2_1", x)),
                       conv("conv3_2", conv("conv3_1", x)), conv("conv4_2", conv("conv4_1", x))], 1)
        return F.max_pool2d(getattr(self, f"Incption{layer}_bn")(y), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._inception(2, self._inception(1, x))
        x = F.max_pool2d(self.bn1(F.relu(self.conv1(x))), 2)
        x = F.max_pool2d(self.bn1(F.relu(self.conv2(x))), 4)
        return self.fc2(F.leaky_relu(self.fc1(x.flatten(1)), 0.1))


# --------------------------------------------------------------------------- EfficientNet-B4

B4_WIDTH, B4_DEPTH, B4_IMAGE = 1.4, 1.8, 380
# B0's stages: kernel, stride, expand ratio, input filters, output filters, repeats (se ratio 0.25)
B0_STAGES = ((3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
             (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1))


def _bn(channels: int) -> nn.BatchNorm2d:
    """efficientnet_pytorch's batch-norm: epsilon 1e-3 (TensorFlow's), momentum 0.01."""
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


def round_filters(filters: int) -> int:
    scaled = filters * B4_WIDTH
    new = max(8, int(scaled + 4) // 8 * 8)
    return int(new + 8 if new < 0.9 * scaled else new)


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "same" padding (before, after) for an input of ``size`` pixels."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class StaticSameConv2d(nn.Conv2d):
    """A convolution with fixed zero pads computed for one image size (efficientnet_pytorch's
    Conv2dStaticSamePadding; only ``weight``/``bias`` in the state dict)."""

    def __init__(self, cin: int, cout: int, kernel: int, *, image: int, stride: int = 1, groups: int = 1,
                 bias: bool = False):
        super().__init__(cin, cout, kernel, stride=stride, groups=groups, bias=bias)
        before, after = _same_pads(image, kernel, stride)
        self.pads = (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, self.pads) if any(self.pads) else x)


class MBConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int, image: int):
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = StaticSameConv2d(cin, mid, 1, image=image)
            self._bn0 = _bn(mid)
        self._depthwise_conv = StaticSameConv2d(mid, mid, kernel, image=image, stride=stride, groups=mid)
        self._bn1 = _bn(mid)
        squeezed = max(1, int(cin * 0.25))
        self._se_reduce = nn.Conv2d(mid, squeezed, 1)
        self._se_expand = nn.Conv2d(squeezed, mid, 1)
        self._project_conv = StaticSameConv2d(mid, cout, 1, image=math.ceil(image / stride))
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = F.silu(self._bn0(self._expand_conv(inputs))) if self.expand else inputs
        x = F.silu(self._bn1(self._depthwise_conv(x)))
        s = self._se_expand(F.silu(self._se_reduce(F.adaptive_avg_pool2d(x, 1))))
        x = self._bn2(self._project_conv(torch.sigmoid(s) * x))
        return x + inputs if self.residual else x


class EfficientNetBody(nn.Module):
    """efficientnet_pytorch's ``EfficientNet`` (B4) without ``_fc``, stem as DeepfakeBench replaces it."""

    def __init__(self) -> None:
        super().__init__()
        stem = round_filters(32)
        self._conv_stem = nn.Conv2d(3, stem, 3, stride=2, bias=False)
        self._bn0 = _bn(stem)
        image = math.ceil(B4_IMAGE / 2)
        blocks: list[nn.Module] = []
        for kernel, stride, expand, fin, fout, repeats in B0_STAGES:
            cin, cout = round_filters(fin), round_filters(fout)
            for i in range(int(math.ceil(B4_DEPTH * repeats))):
                s = stride if i == 0 else 1
                blocks.append(MBConvBlock(cin if i == 0 else cout, cout, expand, kernel, s, image))
                if i == 0:
                    image = math.ceil(image / stride)
        self._blocks = nn.ModuleList(blocks)
        head = round_filters(1280)
        self._conv_head = StaticSameConv2d(round_filters(320), head, 1, image=image)
        self._bn1 = _bn(head)
        self.features = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.silu(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.silu(self._bn1(self._conv_head(x)))


class EfficientNetB4(nn.Module):
    def __init__(self, num_classes: int = 2):
        super().__init__()
        self.efficientnet = EfficientNetBody()
        self.last_layer = nn.Linear(self.efficientnet.features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last_layer(F.adaptive_avg_pool2d(self.efficientnet(x), 1).flatten(1))


NETWORKS: dict[str, type[nn.Module]] = {
    "xception": Xception, "meso4": Meso4, "meso4Inception": MesoInception4, "efficientnetb4": EfficientNetB4,
}


def build_network(architecture: str, num_classes: int) -> nn.Module:
    return NETWORKS[architecture](num_classes)
