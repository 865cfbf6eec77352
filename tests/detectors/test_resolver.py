"""One detector abstraction, one resolver from a spec string to a detector, one sim: parser."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from harness.detectors import (
    SIM_SYNTAX,
    Detector,
    DetectorSpecError,
    ImageTruth,
    OnnxDetector,
    SimulatedDetector,
    SimulatedSpec,
    UnknownDetectorError,
    detector_names,
    image_key,
    register_detector_factory,
    resolvable_names,
    resolve_detector,
    spec_detector_name,
)

ROOT = Path(__file__).resolve().parents[2]
TRUTH = {image_key(b"fake"): ImageTruth(True, 1.0), image_key(b"real"): ImageTruth(False)}


def _python_files() -> list[Path]:
    return [p for d in ("harness", "mockvendors", "benchmarks") for p in (ROOT / d).rglob("*.py")]


def test_exactly_one_class_named_detector_in_the_tree():
    found = sorted(str(p.relative_to(ROOT)) for p in _python_files()
                   if re.search(r"^\s*class Detector\b", p.read_text(), re.M))
    assert found == ["harness/detectors/base.py"]


def test_the_sim_spec_is_parsed_in_one_place():
    """The grammar lives in harness/detectors/simulated.py only: no other sim: regex or rate parser."""
    offenders = []
    for p in _python_files():
        if p == ROOT / "harness/detectors/simulated.py":
            continue
        text = p.read_text()
        if "SIM_PATTERN" in text or "def parse_sim_detector" in text or re.search(r"re\.compile\(r?[\"']\^?sim:", text):
            offenders.append(str(p.relative_to(ROOT)))
        if re.search(r"float\(\w+\) for \w+ in \w+\.split\(\",\"\)", text) and "TPR" in text:
            offenders.append(str(p.relative_to(ROOT)))
    assert offenders == [], offenders


@pytest.mark.parametrize("spec, expected", [
    ("sim:good:0.95,0.05", SimulatedSpec("good", 0.95, 0.05, 0.0)),
    ("sim:corr:0.9,0.05,0.8", SimulatedSpec("corr", 0.9, 0.05, 0.8)),
    ("sim:perfect:1,0", SimulatedSpec("perfect", 1.0, 0.0)),
    ("sim:a.b-c_1:0,0", SimulatedSpec("a.b-c_1", 0.0, 0.0)),
])
def test_every_documented_sim_spec_resolves(spec, expected):
    assert SimulatedSpec.parse(spec) == expected
    det = resolve_detector(spec, truth=TRUTH)
    assert isinstance(det, SimulatedDetector) and isinstance(det, Detector)
    assert (det.name, det.tpr, det.fpr, det.correlation) == (expected.name, expected.tpr, expected.fpr,
                                                             expected.correlation)
    assert SimulatedSpec.parse(str(expected)) == expected  # round trip


def test_bare_sim_spec_only_where_allowed():
    assert SimulatedSpec.parse("good:0.95,0.05", bare_ok=True) == SimulatedSpec("good", 0.95, 0.05)
    with pytest.raises(DetectorSpecError):
        SimulatedSpec.parse("good:0.95,0.05")


@pytest.mark.parametrize("bad", ["sim:x:0.9", "sim:x", "sim::0.9,0.1", "sim:x:a,b", "sim:x:0.9,0.1,0.5,1",
                                 "sim:x:1.5,0.1", "sim:x:0.9,-0.1", "sim:x y:0.9,0.1", "nope", "", "sim:x:0.9,0.1,2"])
def test_a_bad_spec_is_a_one_line_error(bad):
    with pytest.raises(DetectorSpecError) as info:
        resolve_detector(bad, truth=TRUTH)
    msg = str(info.value)
    assert "\n" not in msg and repr(bad) in msg
    if not bad.startswith("sim:"):
        assert isinstance(info.value, UnknownDetectorError) and SIM_SYNTAX in msg and "fr_liveness" in msg


def test_spec_detector_name_matches_the_resolved_detector():
    for spec in ("sim:good:0.95,0.05", " sim:corr:0.9,0.05,0.8", "fr_liveness", "spectrum_lr"):
        assert spec_detector_name(spec) == (resolve_detector(spec, truth=TRUTH).name if "sim:" in spec
                                            else spec.strip())
    with pytest.raises(DetectorSpecError):
        spec_detector_name("sim:x:0.9")


def test_sim_spec_without_truth_is_a_clear_error():
    with pytest.raises(DetectorSpecError, match="truth"):
        resolve_detector("sim:good:0.9,0.1")


def test_registered_onnx_names_and_factories_resolve(tmp_path):
    import harness.defense  # noqa: F401 - registers spectrum_lr

    assert set(detector_names()) <= set(resolvable_names()) and "spectrum_lr" in resolvable_names()
    sentinel = SimulatedDetector("made", 0.5, 0.5, {})
    register_detector_factory("test_factory", lambda: sentinel)
    assert resolve_detector("test_factory") is sentinel
    other = SimulatedDetector("other", 0.5, 0.5, {})
    assert resolve_detector("test_factory", factories={"test_factory": lambda: other}) is other
    with pytest.raises(DetectorSpecError):
        register_detector_factory("sim:x", lambda: sentinel)


def test_onnx_registry_name_resolves_to_an_onnx_detector(models):
    det = resolve_detector("fr_liveness")
    assert isinstance(det, OnnxDetector) and isinstance(det, Detector) and det.name == "fr_liveness"


def test_simulate_setting_uses_the_one_parser():
    from harness.simulate.defense import DetectorSetting

    assert DetectorSetting.parse("good:0.95,0.05") == DetectorSetting("good", 0.95, 0.05)
    assert DetectorSetting.parse("sim:corr:0.9,0.05,0.8") == DetectorSetting("corr", 0.9, 0.05, 0.8)
    with pytest.raises(ValueError, match="NAME:TPR,FPR"):
        DetectorSetting.parse("oops")


def _imports(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_layering_of_detectors_and_defense():
    """harness.detectors imports only models, faces, errors, paths (and itself); harness.defense never
    imports the cli, report, jobs or simulate layers (simulate imports defense, one way)."""
    allowed = ("harness.detectors", "harness.models", "harness.faces", "harness.errors", "harness.paths")
    for p in (ROOT / "harness/detectors").rglob("*.py"):
        bad = {m for m in _imports(p) if m.startswith(("harness", "mockvendors")) and not m.startswith(allowed)}
        assert not bad, (p, bad)
    forbidden = ("harness.cli", "harness.report", "harness.jobs", "harness.simulate")
    for p in (ROOT / "harness/defense").rglob("*.py"):
        bad = {m for m in _imports(p) if m.startswith(forbidden)}
        assert not bad, (p, bad)
