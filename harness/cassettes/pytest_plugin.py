"""pytest fixtures for cassettes in an application's tests (with pytest-recording).

- ``dfi_vcr_config`` - the ``vcr_config`` preset (:func:`harness.cassettes.vcr_config.recording_config`):
  dfi's matcher, secret and image filters, repeats allowed, record mode left to ``--record-mode``.
  Use it in your ``conftest.py``::

      @pytest.fixture(scope="module")
      def vcr_config(dfi_vcr_config):
          return dfi_vcr_config

- ``pytest_recording_configure`` registers the ``vendor_image`` matcher on pytest-recording's VCR
  and wraps its persister (:class:`harness.cassettes.persister.VerifyingPersister`): each
  interaction is saved with its digest, and a damaged cassette is a one-line error, not an answer.

Loaded by the ``mockvendors`` plugin (``pytest_plugins``); without pytest-recording the hook is
never called and the fixture is merely unused.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookimpl(optionalhook=True)
def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """pytest-recording built its VCR: register dfi's ``vendor_image`` matcher and verifying persister on it."""
    from harness.cassettes.vcr_config import register

    register(vcr)


@pytest.fixture(scope="session")
def dfi_vcr_config() -> dict[str, Any]:
    """pytest-recording ``vcr_config``: dfi's matcher, filters and secret scrubbing (no record mode:
    ``--record-mode once`` records with credentials, the default ``none`` replays with none)."""
    from harness.cassettes.vcr_config import recording_config

    return recording_config()
