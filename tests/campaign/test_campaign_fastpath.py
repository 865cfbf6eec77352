"""The batch entry points over the in-process mocks answer exactly as the per-call path does."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from harness.errors import DfiError

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def setup():
    try:
        from harness.backends.inprocess import mock_vendors
        from harness.datasets.demo import demo_dataset
        from harness.jobs.run import demo_gallery as _demo_gallery

        demo = demo_dataset()
        gallery = _demo_gallery(demo)
    except DfiError as exc:
        pytest.skip(f"face models / demo photos not installed: {exc}")
    probes = demo.probes()
    images = [Path(p.deepfake).read_bytes() for p in probes]
    images += [Path(r).read_bytes() for r in sorted({r for p in probes for r in p.target_images})]
    images += [Path(p).read_bytes() for ps in demo.gallery_photos().values() for p in ps[:1]]  # enrolled: hold-out
    ok, noise = cv2.imencode(".png", np.random.default_rng(1).integers(0, 255, (90, 90, 3), np.uint8))
    images += [noise.tobytes(), b"\xff\xd8\xff\xe0 not really a jpeg"]
    return mock_vendors(gallery), mock_vendors(gallery), images


def _same(a, b) -> bool:  # noqa: ANN001
    """Equal answers; a confidence may differ in its last reported digit (a float32 matrix product
    over a batch sums in another order than one row at a time, and NAV rounds to 6 decimals)."""
    if isinstance(a, Exception) or isinstance(b, Exception):
        return type(a) is type(b) and str(a) == str(b)
    if len(a.faces) != len(b.faces):
        return False
    return all(x.name == y.name and x.celebrity_id == y.celebrity_id and x.box == y.box
               and abs(x.confidence - y.confidence) < 1e-3 and abs(x.raw_confidence - y.raw_confidence) < 1e-3
               for x, y in zip(a.faces, b.faces))


@pytest.mark.parametrize("vendor", ["aws", "ms", "nav"])
def test_batches_equal_per_call_answers(setup, vendor):
    from harness.backends.fastpath import BatchedMockVendor

    per_call_vendors, batch_vendors, images = setup
    plain = per_call_vendors[vendor]
    fast = BatchedMockVendor(batch_vendors[vendor])
    items = [(d, hashlib.sha256(d).hexdigest()) for d in images]
    first = fast.recognize_batch(items)  # every image new to this vendor: per-call path inside
    second = fast.recognize_batch(items)  # now accepted and analysed: vectorised path
    assert fast.fast_calls > len(images) // 2
    for data, a, b in zip(images, first, second):
        try:
            expected = plain.recognize(data)
        except Exception as exc:  # noqa: BLE001
            expected = exc
        assert _same(expected, a) and _same(expected, b)
    if not plain.supports_similarity:
        assert fast.similarity_batch([(items[0], items[1])]) == [None]
        return
    pairs = [(items[-8 - (i % 8)], items[i]) for i in range(len(items))]
    before = fast.fast_calls
    got = fast.similarity_batch(pairs)
    assert fast.fast_calls > before
    for ((a, _), (b, _)), g in zip(pairs, got):
        try:
            expected = plain.similarity(a, b)
        except Exception as exc:  # noqa: BLE001
            expected = exc
        assert _same(expected, g) if isinstance(g, Exception) else g == pytest.approx(expected, abs=1e-9)


def test_campaign_rows_equal_with_and_without_batches(setup, tmp_path: Path):
    from harness.backends.fastpath import batched
    from harness.campaign import CampaignOptions, CampaignRunner
    from harness.datasets.demo import demo_dataset

    per_call_vendors, batch_vendors, _ = setup
    probes = demo_dataset().probes()[::3]
    a = CampaignRunner(probes, per_call_vendors, tmp_path / "a", CampaignOptions(crop=False))
    a.run()
    b = CampaignRunner(probes, batched(batch_vendors), tmp_path / "b", CampaignOptions(crop=False, batch_size=7))
    b.run()
    rows_a, rows_b = a.ordered_rows(), b.ordered_rows()
    assert len(rows_a) == len(rows_b) == 3 * len(probes)
    for x, y in zip(rows_a, rows_b):
        for k, v in x.items():
            if isinstance(v, float):
                assert y[k] == pytest.approx(v, abs=1e-3), k
            else:
                assert y[k] == v, k
