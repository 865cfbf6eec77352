"""The in-process mocks share the campaign's decoded crops and one detection per image among the three
vendors' analyzers, and answer exactly as when each vendor decodes and detects on its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.backends.factory import make_backend
from harness.campaign import CampaignOptions, CampaignRunner
from harness.campaign.prepare import ImagePreparer
from harness.faces import load_image
from mockvendors.analysis import IMAGE_MEMO, ImageMemo

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def demo_probes(models):
    from harness.datasets.demo import demo_dataset

    return [p for p in demo_dataset().probes() if not p.error][:12]


def _rows(probes, out: Path) -> list[dict]:
    backend = make_backend("mock", ["aws", "ms", "nav"])
    runner = CampaignRunner(probes, backend.vendors, out, CampaignOptions(crop=True))
    runner.run()
    return runner.ordered_rows()


def test_crop_pixels_are_what_decoding_the_png_gives(demo_probes, tmp_path):
    prep = ImagePreparer(crop=True, cache_dir=tmp_path / "crops")
    for probe in demo_probes[:4]:
        img = prep.prepare(probe.deepfake, "deepfake")
        assert img.pixels is not None and img.pixels.flags["C_CONTIGUOUS"]
        assert np.array_equal(img.pixels, load_image(img.data))
        assert prep.prepare(probe.deepfake, "deepfake").pixels is None  # the memo keeps bytes only
    again = ImagePreparer(crop=True, cache_dir=tmp_path / "crops").prepare(demo_probes[0].deepfake, "deepfake")
    assert again.pixels is None and again.data  # a crop read back from the cache carries no pixels


def test_rows_equal_with_and_without_the_shared_memo(demo_probes, tmp_path, monkeypatch):
    IMAGE_MEMO.clear()
    detections: list[str] = []
    original = ImageMemo.detect_once

    def counting(self, detector, sha, detect):  # noqa: ANN001, ANN202
        def counted():  # noqa: ANN202
            detections.append(sha)
            return detect()
        return original(self, detector, sha, counted)

    monkeypatch.setattr(ImageMemo, "detect_once", counting)
    shared = _rows(demo_probes, tmp_path / "shared")
    assert detections and len(detections) == len(set(detections))  # each image detected once for three vendors

    # the same campaign with the memo holding nothing: every vendor decodes and detects for itself
    monkeypatch.setattr(IMAGE_MEMO, "max_pixel_bytes", 0)
    monkeypatch.setattr(IMAGE_MEMO, "max_detections", 0)
    IMAGE_MEMO.clear()
    alone = _rows(demo_probes, tmp_path / "alone")
    keys = ("probe_id", "vendor", "target_name", "target_conf", "fake_name", "fake_conf", "similarity",
            "target_error", "fake_error", "similarity_error")
    assert [{k: r[k] for k in keys} for r in shared] == [{k: r[k] for k in keys} for r in alone]
    assert any(r["fake_name"] for r in shared)
