"""Cassettes: secret scan of every cassette in the repo, filters, record/replay rules, faults,
doc-example and mock-recorded cassettes (a small campaign replayed from them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from vcr.request import Request

from harness.campaign.runner import CampaignOptions, CampaignRunner
from harness.cassettes.backend import CassetteVendor
from harness.cassettes.doc_examples import AWS_EXAMPLES, AZURE_EXAMPLES, stand_in_image
from harness.cassettes.errors import (
    CassetteNotFoundError,
    CassetteVendorMismatchError,
    CorruptCassetteError,
    UnrecordedCallError,
)
from harness.cassettes.filters import redact_request
from harness.cassettes.mock_recording import default_plan
from harness.cassettes.scan import scan_cassette_data, scan_file
from harness.clients.adapters import AzureVendor
from harness.clients.azure import AzureClient
from harness.clients.config import azure_settings
from harness.clients.retry import RetryPolicy
from harness.datasets.probe import Probe
from harness.paths import PROJECT_ROOT
from harness.ratelimit import TokenBucket
from harness.vendors.base import ServerError, ThrottledError

from support.vendor_http import Scripted, ScriptedServer

CASSETTES = PROJECT_ROOT / "cassettes"
EXAMPLES = PROJECT_ROOT / "examples"  # applications' own cassettes (pytest-recording)
SKIP_DIRS = {".git", "runs", "out", "build", "dist", ".venv", "node_modules", "output"}
AZURE_KEY = "0123456789abcdef0123456789abcdef"  # the shape of an Azure subscription key (not a real one)
CELEB_OK = {"result": {"celebrities": [{"name": "Jane Doe", "confidence": 0.91,
                                        "faceRectangle": {"left": 1, "top": 2, "width": 3, "height": 4}}]},
            "requestId": "r", "metadata": {"height": 10, "width": 10, "format": "Jpeg"}}


def repo_cassettes() -> list[Path]:
    """Every YAML file in the repository that is a vcrpy cassette (has an interactions list)."""
    out = []
    for p in PROJECT_ROOT.rglob("*.y*ml"):
        if SKIP_DIRS & set(p.relative_to(PROJECT_ROOT).parts):
            continue
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and "interactions" in data:
            out.append(p)
    return out


# -- the secret scan -------------------------------------------------------------------------

def test_no_cassette_in_the_repo_holds_a_key_like_value():
    files = repo_cassettes()
    assert len(files) >= 6 and all(f.is_relative_to(CASSETTES) or f.is_relative_to(EXAMPLES) for f in files)
    findings = [str(f) for path in files for f in scan_file(path)]
    assert findings == []


def test_committed_cassettes_say_what_they_are():
    for path in (p for p in repo_cassettes() if p.is_relative_to(CASSETTES)):
        meta = yaml.safe_load(path.read_text())["metadata"]
        assert meta["provenance"] in ("mock-recorded", "doc-example"), path  # no real traffic is committed
        assert meta["provenance"] == path.relative_to(CASSETTES).parts[0], path
        assert meta["vendor"] in ("aws", "ms", "nav")
        assert path.stat().st_size < 100_000


# AWS's documented example credentials, assembled here so no key-shaped literal sits in the repo
EXAMPLE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"


def test_scanner_finds_planted_secrets():
    planted = {"interactions": [{
        "request": {"method": "POST", "uri": "https://x/?X-Amz-Signature=" + "ab" * 32, "body": None,
                    "headers": {"Authorization": ["AWS4-HMAC-SHA256 Credential=" + EXAMPLE_KEY_ID + "/20200101/..."],
                                "Ocp-Apim-Subscription-Key": [AZURE_KEY], "X-Naver-Client-Secret": ["s3cr3t"]}},
        "response": {"status": {"code": 200}, "headers": {},
                     "body": {"string": '{"secret": "' + EXAMPLE_SECRET + '"}'}},
    }]}
    kinds = {(f.where.split(" header ")[-1] if "header" in f.where else f.where, f.kind)
             for f in scan_cassette_data(planted, "planted.yaml")}
    assert ("Authorization", "credential header recorded") in kinds
    assert ("Authorization", "AWS access key id") in kinds
    assert ("Ocp-Apim-Subscription-Key", "32-hex key (Azure subscription key shape)") in kinds
    assert ("X-Naver-Client-Secret", "credential header recorded") in kinds
    assert ("interaction 0 request uri", "SigV4 signature/credential") in kinds
    assert ("interaction 0 response body", "40-char secret key") in kinds


def test_request_filter_removes_credentials_query_secrets_and_image_bytes():
    req = Request("POST", "https://res.cognitiveservices.azure.com/vision/v3.2/models/celebrities/analyze"
                          "?model-version=latest&subscription-key=" + AZURE_KEY, b"\xff\xd8JPEGBYTES",
                  {"Ocp-Apim-Subscription-Key": AZURE_KEY, "Content-Type": "application/octet-stream",
                   "Authorization": "Bearer abc", "X-Amz-Date": "20240101T000000Z", "X-Amz-Security-Token": "tok",
                   "X-NCP-APIGW-API-KEY": "k", "X-Naver-Client-Id": "i"})
    out = redact_request(req)
    assert set(out.headers) == {"Content-Type"}
    assert "subscription-key" not in out.uri and "model-version=latest" in out.uri
    assert b"JPEGBYTES" not in out.body and json.loads(out.body)["dfi_request"]["operation"] == "CelebritiesAnalyze"


def test_recording_through_the_real_client_writes_no_secret(tmp_path):
    out = tmp_path / "ms.yaml"
    script = [Scripted(200, CELEB_OK, {"apim-request-id": "3990dba7-09fa-48b4-8f3e-e85575f10a4c",
                                       "Set-Cookie": "session=" + AZURE_KEY})]
    with ScriptedServer(script) as server:
        client = AzureClient(
            azure_settings({"DFI_AZURE_VISION_ENDPOINT": server.url, "DFI_AZURE_VISION_KEY": AZURE_KEY}),
            TokenBucket.unlimited(),
        )
        with CassetteVendor(
            "ms", out, record=True, inner=AzureVendor(client), metadata={"provenance": "mock-recorded"}
        ) as backend:
            assert backend.recognize(b"\xff\xd8image-1").name == "Jane Doe"
            assert backend.recognize(b"\xff\xd8image-1").name == "Jane Doe"  # identical call: replayed
        assert len(server.received) == 1  # nothing recorded (or sent) twice
        assert server.received[0].headers["Ocp-Apim-Subscription-Key"] == AZURE_KEY  # it was sent...
    text = out.read_text()
    assert AZURE_KEY not in text and "apim-request-id" not in text and "Set-Cookie" not in text  # ...not stored
    assert scan_file(out) == []
    assert len(yaml.safe_load(text)["interactions"]) == 1
    # reopened for recording: known calls replay from the file instead of going out again
    with ScriptedServer([Scripted(500, {})]) as server:
        client = AzureClient(
            azure_settings({"DFI_AZURE_VISION_ENDPOINT": server.url, "DFI_AZURE_VISION_KEY": "k"}),
            TokenBucket.unlimited(),
        )
        with CassetteVendor("ms", out, record=True, inner=AzureVendor(client), metadata={}) as backend:
            assert backend.recognize(b"\xff\xd8image-1").name == "Jane Doe"
        assert server.received == []
    # and replay (no credentials, no network) gives the same answer
    assert CassetteVendor("ms", out).recognize(b"\xff\xd8image-1").name == "Jane Doe"


def test_a_timeout_while_recording_records_nothing_and_is_typed(tmp_path):
    out = tmp_path / "ms.yaml"
    with ScriptedServer([Scripted(200, CELEB_OK, delay_s=0.5)]) as server:
        settings = azure_settings(
            {"DFI_AZURE_VISION_ENDPOINT": server.url, "DFI_AZURE_VISION_KEY": "k", "DFI_HTTP_TIMEOUT": "0.15"}
        )
        client = AzureClient(settings, TokenBucket.unlimited(), RetryPolicy(max_attempts=2, sleep=lambda s: None))
        with CassetteVendor(
            "ms", out, record=True, inner=AzureVendor(client), metadata={"provenance": "mock-recorded"}
        ) as b:
            with pytest.raises(ServerError, match="Timeout"):
                b.recognize(b"\xff\xd8slow")
    assert not out.exists() or yaml.safe_load(out.read_text()).get("interactions") == []


# -- faults on replay --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("interactions: [unclosed", "YAML does not parse"),
        ("just: a mapping\n", "no 'interactions' list"),
        (
            "interactions:\n- request: {method: POST}\n  response: {status: {code: 200}, body: {string: ''}}\n",
            "lacks uri",
        ),
        (b"\xff\xfe\x00binary", "not UTF-8"),
    ],
)
def test_corrupt_cassettes_are_clear_errors(tmp_path, content, reason):
    p = tmp_path / "ms.yaml"
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CorruptCassetteError, match=reason):
        CassetteVendor("ms", p)


def test_missing_cassette_and_wrong_vendor_are_clear_errors(tmp_path):
    with pytest.raises(CassetteNotFoundError, match="no such cassette"):
        CassetteVendor("aws", tmp_path / "aws.yaml")
    with pytest.raises(CassetteVendorMismatchError, match="recorded for vendor.s. ms, but used as the 'aws'"):
        CassetteVendor("aws", CASSETTES / "mock-recorded" / "ms.yaml")
    with pytest.raises(CassetteVendorMismatchError):
        CassetteVendor("nav", CASSETTES / "doc-example" / "aws.yaml")


def test_throttling_mid_campaign_replays_through_the_retry_logic(shared_data):
    """Recorded from the MS mock server with fault injection (tps=2): two 429s with Retry-After."""
    plan = default_plan(shared_data)
    backend = CassetteVendor("ms", CASSETTES / "mock-recorded" / "throttled" / "ms.yaml")
    names = [backend.recognize(p.read_bytes()).name for p in plan.recognize[:6]]
    assert names[:2] == ["Barack Obama", "Barack Obama"]
    stats = backend.client_stats
    assert (stats.calls, stats.throttled, stats.retries, stats.failures) == (6, 2, 2, 0)
    # played again: the final answer repeats; the recorded 429 is not replayed a second time
    assert backend.recognize(plan.recognize[0].read_bytes()).name == "Barack Obama"
    assert backend.client_stats.throttled == 2


def test_a_throttle_that_never_ended_is_a_throttled_error_not_no_celebrity(tmp_path):
    always = [Scripted(429, {"error": {"code": "429", "message": "Rate limit is exceeded."}}, {"Retry-After": "0"})]
    out = tmp_path / "ms.yaml"
    with ScriptedServer(always) as server:
        client = AzureClient(
            azure_settings({"DFI_AZURE_VISION_ENDPOINT": server.url, "DFI_AZURE_VISION_KEY": "k"}),
            TokenBucket.unlimited(),
            RetryPolicy(max_attempts=3, sleep=lambda s: None),
        )
        with CassetteVendor(
            "ms", out, record=True, inner=AzureVendor(client), metadata={"provenance": "mock-recorded"}
        ) as b:
            with pytest.raises(ThrottledError):
                b.recognize(b"\xff\xd8busy")
    assert len(server.received) == 3 and len(yaml.safe_load(out.read_text())["interactions"]) == 3
    replay = CassetteVendor("ms", out)  # 5 attempts against 3 recorded 429s: the last keeps answering
    with pytest.raises(ThrottledError):
        replay.recognize(b"\xff\xd8busy")
    assert replay.client_stats.attempts == 5 and replay.client_stats.failures == 1
    with pytest.raises(UnrecordedCallError):  # a call never recorded is still a loud harness error
        replay.recognize(b"\xff\xd8never-recorded")


# -- doc-example cassettes ---------------------------------------------------------------------


def test_doc_example_cassettes_parse_through_the_real_clients():
    aws = CassetteVendor("aws", CASSETTES / "doc-example" / "aws.yaml")
    assert aws.provenance == "doc-example"
    bezos = aws.recognize(stand_in_image(AWS_EXAMPLES[0][0]))
    assert (bezos.name, bezos.confidence, bezos.best().celebrity_id) == ("Jeff Bezos", 98.0, "3Ir0du6")
    assert [f.name for f in bezos.faces] == ["Jeff Bezos", None]  # the unrecognized face is kept, unnamed
    cli = aws.recognize(stand_in_image("aws/aws-cli/recognize-celebrities.rst.output.json"))
    assert sorted(f.name for f in cli.faces if f.name) == ["Celeb A", "Celeb B", "Celeb C", "Celeb D"]
    assert (
        aws.similarity(
            stand_in_image("aws/faces-comparefaces.md.response-example.json"),
            stand_in_image("aws/faces-comparefaces.md.response-example.json"),
        )
        == 100.0
    )
    ms = CassetteVendor("ms", CASSETTES / "doc-example" / "ms.yaml")
    satya = ms.recognize(stand_in_image(AZURE_EXAMPLES[0][0]))
    assert satya.name == "Satya Nadella" and satya.best().raw_confidence == 0.999028444
    assert satya.best().box == (597.0, 162.0, 845.0, 410.0)


# -- mock-recorded cassettes: a small campaign ---------------------------------------------------


def campaign_probes(shared_data: Path) -> list[Probe]:
    plan = default_plan(shared_data)
    probes = []
    for i, (target_img, fake) in enumerate(plan.pairs):
        target = "Barack Obama" if "obama" in target_img.name else target_img.name.removesuffix("_real.png")
        probes.append(Probe(f"p{i}", "mock-replay", "reenactment", str(fake), target, (str(target_img),), (target,)))
    return probes


def run_campaign(probes, vendors, out_dir):
    runner = CampaignRunner(probes, vendors, out_dir, CampaignOptions(crop=False, concurrency=1))
    runner.run()
    return runner.ordered_rows()


def test_mock_recorded_cassettes_replay_a_small_campaign(shared_data, tmp_path):
    probes = campaign_probes(shared_data)
    vendors = {v: CassetteVendor(v, CASSETTES / "mock-recorded" / f"{v}.yaml") for v in ("aws", "ms", "nav")}
    rows = run_campaign(probes, vendors, tmp_path / "run")
    assert len(rows) == len(probes) * 3
    assert all(not r[c] for r in rows for c in ("target_error", "fake_error", "similarity_error"))
    by = {(r["probe_id"], r["vendor"]): r for r in rows}
    for v in ("aws", "ms", "nav"):  # obama2 (enrolled: obama.jpg) named on the real image and on obama3
        assert by[("p0", v)]["target_name"] == "Barack Obama" == by[("p0", v)]["fake_name"]
    assert by[("p0", "aws")]["similarity"] > 80 and by[("p1", "aws")]["similarity"] < 50  # Obama~Obama, Obama~Biden
    assert by[("p0", "nav")]["similarity"] is None  # NAV has no similarity call
    assert vendors["ms"].provenance == "mock-recorded"


@pytest.mark.slow
def test_replayed_campaign_equals_the_live_mock_servers(shared_data, models, tmp_path):
    """The same campaign against live mock servers (same gallery) gives the rows the cassettes replay."""
    from harness.cassettes.mock_recording import mock_servers
    from harness.clients.adapters import connect_to
    from harness.clients.config import ClientOptions

    probes = campaign_probes(shared_data)
    replayed = run_campaign(
        probes,
        {v: CassetteVendor(v, CASSETTES / "mock-recorded" / f"{v}.yaml") for v in ("aws", "ms", "nav")},
        tmp_path / "replay",
    )
    with mock_servers(default_plan(shared_data).gallery, ("aws", "ms", "nav")) as urls:
        live_vendors = {v: connect_to(v, url, ClientOptions(rate=1000.0)) for v, url in urls.items()}
        live = run_campaign(probes, live_vendors, tmp_path / "live")
    assert len(live) == len(replayed)
    for a, b in zip(live, replayed):
        for col in ("target_name", "fake_name", "target_error", "fake_error", "similarity_error"):
            assert a[col] == b[col], (a["probe_id"], a["vendor"], col)
        for col in ("target_conf", "fake_conf", "similarity"):
            assert (a[col] is None) == (b[col] is None)
            if a[col] is not None:
                assert a[col] == pytest.approx(b[col], abs=0.05)
