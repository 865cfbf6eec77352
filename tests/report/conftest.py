"""A campaign-like results table whose deepfakes and genuine photos are real image files on disk
(some missing, one a video frame), and the report built from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness.report import ReportFiles, build_report
from harness.results.synthetic import synthetic_results

TAU = {"aws": 55.0, "ms": 70.0, "nav": 0.0}


@dataclass
class BuiltReport:
    files: ReportFiles
    results: pd.DataFrame
    out: Path
    images: Path
    inputs: list[Path]
    genuine: dict[str, str]


def _picture(path: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (80 + seed % 40, 64 + seed % 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


@pytest.fixture(scope="session")
def built_report(tmp_path_factory: pytest.TempPathFactory) -> BuiltReport:
    root = tmp_path_factory.mktemp("report")
    images = root / "dataset"
    images.mkdir()
    results = synthetic_results(240, seed=5, n_targets=12)
    refs = []
    for i in range(len(results)):
        if i % 5 == 4:
            refs.append(f"missing/fake{i}.jpg")  # not on disk: "image not available"
        elif i % 7 == 6:
            refs.append(f"clips/c{i}.mp4#frame=3")  # a video frame: not read
        else:
            _picture(images / f"fake{i}.png", i)
            refs.append(f"fake{i}.png")  # relative to the dataset folder
    results["deepfake"] = refs
    genuine = {}
    for pid in results["probe_id"].unique():
        n = int(str(pid).removeprefix("p"))
        path = images / f"real{n % 12}.png"
        if not path.exists() and n % 12 != 11:  # one genuine photo never written
            _picture(path, 1000 + n % 12)
        genuine[str(pid)] = str(path)
    out = root / "out"
    out.mkdir()
    results.to_csv(out / "results.csv", index=False)
    manifest = root / "manifest.csv"
    manifest.write_text("fake,real\n")
    files = build_report(out, results, title="report test", facts=[("dataset", "synthetic")], beta=85.0, gamma=75.0,
                         tau=TAU, profile="study-2020", backend="mock", inputs=[manifest], image_root=images,
                         genuine_images=genuine, examples_per_vendor=4)
    return BuiltReport(files, results, out, images, [manifest, out / "results.csv"], genuine)
