"""Adding a vendor is one folder plus one registration: a toy fourth vendor
(tests/support/toyvendor) runs through the in-process mock, the mock over HTTP, cassette record
and replay, and the real backend against a loopback server, and through a campaign into a valid
results table — with no change anywhere else in the project."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.backends import make_backend, parse_vendor_list
from harness.campaign import CampaignOptions, CampaignRunner
from harness.clients.config import ClientOptions
from harness.datasets.probe import Probe
from harness.results.io import results_from_rows
from harness.vendors import registry
from harness.vendors.base import BadImageError

from support import toyvendor
from support.vendor_http import Scripted, ScriptedServer

pytestmark = [pytest.mark.models, pytest.mark.shared]


@pytest.fixture
def toy():
    spec = toyvendor.install()
    yield spec
    toyvendor.uninstall()


@pytest.fixture
def photos(shared_data: Path) -> dict[str, Path]:
    f = shared_data / "faces"
    return {n: f / f"{n}.jpg" for n in ("obama", "obama2", "obama3", "biden")}


@pytest.fixture
def gallery(photos, mockvendors_analyzer):
    from mockvendors.gallery import Gallery

    return Gallery.enrol({"Barack Obama": [photos["obama"]], "Joe Biden": [photos["biden"]]}, mockvendors_analyzer)


def _answers(vendor, photos):
    o2, o3, biden = (photos[k].read_bytes() for k in ("obama2", "obama3", "biden"))
    rec = vendor.recognize(o2)
    return rec.name, rec.confidence, vendor.similarity(o2, o3), vendor.similarity(o2, biden)


def test_the_registry_knows_the_toy_vendor_only_while_registered(toy):
    assert "toy" in registry.names() and parse_vendor_list("aws,toy") == ["aws", "toy"]
    for what in toy.refs:  # every reference of the spec resolves
        assert toy.load(what) is not None
    toyvendor.uninstall()
    assert "toy" not in registry.names()
    toyvendor.install()


def test_toy_vendor_through_every_backend(toy, gallery, photos, mockvendors_analyzer, tmp_path: Path):
    from harness.cassettes.backend import CassetteVendor
    from mockvendors.behaviour import behaviours
    from mockvendors.server import MockServers, build_protocols

    # 1. in-process mock
    mock = make_backend("mock", ["toy"], gallery=gallery, analyzer=mockvendors_analyzer).vendors["toy"]
    name, conf, same, other = _answers(mock, photos)
    assert name == "Barack Obama" and conf is not None and 60 <= conf <= 100
    assert same is not None and other is not None and same > other
    with pytest.raises(BadImageError) as bad:
        mock.recognize(b"not an image")
    assert bad.value.vendor == "toy"

    # 2. mock over HTTP: the registered wire protocol, the registered client
    assert type(behaviours(["toy"], gallery, mockvendors_analyzer)["toy"]).__name__ == "MockVendorBehaviour"
    protocols = build_protocols(["toy"], gallery, mockvendors_analyzer)
    with MockServers(protocols, ports={"toy": 0}) as servers:
        port = servers.endpoints["toy"].port
        http = make_backend("mock-http", ["toy"], ports={"toy": port}).vendors["toy"]
        h_name, h_conf, h_same, h_other = _answers(http, photos)
        assert h_name == name and h_conf == pytest.approx(conf, abs=0.01)
        assert h_same == pytest.approx(same, abs=0.01) and h_other == pytest.approx(other, abs=0.01)

        # 3. cassette: record through the real client against the mock server ...
        cassettes = tmp_path / "cassettes"
        cassettes.mkdir()
        inner = toy.load("connect")(toy.load("placeholder_env")(servers.endpoints["toy"].url), ClientOptions())
        with CassetteVendor("toy", cassettes / "toy.yaml", record=True, inner=inner,
                            metadata={"provenance": "mock-recorded"}) as rec:
            assert _answers(rec, photos) == (h_name, h_conf, h_same, h_other)
    # ... and replay with the server gone
    replay = make_backend("cassette", ["toy"], cassettes=cassettes).vendors["toy"]
    assert _answers(replay, photos) == (h_name, h_conf, h_same, h_other)
    assert "X-Toy-Api-Key" not in (cassettes / "toy.yaml").read_text()  # the credential header is filtered


def test_toy_vendor_real_backend_against_a_loopback_server(toy):
    answer = Scripted(200, {"faces": [{"name": "Jane Roe", "score": 0.8123, "box": [1, 2, 30, 40]},
                                      {"name": None, "score": 0.1, "box": [50, 50, 60, 60]}]})
    with ScriptedServer([answer]) as server:
        env = {"DFI_TOY_ENDPOINT": server.url, "DFI_TOY_KEY": "k"}
        vendor = make_backend("real", ["toy"], env=env).vendors["toy"]
        rec = vendor.recognize(b"\xff\xd8 some jpeg")
    assert (rec.name, rec.confidence) == ("Jane Roe", pytest.approx(81.23))
    assert len(rec.faces) == 2 and server.received[0].headers["X-Toy-Api-Key"] == "k"
    throttle = Scripted(429, {"error": {"code": "SlowDown", "message": "rate exceeded"}}, {"Retry-After": "0"})
    with ScriptedServer([throttle]) as server:
        env = {"DFI_TOY_ENDPOINT": server.url, "DFI_TOY_KEY": "k"}
        backend = make_backend("real", ["toy"], env=env,
                               client_options=ClientOptions(max_attempts=4, rate=math.inf, sleep=lambda s: None))
        with pytest.raises(Exception) as exc:
            backend.vendors["toy"].recognize(b"x")
    assert type(exc.value).__name__ == "ThrottledError" and len(server.received) == 4 and backend.retries() == 3


def test_toy_vendor_in_a_campaign_gives_a_valid_results_table(toy, gallery, photos, mockvendors_analyzer,
                                                              tmp_path: Path):
    backend = make_backend("mock", ["aws", "toy"], gallery=gallery, analyzer=mockvendors_analyzer)
    probes = [Probe("p0", "toyset", "reenactment", str(photos["obama3"]), "Barack Obama", (str(photos["obama2"]),),
                    ("Barack Obama",))]
    runner = CampaignRunner(probes, backend.vendors, tmp_path / "run", CampaignOptions(crop=False))
    runner.run()
    table = results_from_rows(runner.ordered_rows())
    assert sorted(table["vendor"]) == ["aws", "toy"]
    toy_row = table[table["vendor"] == "toy"].iloc[0]
    assert toy_row["target_name"] == "Barack Obama" and toy_row["fake_name"] == "Barack Obama"
    assert toy_row["similarity"] > 50
