"""Write a stand-in for a downloaded DeepfakeBench checkpoint: DeepfakeBench's key layout
(``backbone.<parameter>``, as its trainer saves ``detector.state_dict()``), RANDOM weights.

docs/detectors-import.md runs it so the page's commands run anywhere; with a real download, skip
this step and give the downloaded file to ``dfi detectors import deepfakebench``.

    python docs/examples/dfb_checkpoint.py xception xception_stand_in.pth
"""

import sys

import torch

from harness.detectors.imported.torchnets import build_network

arch, out = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
net = build_network(arch, 2)
torch.save({f"backbone.{k}": v for k, v in net.state_dict().items()}, out)
print(f"wrote {out}: {arch}, {sum(p.numel() for p in net.parameters()):,} parameters (random), "
      f"{len(net.state_dict())} tensors")
