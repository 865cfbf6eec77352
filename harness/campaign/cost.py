"""What a campaign against the real services would cost, from the vendors' published prices.

Prices are US dollars per 1,000 calls at the first volume tier, as published on the vendors'
pricing pages (checked for this project; they change, so treat the estimate as indicative):

* AWS Rekognition Image, Group 2 APIs (RecognizeCelebrities, CompareFaces, ...): $1.00 per 1,000
  images for the first 1 million per month (aws.amazon.com/rekognition/pricing).
* Azure AI Vision (Computer Vision) S1, "Analyze"-type transactions incl. the celebrities domain
  model: $1.00 per 1,000 for 0-1M (azure.microsoft.com/pricing/details/cognitive-services/computer-vision).
* Azure AI Face S0, Face detect/verify/find-similar: $1.00 per 1,000 for 0-1M
  (azure.microsoft.com/pricing/details/cognitive-services/face-api). A similarity needs a Face
  detect of each image (for the faceIds) plus the find-similar/verify call; the estimate counts two
  detects per similarity, an upper bound (a faceId still live is reused by the client).
* Naver Clova Face Recognition (CFR): the public Naver Developers endpoint was free within a daily
  quota (1,000 calls/day) and has been shut down; we found no current published per-call price, so
  NAV's cost is reported as unknown (None), not as zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.vendors import registry


def price_per_1000(vendor: str, operation: str) -> float | None:
    """The vendor's published price (registry ``price_per_1000_usd``); None when unknown."""
    return registry.get(vendor).price_per_1000_usd.get(operation)

NAV_FREE_QUOTA_PER_DAY = 1000


@dataclass(frozen=True)
class CostLine:
    vendor: str
    operation: str
    calls: int
    price_per_1000: float | None

    @property
    def dollars(self) -> float | None:
        return None if self.price_per_1000 is None else self.calls * self.price_per_1000 / 1000


def estimate_cost(calls: dict[tuple[str, str], int], ms_detect_images: int = 0) -> list[CostLine]:
    """``calls``: (vendor, operation) -> number of calls still to make (cache hits excluded)."""
    lines = []
    for (vendor, op), n in sorted(calls.items()):
        if n:
            lines.append(CostLine(vendor, op, n, price_per_1000(vendor, op)))
    if ms_detect_images:
        lines.append(CostLine("ms", "face_detect", ms_detect_images, price_per_1000("ms", "face_detect")))
    return lines


def total_dollars(lines: list[CostLine]) -> tuple[float, bool]:
    """Sum of the known prices, and whether some part is unknown."""
    known = sum(line.dollars or 0.0 for line in lines)
    return known, any(line.dollars is None for line in lines)
