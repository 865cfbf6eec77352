"""The named profile set ``study-2020``: fitted behaviour models shipped with the mocks, loadable by every
entry point, and a boto3 client served by ``dfi serve --profile study-2020`` within the profile's ranges."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
import yaml
from botocore.config import Config
from click.testing import CliRunner

from harness.cli.options import profile_choice
from harness.cli.serve import serve
from mockvendors.fitted.model import VendorModel
from mockvendors.profile import (
    NAMED_SETS,
    PiecewiseLinearCalibration,
    ProfileError,
    is_named_profile,
    load_profile,
    named_profile_dict,
)

from support.serve import wait_for_endpoints

VENDORS = ("aws", "ms", "nav")


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_named_profile_carries_its_fitted_model_and_provenance(vendor):
    p = load_profile(vendor, "study-2020")
    assert p.profile_set == "study-2020" and p.source.endswith(f"study-2020/{vendor}.yaml")
    assert isinstance(p.calibration, PiecewiseLinearCalibration)
    model = p.fitted_model()
    assert isinstance(model, VendorModel) and model.vendor == vendor
    prov = model.provenance
    assert prov.fit_date and prov.dfi_version
    if vendor == "nav":  # nothing recorded: fitted to the study's published aggregates
        assert prov.half == "published" and prov.published
    else:
        assert prov.half == "all" and any(f.endswith(".csv") for f in prov.source_files)
    assert p.coverage.rules == () and p.coverage.default == pytest.approx(model.pooled.coverage.share.p, abs=1e-4)
    default = load_profile(vendor)
    assert default.profile_set == "default" and default.fitted_model() is None
    assert load_profile(vendor, "default") == default


def test_the_fitted_model_round_trips_through_yaml():
    model = load_profile("ms", "study-2020").fitted_model()
    assert model is not None
    again = VendorModel.from_dict(yaml.safe_load(yaml.safe_dump(model.to_dict(), allow_unicode=True)))
    assert again == model


def test_one_datasets_behaviour_and_clear_errors():
    pooled, celebdf = load_profile("aws", "study-2020"), load_profile("aws", "study-2020/CelebDF")
    assert celebdf.calibration != pooled.calibration and celebdf.source.endswith("(CelebDF)")
    with pytest.raises(ProfileError, match="no dataset 'Nope'"):
        load_profile("aws", "study-2020/Nope")
    with pytest.raises(ProfileError, match="unknown profile"):
        named_profile_dict("study-1999", "aws")
    assert is_named_profile("study-2020") and is_named_profile("study-2020/FCelebDF") and is_named_profile("default")
    assert not is_named_profile("default/CelebDF") and not is_named_profile("mine.yaml")
    assert set(NAMED_SETS) == {"study-2020"}


def test_profile_flags_parse_sets_and_files_alike():
    assert profile_choice(("study-2020",), VENDORS) == {v: "study-2020" for v in VENDORS}
    assert profile_choice(("study-2020", "ms=mine.yaml"), VENDORS) == {"aws": "study-2020", "ms": "mine.yaml",
                                                                      "nav": "study-2020"}
    r = CliRunner().invoke(serve, ["--profile", "study-2099"])
    assert r.exit_code == 2 and "profile set" in r.output


@pytest.mark.models
@pytest.mark.shared
def test_dfi_serve_study_2020_answers_boto3_and_azure_within_the_profiles_ranges(tmp_path: Path, shared_data: Path):
    (tmp_path / "gallery" / "Barack_Obama").mkdir(parents=True)
    for f in ("obama.jpg", "obama2.jpg"):
        (tmp_path / "gallery" / "Barack_Obama" / f).write_bytes((shared_data / "faces" / f).read_bytes())
    env = dict(os.environ, COLUMNS="200", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", "--gallery", str(tmp_path / "gallery"), "--profile", "study-2020",
         "--aws-port", "0", "--ms-port", "0", "--nav-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    aws, ms = load_profile("aws", "study-2020"), load_profile("ms", "study-2020")
    try:
        ep = wait_for_endpoints(proc)
        rek = boto3.client("rekognition", endpoint_url=ep["DFI_AWS_ENDPOINT_URL"], region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x",
                           config=Config(retries={"total_max_attempts": 1}))
        for photo in ("obama3.jpg", "biden.jpg"):
            r = rek.recognize_celebrities(Image={"Bytes": (shared_data / "faces" / photo).read_bytes()})
            for face in r["CelebrityFaces"]:
                assert aws.report_threshold <= face["MatchConfidence"] <= 100.0
            assert len(r["CelebrityFaces"]) + len(r["UnrecognizedFaces"]) == 1
        named = rek.recognize_celebrities(Image={"Bytes": (shared_data / "faces/obama3.jpg").read_bytes()})
        assert [f["Name"] for f in named["CelebrityFaces"]] == ["Barack Obama"]  # a genuine photo, as fitted
        r = requests.post(ep["DFI_AZURE_VISION_ENDPOINT"] + "/vision/v3.2/models/celebrities/analyze",
                          data=(shared_data / "faces/obama3.jpg").read_bytes(),
                          headers={"Ocp-Apim-Subscription-Key": "k", "Content-Type": "application/octet-stream"})
        for c in r.json()["result"]["celebrities"]:
            assert ms.report_threshold <= c["confidence"] <= 1.0
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
