"""``dfi defend --executor ray``: the detectors as a Ray Data stage give the in-process scores,
error counts and tables exactly, and nothing is scored again in the driver after the stage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.campaign import CampaignOptions
from harness.datasets.probe import Probe
from harness.distributed.cluster import RaySettings, RayUnavailableError

from support.campaign_doubles import ScriptedVendor, noise_png

SPECS = ["fr_liveness", "spectrum_lr", "sim:s:0.8,0.2,0.5"]


@pytest.fixture(scope="module")
def demo(models):
    from harness.datasets.demo import demo_dataset
    from harness.jobs.run import demo_gallery

    d = demo_dataset()
    return d, demo_gallery(d)


def _distinct_targets(probes: list[Probe], n: int) -> list[Probe]:
    out: list[Probe] = []
    for p in probes:
        if p.target not in {q.target for q in out} and len(p.target_images) == 1:
            out.append(p)
    return out[:n]


@pytest.fixture(scope="module")
def image_probes(demo, tmp_path_factory) -> list[Probe]:
    """Four demo probes (faces) and two whose deepfake no detector can score: a noise image (no face
    for fr_liveness and spectrum_lr) and bytes that are no image at all (the guard cannot decode them)."""
    dataset, _ = demo
    root = tmp_path_factory.mktemp("unscorable")
    faces = _distinct_targets(dataset.probes(), 4)
    reals = sorted((Path(dataset.root) / "real").glob("*.png"))
    corrupt = root / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n but not an image")
    odd = [Probe("noise", "odd", "replacement", str(noise_png(root / "noise.png", 7, size=64)), "Noise Target",
                 (str(reals[-1]),), ("R",)),
           Probe("corrupt", "odd", "replacement", str(corrupt), "Corrupt Target", (str(reals[-2]),), ("R",))]
    return faces + odd


def _scripted() -> dict[str, ScriptedVendor]:
    return {v: ScriptedVendor(v, similarity=(v != "nav")) for v in ("aws", "ms", "nav")}


def _count_driver_scoring(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every detector score computed in this process (the Ray actors are other processes)."""
    from harness.defense.trained_detector import SpectrumDetector
    from harness.detectors import OnnxDetector, SimulatedDetector

    calls: list[str] = []
    for cls in (OnnxDetector, SpectrumDetector, SimulatedDetector):
        original = cls.score

        def counted(self, image, _original=original):  # noqa: ANN001, ANN202
            calls.append(self.name)
            return _original(self, image)

        monkeypatch.setattr(cls, "score", counted)
    return calls


def test_ray_stage_gives_the_in_process_scores_and_error_counts(local_ray, image_probes, tmp_path, monkeypatch):
    from harness.defense.campaign import run_defense
    from harness.distributed.detect import RayDetectorScorer

    opts = CampaignOptions(crop=False)  # the odd images reach the detectors as they are
    calls = _count_driver_scoring(monkeypatch)
    local = run_defense(image_probes, _scripted(), tmp_path / "local", SPECS, options=opts)
    assert calls  # the in-process run scores here
    calls.clear()
    scorer = RayDetectorScorer(RaySettings(address=local_ray.address, workers=2))
    on_ray = run_defense(image_probes, _scripted(), tmp_path / "ray", SPECS, options=opts, score_images=scorer)
    assert calls == []  # the stage scored everything; the policies and DD3's training only read it

    # bit-identical scores, and the same failures counted the same way (not in the same order: images a
    # detector first meets in a policy's campaign are scored in the order the campaign's threads ask)
    assert on_ray.scores == local.scores
    assert on_ray.raw_scores == local.raw_scores
    assert on_ray.detector_errors == local.detector_errors
    assert local.detector_errors.get("fr_liveness", 0) >= 2  # the noise image and the corrupt bytes
    noise = local.keys["noise"].fake
    assert noise is not None and noise not in local.scores["fr_liveness"]
    # the tables, and every policy's rows (the unscorable images' error rows and their messages)
    assert on_ray.table().equals(local.table())
    assert [o.policy.name for o in on_ray.outcomes] == [o.policy.name for o in local.outcomes]
    for a, b in zip(on_ray.outcomes, local.outcomes, strict=True):
        assert a.after.equals(b.after), a.policy.name
    errors = next(o.after for o in local.outcomes if o.policy.name == "DD1[fr_liveness]")["fake_error"]
    assert errors.str.contains("cannot screen this image").sum() >= 2 * 3  # two images x three vendors


def test_measure_defense_on_ray_writes_the_local_files(local_ray, demo, tmp_path):
    from harness.datasets.manifest import write_manifest
    from harness.jobs.defend import measure_defense

    dataset, gallery = demo
    manifest = tmp_path / "probes.jsonl"
    write_manifest(_distinct_targets(dataset.probes(), 3), manifest)
    # the jobs' path (executor parsing, the files written) with one cheap detector: DD1 only (the
    # network detectors, DD2 and DD3 over stage scores: the test above)
    common = dict(dataset=manifest, gallery=gallery, detectors=[SPECS[-1]], ensemble=[])
    local = measure_defense(**common, out_dir=tmp_path / "local")
    on_ray = measure_defense(**common, out_dir=tmp_path / "ray", executor=f"ray={local_ray.address}", workers=1)
    for name in ("defense.csv", "table2.csv"):
        assert (on_ray.out_dir / name).read_bytes() == (local.out_dir / name).read_bytes(), name
    assert on_ray.detector_errors == local.detector_errors


def test_without_ray_defend_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as when it is not installed
    from harness.cli import cli

    result = CliRunner().invoke(cli, ["defend", "--executor", "ray"])
    assert result.exit_code != 0 and isinstance(result.exception, RayUnavailableError)
    run = CliRunner().invoke(cli, ["run", "--executor", "ray", "--no-progress"])
    assert str(result.exception) == str(run.exception)
    assert "\n" not in str(result.exception) and "pip install 'dfi[ray]'" in str(result.exception)
