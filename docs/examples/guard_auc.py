"""The evaluation guard on the study's 31 samples: each detector's AUC on the images as given and
re-encoded to one format and size (harness.detectors.guard), 26 deepfakes against the 5 real
CelebFOM frames, as spectrum_lr's own report counts them.

The 5 real frames are 256-pixel PNGs while 21 of the 26 fakes are large FaceApp JPEGs, so an AUC on
the images as given can follow the file format. docs/detectors-import.md runs this.

    python docs/examples/guard_auc.py ../shared/data/paper-samples fr_liveness spectrum_lr dfb_xception
"""

import sys
from pathlib import Path

import numpy as np

import harness.defense  # noqa: F401 - registers spectrum_lr
from harness.defense.table2 import detection_metrics
from harness.detectors import resolve_detector, score_image
from harness.detectors.guard import ReencodeGuard
from harness.errors import DfiError

root, names = Path(sys.argv[1]), sys.argv[2:]
images = [(f, True) for f in sorted((root / "CelebFOM").glob("*_fake.png"))]
images += [(f, True) for f in sorted((root / "CelebBlend").glob("*.jpg"))]
images += [(f, False) for f in sorted((root / "CelebFOM").glob("*_real.png"))]
guard = ReencodeGuard()
print(f"{len(images)} images: {sum(y for _, y in images)} deepfakes, {sum(not y for _, y in images)} real frames; "
      f"guard: {guard.describe()}")
print(f"{'detector':<16} {'AUC as given':>12} {'AUC re-encoded':>15} {'unscorable':>11}")
for name in names:
    detector = resolve_detector(name)
    rows = []
    for path, fake in images:
        data = path.read_bytes()
        try:
            rows.append((fake, score_image(detector, data), score_image(detector, guard.apply(data))))
        except DfiError:
            continue
    y = np.array([r[0] for r in rows], bool)
    given, guarded = (np.array([r[k] for r in rows]) for k in (1, 2))
    auc = [detection_metrics(y, s, s >= 0.5)["auc"] for s in (given, guarded)]
    print(f"{name:<16} {auc[0]:>12.3f} {auc[1]:>15.3f} {len(images) - len(rows):>11}")
