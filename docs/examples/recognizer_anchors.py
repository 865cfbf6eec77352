"""Measure every registered recognizer and detector on the real anchor photos; print Markdown tables.

docs/regenerate.py runs this for docs/faces-and-models.md. Recognizers: the same-person and
different-person cosines (harness.faces.anchors: 3 same-person pairs, 117 different-person pairs among
15 people), the anchors recorded in harness.faces.registry (tests/faces/test_anchors.py checks they are
what this measures), and each CelebFOM deepfake against the real frame it animates. Detectors: MTCNN
against the default detector on the same photos.
"""

import numpy as np

from harness.faces import load_image
from harness.faces.anchors import measure_anchors, photo_set
from harness.faces.registry import DETECTORS, RECOGNIZERS, anchors, make_detector, pipeline_for
from harness.models import demo_image_paths
from harness.paths import shared_data_dir

shared = shared_data_dir()
assert shared is not None, "needs ../shared/data"
photos = photo_set(shared, demo_image_paths())
fom = shared / "paper-samples" / "CelebFOM"
fom_paths = [str(p) for p in sorted(fom.glob("*_fake.png")) + sorted(fom.glob("*_real.png"))]

print("| recognizer | dim | same person (min / median) | different people (p90 / max) | recorded anchors "
      "(impostor, genuine) | CelebFOM fake vs its real (min) / next real (max) |")
print("|---|---:|---|---|---|---|")
for name, (spec, _) in RECOGNIZERS.items():
    pipe = pipeline_for(name)
    a = measure_anchors(pipe, photos)
    emb = np.stack([r[0].embedding for r in pipe.analyze_many(fom_paths)])
    sims = emb[:5] @ emb[5:].T
    ranked = np.sort(sims, axis=1)
    rec = anchors(name)
    print(f"| `{name}` | {spec.dim} | {a.genuine_min:.3f} / {a.genuine:.3f} | {a.impostor:.3f} / {a.impostor_max:.3f} "
          f"| {rec.impostor:.3f}, {rec.genuine:.3f} | {ranked[:, -1].min():.3f} / {ranked[:, -2].max():.3f} |")

print()
default = make_detector("faceplugin")
paths = list(dict.fromkeys(p for _, p, _ in photos)) + fom_paths
images = [load_image(p) for p in paths]
ref_faces = default.detect_batch(images)
print("| detector | faces found (anchor + CelebFOM photos) | matched to a default face (IoU >= 0.3) "
      "| box IoU of matches (min / mean) | landmark distance, % of the default box side (mean / max) |")
print("|---|---:|---:|---|---|")
for name in DETECTORS:
    found = make_detector(name).detect_batch(images)
    ious, dists = [], []
    for ref, got in zip(ref_faces, found, strict=True):
        for r in ref:
            best, best_iou = None, 0.0
            for g in got:
                x1, y1 = max(r.box[0], g.box[0]), max(r.box[1], g.box[1])
                x2, y2 = min(r.box[2], g.box[2]), min(r.box[3], g.box[3])
                inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
                union = r.width * r.height + g.width * g.height - inter
                iou = inter / union if union else 0.0
                if iou > best_iou:
                    best, best_iou = g, iou
            if best is not None and best_iou >= 0.3:
                ious.append(best_iou)
                d = np.linalg.norm(np.asarray(best.landmarks5) - np.asarray(r.landmarks5), axis=1).mean()
                dists.append(100 * d / max(r.width, r.height))
    total = sum(len(f) for f in found)
    print(f"| `{name}` | {total} | {len(ious)} of {sum(len(f) for f in ref_faces)} | {min(ious):.2f} / "
          f"{np.mean(ious):.2f} | {np.mean(dists):.1f} / {max(dists):.1f} |")
