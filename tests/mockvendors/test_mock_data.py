"""Mock vendors: the test gallery built from real photos (tests/support/mock_data.py), profiles,
calibrations, gallery files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InputFileError
from harness.vendors import registry
from mockvendors.analysis import CachingAnalyzer
from mockvendors.gallery import Gallery, GalleryError, Identity, stable_id
from mockvendors.profile import (
    Coverage,
    CoverageRule,
    LogisticCalibration,
    PiecewiseLinearCalibration,
    ProfileError,
    calibration_from_dict,
    load_profile,
    profile_from_dict,
    profile_to_dict,
)

from support.mock_data import build_gallery


@pytest.fixture(scope="module")
def gallery(shared_data: Path, mockvendors_analyzer: CachingAnalyzer) -> Gallery:
    return build_gallery(shared_data, mockvendors_analyzer)


# --- profiles and calibrations (no model needed) ------------------------------------------------

def test_default_profiles_load_and_round_trip():
    for v in registry.names():
        p = load_profile(v)
        again = profile_from_dict(profile_to_dict(p), p.source)
        assert again == p
    assert load_profile("aws").report_threshold == 55 and load_profile("aws").scale == 100
    assert load_profile("ms").report_threshold == 0.70 and load_profile("ms").similarity.threshold == 0.5
    assert load_profile("nav").always_name_best and load_profile("nav").similarity is None
    assert load_profile("aws").similarity.threshold == 80


def test_profile_override_file_and_errors(tmp_path: Path):
    f = tmp_path / "aws.yaml"
    f.write_text("report_threshold: 70\nfaults: {tps: 3}\n"
                 "calibration: {kind: piecewise_linear, knots: [[0, 0], [1, 1]]}\n")
    p = load_profile("aws", f)
    assert p.report_threshold == 70 and p.faults.tps == 3 and p.faults.error_rate == 0
    assert isinstance(p.calibration, PiecewiseLinearCalibration)
    (tmp_path / "bad.yaml").write_text("scale: [\n")
    with pytest.raises(InputFileError, match="bad.yaml"):
        load_profile("aws", tmp_path / "bad.yaml")
    with pytest.raises(ProfileError, match="not 'aws'"):
        load_profile("aws", {"vendor": "ms"})
    with pytest.raises(ProfileError, match="strictly increasing"):
        calibration_from_dict({"kind": "piecewise_linear", "knots": [[0.5, 0], [0.1, 1]]})
    with pytest.raises(ProfileError, match="unknown calibration"):
        calibration_from_dict({"kind": "magic"})
    with pytest.raises(ProfileError):
        load_profile("nope")
    for bad, words in (({"report_threshold": 150}, "report_threshold must be within 0..100"),
                       ({"scale": 0}, "scale must be > 0"),
                       ({"similarity": {"threshold": float("nan")}}, "similarity.threshold")):
        with pytest.raises(ProfileError, match=words):
            load_profile("aws", bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(-1, 1, allow_subnormal=False), min_size=2, max_size=50), st.sampled_from(registry.names()))
def test_calibrations_are_monotone_and_in_scale(cosines: list[float], vendor: str):
    p = load_profile(vendor)
    c = np.sort(np.asarray(cosines))
    conf = p.confidence(c)
    assert np.all(np.diff(conf) >= -1e-12)
    assert np.all((conf >= 0) & (conf <= p.scale))
    if p.similarity:
        s = p.similarity.calibration(c) * p.similarity.scale
        assert np.all(np.diff(s) >= -1e-12) and np.all((s >= 0) & (s <= p.similarity.scale))


def test_logistic_inverse_matches_documented_thresholds():
    aws = load_profile("aws").calibration
    assert isinstance(aws, LogisticCalibration)
    assert 0.40 < aws.inverse(0.55) < 0.44  # the cosine at which AWS starts naming
    assert aws.to_dict() == calibration_from_dict(aws.to_dict()).to_dict()


def test_coverage_rules_are_deterministic_fractions():
    cov = Coverage((CoverageRule({"region": "east-asia"}, 0.5),), default=1.0)
    ids = [stable_id(f"person {i}") for i in range(400)]
    known = [cov.knows("aws", i, {"region": "east-asia"}) for i in ids]
    assert known == [cov.knows("aws", i, {"region": "East-Asia"}) for i in ids]
    assert 0.4 < np.mean(known) < 0.6
    assert all(cov.knows("aws", i, {}) for i in ids)


def test_stable_ids_are_aws_shaped():
    assert stable_id("Barack Obama") == stable_id(" barack obama ")
    assert stable_id("Barack Obama") != stable_id("Joe Biden")
    assert stable_id("x").isalnum() and len(stable_id("x")) == 8


# --- gallery ------------------------------------------------------------------------------------

def test_gallery_holdout_on_synthetic_embeddings():
    rng = np.random.default_rng(1)
    e = rng.normal(size=(3, 8)).astype(np.float32)
    g = Gallery([Identity("A", "a"), Identity("B", "b")], e, np.array([0, 0, 1]), ["s1", "s2", "s3"])
    cos = g.identity_cosines(e[0])
    assert cos[0, 0] == pytest.approx(1.0, abs=1e-6)
    held = g.identity_cosines(e[0], exclude_sha256="s1")
    assert held[0, 0] < 0.99  # only the other photo of A is left
    assert np.isneginf(g.identity_cosines(e[2], exclude_sha256="s3")[0, 1])
    g.holdout = False
    assert g.identity_cosines(e[0], exclude_sha256="s1")[0, 0] == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(GalleryError, match="dimensions"):
        g.identity_cosines(np.ones(4))


def _best_photo_reference(probes: np.ndarray, photos: np.ndarray, owner: np.ndarray, identities: int,
                          masked: list[int], among: np.ndarray | None) -> np.ndarray:
    """Best cosine per identity in float64, one identity at a time (independent of the gallery's plans)."""
    p = probes / np.linalg.norm(probes, axis=1, keepdims=True)
    e = photos / np.linalg.norm(photos, axis=1, keepdims=True)
    sims = p @ e.T
    sims[:, masked] = -np.inf
    out = np.full((len(p), identities), -np.inf)
    for i in range(identities):
        if (owner == i).any() and (among is None or among[i]):
            out[:, i] = sims[:, owner == i].max(axis=1)
    return out


@settings(max_examples=40)
@given(counts=st.lists(st.integers(0, 4), min_size=1, max_size=9), equal=st.booleans(), seed=st.integers(0, 2**16),
       rows=st.sampled_from([1, 3, 511, 513, 1100]), use_mask=st.booleans(), hold=st.integers(0, 3))
def test_identity_cosines_match_a_float64_reference(counts, equal, seed, rows, use_mask, hold):
    """Every product plan (photo-major for equal photo counts, reduceat otherwise; an identity mask;
    held-out photos; more rows than one product block) gives each identity's best photo."""
    rng = np.random.default_rng(seed)
    counts = [max(counts[0], 1)] * len(counts) if equal else counts
    if not sum(counts):
        counts[0] = 1
    owner = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    photos = rng.normal(size=(len(owner), 12)).astype(np.float32)
    shas = [f"s{i}" for i in range(len(owner))]
    gallery = Gallery([Identity(f"n{i}", f"id{i}") for i in range(len(counts))], photos, owner, shas)
    among = rng.random(len(counts)) < 0.6 if use_mask else None
    held = sorted(rng.choice(len(owner), size=min(hold, len(owner)), replace=False).tolist())
    probes = rng.normal(size=(rows, 12))
    got = gallery.identity_cosines(probes, [shas[i] for i in held] or None, among=among)
    want = _best_photo_reference(probes, photos.astype(np.float64), owner, len(counts), held, among)
    assert got.shape == want.shape
    assert np.array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    assert np.abs(got[finite] - want[finite]).max(initial=0.0) < 1e-5


def test_a_probes_cosines_do_not_depend_on_what_else_is_asked_with_it():
    """A float32 product rounds differently for 1 row and for 2-16 rows (about 1e-7): a face's answer
    must not change with the other faces of the same call (an HTTP request, a fast-path batch, a shard)."""
    rng = np.random.default_rng(7)
    photos = rng.normal(size=(60, 192)).astype(np.float32)
    gallery = Gallery([Identity(f"n{i}", f"id{i}") for i in range(12)], photos, np.repeat(np.arange(12), 5),
                      [f"s{i}" for i in range(60)])
    probes = rng.normal(size=(1100, 192)).astype(np.float32)
    alone = gallery.identity_cosines(probes[:1])
    for n in (2, 3, 16, 511):
        assert np.array_equal(gallery.identity_cosines(probes[:n])[:1], alone), n
    # whole blocks of PRODUCT_ROWS rows: the same numbers in whatever whole blocks they are asked
    blocks = gallery.identity_cosines(probes[:1024])
    assert np.array_equal(gallery.identity_cosines(probes[512:1024]), blocks[512:])


def test_identity_mask_must_fit_the_gallery():
    g = Gallery([Identity("A", "a"), Identity("B", "b")], np.eye(2, dtype=np.float32), np.array([0, 1]), ["s1", "s2"])
    with pytest.raises(GalleryError, match="identity mask"):
        g.identity_cosines(np.ones(2), among=np.ones(3, dtype=bool))


def test_gallery_files_round_trip_and_bad_files(tmp_path: Path):
    rng = np.random.default_rng(2)
    e = rng.normal(size=(3, 8)).astype(np.float32)
    g = Gallery([Identity("A", "a", {"gender": "female"}, ("u",)), Identity("B", "b")], e, np.array([1, 0, 1]),
                ["s1", "s2", "s3"], "model-x")
    for suffix in (".npz", ".json"):
        back = Gallery.load(g.save(tmp_path / f"g{suffix}"))
        assert back.identities == g.identities and back.model_id == "model-x"
        np.testing.assert_allclose(back.embeddings, g.embeddings, atol=1e-6)
        assert back.image_sha256 == g.image_sha256
    (tmp_path / "bad.json").write_text(json.dumps({"identities": [{"name": "A"}]}))
    with pytest.raises(InputFileError, match="bad.json"):
        Gallery.load(tmp_path / "bad.json")
    (tmp_path / "g.txt").write_text("x")
    with pytest.raises(InputFileError, match="npz or .json"):
        Gallery.load(tmp_path / "g.txt")
    with pytest.raises(InputFileError, match="not found"):
        Gallery.load(tmp_path / "missing.npz")


@pytest.mark.models
@pytest.mark.shared
def test_enrol_from_folder_per_name(tmp_path: Path, shared_data: Path, mockvendors_analyzer: CachingAnalyzer):
    for name, files in {"Barack_Obama": ["obama.jpg", "obama2.jpg"], "Joe Biden": ["biden.jpg"]}.items():
        (tmp_path / name).mkdir()
        for f in files:
            (tmp_path / name / f).write_bytes((shared_data / "faces" / f).read_bytes())
    (tmp_path / "Empty").mkdir()
    (tmp_path / "gallery.yaml").write_text("identities:\n  Joe Biden: {id: JB1, tags: {gender: male}}\n")
    g = Gallery.from_folder(tmp_path, mockvendors_analyzer)
    assert [i.name for i in g.identities] == ["Barack Obama", "Joe Biden"]
    assert g.identities[1].id == "JB1" and g.identities[1].gender == "Male"
    assert len(g.embeddings) == 3 and g.dim == 512
    with pytest.raises(InputFileError, match="no <name>/ sub-folders"):
        Gallery.from_folder(tmp_path / "Empty", mockvendors_analyzer)


@pytest.mark.models
@pytest.mark.shared
def test_test_gallery_enrols_every_identity(gallery: Gallery):
    names = {i.name for i in gallery.identities}
    assert {"Barack Obama", "Satya Nadella", "Emma Stone", "Will Smith"} <= names
    assert len(gallery.embeddings) == len(gallery.identities) + 1  # Obama has two photos
