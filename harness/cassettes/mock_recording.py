"""Record cassettes from the project's own mock servers (provenance ``mock-recorded``).

The gallery is enrolled from photos in the study's shared data (``faces/``: one Obama photo and
the Biden photo; ``paper-samples/CelebFOM``: each ``NAME_real.png`` as NAME); the recorded calls
are the other photos of those folders, sent unmodified (no crop), so their bytes - and so the
cassette's sha256 keys - are the same on every machine. The cassettes hold answers of the MOCK
vendors: they test replay and comparison end to end and say nothing about the real services.

Run: ``python -m harness.cassettes.mock_recording [SHARED_DATA] [OUT_DIR]``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from harness.paths import shared_data_dir


@dataclass(frozen=True)
class RecordingPlan:
    gallery: dict[str, list[Path]]  # name -> enrolment photos
    recognize: list[Path]  # images to recognize
    pairs: list[tuple[Path, Path]]  # (real target, deepfake) similarity calls


def default_plan(shared: Path) -> RecordingPlan:
    faces = shared / "faces"
    fom = shared / "paper-samples" / "CelebFOM"
    gallery: dict[str, list[Path]] = {"Barack Obama": [faces / "obama.jpg"], "Joe Biden": [faces / "biden.jpg"]}
    reals = sorted(fom.glob("*_real.png"))
    for p in reals:
        gallery[p.name.removesuffix("_real.png")] = [p]
    fakes = sorted(fom.glob("*_fake.png"))
    recognize = [faces / "obama2.jpg", faces / "obama3.jpg", faces / "obama.jpg", faces / "biden.jpg", *reals, *fakes]
    pairs = [(faces / "obama2.jpg", faces / "obama3.jpg"), (faces / "obama2.jpg", faces / "biden.jpg")]
    pairs += [(r, f) for r in reals[:2] for f in fakes[:2]]
    return RecordingPlan(gallery, recognize, pairs)


@contextmanager
def mock_servers(
    gallery_photos: dict[str, list[Path]], vendors: Sequence[str], faults=None
) -> Iterator[dict[str, str]]:  # noqa: ANN001
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.gallery import Gallery
    from mockvendors.server import MockServers, build_protocols

    def build():  # noqa: ANN202
        analyzer = CachingAnalyzer(PipelineAnalyzer())
        gallery = Gallery.enrol(gallery_photos, analyzer)
        return build_protocols(vendors, gallery, analyzer)

    # onnxruntime sets flush-to-zero on the thread that runs a model; keep the caller's thread clean
    with ThreadPoolExecutor(1) as pool:
        protocols = pool.submit(build).result()
    with MockServers(protocols, ports={v: 0 for v in vendors}, faults=faults or {}) as servers:
        yield {v: servers.endpoints[v].url for v in vendors}


def record(vendor: str, url: str, out: Path, plan: RecordingPlan, note: str, tps: float = 1000.0) -> dict[str, int]:
    from harness.cassettes.backend import CassetteVendor
    from harness.vendors import registry
    from harness.vendors.base import VendorError

    spec = registry.get(vendor)
    env = {**spec.load("placeholder_env")(url), f"{spec.env_prefix}_TPS": str(tps), "DFI_MAX_ATTEMPTS": "6"}
    meta = {
        "provenance": "mock-recorded",
        "recorded_from": "the project's mock servers (mockvendors), not the real service",
        "note": note,
    }
    counts = {"answers": 0, "errors": 0}
    with mock.patch.dict(os.environ, env):
        with CassetteVendor(vendor, out, record=True, metadata=meta) as backend:
            for p in plan.recognize:
                try:
                    backend.recognize(p.read_bytes())
                    counts["answers"] += 1
                except VendorError:
                    counts["errors"] += 1
            if backend.supports_similarity:
                for a, b in plan.pairs:
                    try:
                        backend.similarity(a.read_bytes(), b.read_bytes())
                        counts["answers"] += 1
                    except VendorError:
                        counts["errors"] += 1
    return counts


def main(argv: list[str]) -> None:
    from mockvendors.profile import Faults

    shared = Path(argv[0]) if argv else shared_data_dir()
    out_dir = Path(argv[1]) if len(argv) > 1 else Path("cassettes/mock-recorded")
    if shared is None:
        raise SystemExit("../shared/data not found; pass its path")
    plan = default_plan(shared)
    gallery_note = "gallery: " + "; ".join(f"{k} <- {', '.join(p.name for p in v)}" for k, v in plan.gallery.items())
    from harness.vendors import registry

    with mock_servers(plan.gallery, registry.names()) as urls:
        for v in registry.names():
            out = out_dir / f"{v}.yaml"
            out.unlink(missing_ok=True)
            print(v, record(v, urls[v], out, plan, gallery_note))
    # throttling mid-campaign: the MS mock server limited to 2 requests/s while the client sends faster
    with mock_servers(plan.gallery, ("ms",), faults={"ms": Faults(tps=2.0)}) as urls:
        out = out_dir / "throttled" / "ms.yaml"
        out.unlink(missing_ok=True)
        small = RecordingPlan(plan.gallery, plan.recognize[:6], [])
        print(
            "ms throttled",
            record(
                "ms", urls["ms"], out, small, gallery_note + "; mock server fault injection: tps=2 (429 + Retry-After)"
            ),
        )


if __name__ == "__main__":
    main(sys.argv[1:])
