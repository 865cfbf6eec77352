"""The harness's real clients, unchanged, against the project's mock vendor servers."""

from __future__ import annotations

import pytest

from harness.clients.adapters import AzureVendor, connect_to
from harness.clients.azure import AzureClient
from harness.clients.config import ClientOptions, azure_settings
from harness.clients.retry import RetryPolicy
from harness.ratelimit import TokenBucket
from harness.vendors.base import BadImageError, ThrottledError


def vendors(urls: dict[str, str]):
    """The real clients, pointed at the mock servers with placeholder credentials."""
    return {v: connect_to(v, url, ClientOptions(rate=1000.0)) for v, url in urls.items()}


@pytest.fixture(scope="module")
def enrolled_servers(shared_data, models):
    from harness.cassettes.mock_recording import default_plan, mock_servers

    with mock_servers(default_plan(shared_data).gallery, ("aws", "ms", "nav")) as urls:
        yield urls


def test_clients_get_named_answers_from_the_mock_servers(shared_data, enrolled_servers):
    image = (shared_data / "faces" / "obama2.jpg").read_bytes()
    answers = {v: backend.recognize(image) for v, backend in vendors(enrolled_servers).items()}
    assert {v: a.name for v, a in answers.items()} == {
        "aws": "Barack Obama",
        "ms": "Barack Obama",
        "nav": "Barack Obama",
    }
    assert answers["aws"].confidence >= 55 and answers["ms"].best().raw_confidence >= 0.70
    assert all(a.best().box is not None for v, a in answers.items() if v != "nav")
    v = vendors(enrolled_servers)
    same = v["aws"].similarity(image, (shared_data / "faces" / "obama3.jpg").read_bytes())
    other = v["aws"].similarity(image, (shared_data / "faces" / "biden.jpg").read_bytes())
    assert 0 <= other < same <= 100
    assert 0 <= v["ms"].similarity(image, (shared_data / "faces" / "obama3.jpg").read_bytes()) <= 100


@pytest.mark.parametrize("vendor", ["aws", "ms", "nav"])
def test_mock_server_errors_become_typed_errors(enrolled_servers, vendor):
    with pytest.raises(BadImageError):
        vendors(enrolled_servers)[vendor].recognize(b"definitely not an image")


def test_injected_throttling_is_retried_by_the_client(shared_data, models):
    from harness.cassettes.mock_recording import default_plan, mock_servers
    from mockvendors.profile import Faults

    image = (shared_data / "faces" / "obama2.jpg").read_bytes()
    with mock_servers(default_plan(shared_data).gallery, ("ms",), faults={"ms": Faults(tps=1.0)}) as urls:
        client = AzureClient(
            azure_settings({"DFI_AZURE_VISION_ENDPOINT": urls["ms"], "DFI_AZURE_VISION_KEY": "m"}),
            TokenBucket.unlimited(),
            RetryPolicy(max_attempts=6, base_s=0.2, cap_s=1.0),
        )
        names = [AzureVendor(client).recognize(image).name for _ in range(3)]
        assert names == ["Barack Obama"] * 3
        assert client.stats.throttled >= 1 and client.stats.failures == 0
        impatient = AzureClient(
            azure_settings({"DFI_AZURE_VISION_ENDPOINT": urls["ms"], "DFI_AZURE_VISION_KEY": "m"}),
            TokenBucket.unlimited(),
            RetryPolicy(max_attempts=1),
        )
        with pytest.raises(ThrottledError):
            for _ in range(3):
                AzureVendor(impatient).recognize(image)
