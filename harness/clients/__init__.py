"""Clients for the real vendor services (AWS Rekognition via boto3, Azure and Naver via requests).

Each client reads its credentials and endpoint from environment variables (see :mod:`.config`),
limits its own request rate (:mod:`.ratelimit`), retries throttling and 5xx answers with
exponential backoff and jitter (:mod:`.retry`) and raises typed :class:`~harness.vendors.base.VendorError`
subclasses. The same code runs against the project's mock servers by overriding the endpoint.
"""

from harness.clients.config import MissingCredentialError

__all__ = ["MissingCredentialError"]
