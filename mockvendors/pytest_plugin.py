"""pytest plugin (entry point ``pytest11: mockvendors``): mock vendor servers and clients as fixtures.

Fixtures (all start lazily; the servers run once per test session on free loopback ports):

- ``mockvendors_gallery`` - the gallery every mock uses; the demo gallery unless you override this
  fixture in your ``conftest.py`` (return a ``mockvendors.gallery.Gallery`` or a path to a folder
  per name / a saved ``.npz``/``.json``);
- ``mockvendors_analyzer`` - the shared, cached face analyzer;
- ``mock_vendor_servers`` - ``{"aws"|"ms"|"nav": Endpoint}`` (``.url``, ``.host``, ``.port``);
- ``mock_aws_url``, ``mock_azure_url``, ``mock_naver_url`` - base URLs;
- ``mock_rekognition_client`` - a boto3 Rekognition client pointed at the AWS server;
- ``mock_rekognition_inprocess`` - routes every boto3 Rekognition call to the mock, no server;
- ``mockvendors_profiles`` - the profile of each mock: the built-in ones unless the run names a
  profile set (``pytest --mockvendors-profile study-2020`` or ``mockvendors_profile = study-2020`` in
  the pytest ini section), or you override this fixture (return ``{vendor: file, dict or set name}``).

Tests skip (with the reason) when the face models are not installed (``dfi models fetch``).
This module imports nothing heavy at collection time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # only for annotations: the plugin imports nothing heavy at collection time
    from mockvendors.analysis import CachingAnalyzer
    from mockvendors.gallery import Gallery
    from mockvendors.server import Endpoint


def pytest_addoption(parser: pytest.Parser) -> None:
    help_text = ("profile set of the mock vendors: default, study-2020 (fitted to the study's answers) or "
                 "study-2020/DATASET")
    parser.getgroup("mockvendors").addoption("--mockvendors-profile", default=None, help=help_text)
    parser.addini("mockvendors_profile", help_text, default="default")


def _need_models() -> None:
    try:
        from harness.models import model_path

        model_path("fr_feature")
    except Exception as exc:  # noqa: BLE001 - any failure means the mocks cannot run
        pytest.skip(f"mock vendors need the face models: {exc}")


@pytest.fixture(scope="session")
def mockvendors_analyzer() -> CachingAnalyzer:
    """The face analyzer all mocks share (cached by image sha256); skips without installed models."""
    _need_models()
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer

    return CachingAnalyzer(PipelineAnalyzer())


@pytest.fixture(scope="session")
def mockvendors_gallery(mockvendors_analyzer: CachingAnalyzer) -> Gallery | str | Path:
    """The mocks' gallery: the demo gallery. Override it (a Gallery, a folder per name, or a .npz/.json)."""
    from mockvendors.gallery import demo_gallery

    return demo_gallery(mockvendors_analyzer)


@pytest.fixture(scope="session")
def mockvendors_profiles(request: pytest.FixtureRequest) -> dict[str, Any] | None:
    """vendor -> profile override or profile set name for every mock (None: the built-in profiles)."""
    name = request.config.getoption("mockvendors_profile") or request.config.getini("mockvendors_profile")
    if not name or name == "default":
        return None
    from harness.vendors import registry
    from mockvendors.profile import ProfileError, is_named_profile

    if not is_named_profile(name):
        raise ProfileError(f"--mockvendors-profile {name!r}: not a profile set (default, study-2020, "
                           "study-2020/DATASET); to use a file, override the mockvendors_profiles fixture")
    return {v: str(name) for v in registry.names()}


@pytest.fixture(scope="session")
def mock_vendor_servers(mockvendors_gallery: Gallery | str | Path, mockvendors_analyzer: CachingAnalyzer,
                        mockvendors_profiles: dict[str, Any] | None) -> Iterator[dict[str, Endpoint]]:
    """AWS, Azure and Naver mock servers on free loopback ports: {"aws"|"ms"|"nav": Endpoint}."""
    from mockvendors.gallery import resolve_gallery
    from mockvendors.server import MockServers, build_protocols

    gallery = resolve_gallery(mockvendors_gallery, mockvendors_analyzer)
    from harness.vendors import registry

    protocols = build_protocols(registry.names(), gallery, mockvendors_analyzer, mockvendors_profiles)
    with MockServers(protocols, ports={"aws": 0, "ms": 0, "nav": 0}) as servers:
        yield servers.endpoints


@pytest.fixture(scope="session")
def mock_aws_url(mock_vendor_servers: dict[str, Endpoint]) -> str:
    """Base URL of the AWS Rekognition mock (boto3 endpoint_url)."""
    return mock_vendor_servers["aws"].url


@pytest.fixture(scope="session")
def mock_azure_url(mock_vendor_servers: dict[str, Endpoint]) -> str:
    """Base URL of the Azure mock (Computer Vision celebrities and Face)."""
    return mock_vendor_servers["ms"].url


@pytest.fixture(scope="session")
def mock_naver_url(mock_vendor_servers: dict[str, Endpoint]) -> str:
    """Base URL of the Naver CFR mock."""
    return mock_vendor_servers["nav"].url


@pytest.fixture
def mock_rekognition_client(mock_aws_url: str) -> Any:
    """A boto3 Rekognition client pointed at the AWS mock server (no retries)."""
    import boto3
    from botocore.config import Config

    return boto3.client("rekognition", endpoint_url=mock_aws_url, region_name="us-east-1",
                        aws_access_key_id="mock", aws_secret_access_key="mock",
                        config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def mock_rekognition_inprocess(mockvendors_gallery: Gallery | str | Path, mockvendors_analyzer: CachingAnalyzer,
                               mockvendors_profiles: dict[str, Any] | None) -> Iterator[Any]:
    """Every boto3 Rekognition call in the test is answered in-process by the mock."""
    from mockvendors.aws.inprocess import mock_rekognition

    profile = (mockvendors_profiles or {}).get("aws")
    with mock_rekognition(gallery=mockvendors_gallery, profile=profile, analyzer=mockvendors_analyzer) as m:
        yield m
