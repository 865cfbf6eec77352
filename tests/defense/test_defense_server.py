"""The defense inside the mock HTTP servers: the vendors' own clients get "no celebrity" for a
flagged image and the usual answer otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.defense.policy import DD1
from harness.defense.server import defended_protocols
from harness.detectors import ImageTruth, SimulatedDetector, image_key


@pytest.fixture(scope="module")
def demo(models):
    from harness.datasets.demo import demo_dataset
    from harness.jobs.run import demo_gallery as _demo_gallery

    d = demo_dataset()
    return d, _demo_gallery(d)


def test_flagged_image_is_no_celebrity_over_http_for_every_vendor(demo):
    from harness.backends import make_backend
    from mockvendors.gallery import Gallery
    from mockvendors.server import MockServers

    dataset, gallery_path = demo
    reals = sorted((dataset.root / "real").glob("*.png"))
    blocked, passed = Path(reals[0]).read_bytes(), Path(reals[1]).read_bytes()
    truth = {image_key(blocked): ImageTruth(True, 1.0), image_key(passed): ImageTruth(False)}
    policy = DD1(SimulatedDetector("oracle", 1.0, 0.0, truth))
    protocols = defended_protocols(["aws", "ms", "nav"], Gallery.load(gallery_path), policy)
    with MockServers(protocols, ports={"aws": 0, "ms": 0, "nav": 0}) as servers:
        ports = {v: e.port for v, e in servers.endpoints.items()}
        vendors = make_backend("mock-http", ["aws", "ms", "nav"], ports=ports).vendors
        for name, vendor in vendors.items():
            assert vendor.recognize(passed).name is not None, name  # genuine, passes: named
            assert vendor.recognize(blocked).name is None, name  # flagged: no celebrity
    assert all(p.behaviour.blocked >= 1 for p in protocols.values())
