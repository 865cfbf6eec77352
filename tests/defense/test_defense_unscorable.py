"""The one rule for an image a detector cannot score: an explicit error, never "no celebrity" and
never the vendor's answer, the same on the client-side wrapper and inside the mock servers."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.defense.policy import DD1
from harness.defense.rule import Screen, decide
from harness.defense.server import DefendedBehaviour, defended_protocols
from harness.defense.wrapper import DefendedVendor, DefenseError
from harness.detectors import ImageTruth, SimulatedDetector, UnscorableImageError, image_key
from harness.vendors.base import BadImageError, VendorError

VENDORS = ["aws", "ms", "nav"]


@pytest.fixture(scope="module")
def demo(models):
    from harness.datasets.demo import demo_dataset
    from harness.jobs.run import demo_gallery as _demo_gallery

    d = demo_dataset()
    return d, _demo_gallery(d)


def _outcome(vendor, image: bytes) -> str:  # noqa: ANN001
    """The outcome kind the campaign would record: an error row (and of which kind), no celebrity, or a name."""
    try:
        rec = vendor.recognize(image)
    except VendorError as exc:
        kind = "retryable" if exc.retryable else ("bad-image" if isinstance(exc, BadImageError) else "other")
        return f"error:{kind}"
    return "named" if rec.name is not None else "no-celebrity"


def test_decide_raises_for_an_unscorable_image_and_the_screen_remembers_it():
    policy = DD1(SimulatedDetector("partial", 1.0, 0.0, {image_key(b"known"): ImageTruth(True, 1.0)}))
    assert decide(policy, b"known").flagged
    with pytest.raises(UnscorableImageError, match="told nothing"):
        decide(policy, b"unknown")
    screen = Screen(policy)
    for _ in range(2):  # memoised, and raised every time
        with pytest.raises(UnscorableImageError):
            screen.decide(b"unknown")
    assert isinstance(screen.recall(image_key(b"unknown")), UnscorableImageError)
    assert list(screen.unscorable) == [image_key(b"unknown")] and screen.decisions == {}


def test_unscorable_image_is_the_same_error_row_on_the_client_and_the_server_side(demo):
    """An image the detector cannot score: a non-retryable bad-image error from the client-side
    wrapper (over the in-process mocks) and from the mock servers' defended protocols (over HTTP,
    read by the vendors' own clients); a flagged and a passed image behave alike too."""
    from harness.backends import make_backend
    from mockvendors.gallery import Gallery
    from mockvendors.server import MockServers

    dataset, gallery_path = demo
    reals = sorted((dataset.root / "real").glob("*.png"))
    blocked, passed, unscorable = (Path(p).read_bytes() for p in reals[:3])
    truth = {image_key(blocked): ImageTruth(True, 1.0), image_key(passed): ImageTruth(False)}
    policy = DD1(SimulatedDetector("partial", 1.0, 0.0, truth))  # told nothing about `unscorable`

    client = {v: DefendedVendor(impl, policy) for v, impl in make_backend("mock", VENDORS, gallery=gallery_path)
              .vendors.items()}
    client_outcomes = {v: [_outcome(d, img) for img in (passed, blocked, unscorable)] for v, d in client.items()}
    with pytest.raises(DefenseError, match="cannot screen this image") as info:
        client["aws"].recognize(unscorable)
    assert info.value.code == "DetectorFailed"

    protocols = defended_protocols(VENDORS, Gallery.load(gallery_path), policy)
    with MockServers(protocols, ports=dict.fromkeys(VENDORS, 0)) as servers:
        ports = {v: e.port for v, e in servers.endpoints.items()}
        http = make_backend("mock-http", VENDORS, ports=ports).vendors
        server_outcomes = {v: [_outcome(d, img) for img in (passed, blocked, unscorable)] for v, d in http.items()}
        for v, vendor in http.items():
            with pytest.raises(BadImageError, match="cannot screen this image"):
                vendor.recognize(unscorable)
            if vendor.supports_similarity:  # similarity is unguarded on both sides
                assert vendor.similarity(unscorable, unscorable) is not None, v

    expected = ["named", "no-celebrity", "error:bad-image"]
    assert client_outcomes == server_outcomes == dict.fromkeys(VENDORS, expected)
    assert all(p.behaviour.unscorable >= 1 for p in protocols.values())


def test_server_refuses_an_image_it_never_screened():
    """recognize_analysis without the behaviour's own analyze: no decision, so no answer either."""
    from types import SimpleNamespace

    from mockvendors.aws.protocol import AwsError

    inner = SimpleNamespace(vendor="aws", recognize_analysis=lambda a: pytest.fail("reached the vendor"))
    behaviour = DefendedBehaviour(inner, DD1(SimulatedDetector("x", 1.0, 0.0, {})))  # type: ignore[arg-type]
    with pytest.raises(AwsError) as info:
        behaviour.recognize_analysis(SimpleNamespace(sha256="0" * 64))  # type: ignore[arg-type]
    assert info.value.code == "InvalidParameterException" and "not screened" in info.value.message
