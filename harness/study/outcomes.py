"""Whom a deepfake is named as, when the vendor names someone (:func:`outcome_split`).

Among the valid deepfakes a vendor names (its NA successes), per dataset x vendor and pooled:

* ``target`` -- named as the target: the TA successes under the definitions in force;
* ``reference`` -- otherwise named as the reference person, the other celebrity the deepfake was
  made from (CelebDF: the person of the source video; CelebFOM: the driving celebrity). The
  reference's name is the one the vendor gives that person's real images in the dataset (the
  most frequent, ties alphabetically), or its label when the vendor has no named answer on a real
  image of that person; under ``ta_against="label"`` it is the label;
* ``other`` -- named as anyone else.

The three counts add up to the NA count. FCelebDF and VoxCelebTH record no reference person (their
``Tar`` column is a clip or frame number), and a CelebBlend deepfake has two targets and no
reference (naming either blended celebrity is a TA success): for those ``reference_recorded`` is
false and ``reference`` is 0. Shares are percentages of the NA count, with 95% Wilson intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.metrics.probes import ProbeArrays
from harness.metrics.wilson import wilson_interval
from harness.study.data import ALL_DATASETS
from harness.study.definitions import StudyDefinitions
from harness.study.grid import study_order

OUTCOMES = ("target", "reference", "other")
COLUMNS: tuple[str, ...] = (
    "dataset", "vendor", "na", "reference_recorded",
    *(f"{o}{suffix}" for o in OUTCOMES for suffix in ("", "_share", "_ci_low", "_ci_high")),
)


def vendor_names_for_people(table: pd.DataFrame) -> pd.DataFrame:
    """(dataset, vendor, person) -> the name the vendor gives that person's real images most often."""
    real = table.drop_duplicates(["dataset", "vendor", "real_image"])
    real = real[real["real_name"] != ""]
    counts = real.groupby(["dataset", "vendor", "real_person", "real_name"]).size().rename("n").reset_index()
    counts = counts.sort_values(["dataset", "vendor", "real_person", "n", "real_name"],
                                ascending=[True, True, True, False, True])
    best = counts.drop_duplicates(["dataset", "vendor", "real_person"])
    return best.rename(columns={"real_person": "person", "real_name": "name"})[["dataset", "vendor", "person", "name"]]


def reference_names(table: pd.DataFrame, definitions: StudyDefinitions) -> np.ndarray:
    """Per row: the name that counts as the reference person's ("" where there is no reference)."""
    labels = table["ref_label"].astype(str)
    if definitions.ta_against == "label":
        return labels.to_numpy(dtype=object)
    names = vendor_names_for_people(table)
    looked_up = table[["dataset", "vendor"]].assign(person=labels).merge(
        names, on=["dataset", "vendor", "person"], how="left")["name"]
    return np.where(looked_up.notna().to_numpy(), looked_up.to_numpy(dtype=object), labels.to_numpy(dtype=object))


def outcome_split(table: pd.DataFrame, definitions: StudyDefinitions) -> pd.DataFrame:
    """Counts and shares of the NA successes named as target / reference / someone else."""
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    pooled = table.assign(dataset=ALL_DATASETS)
    frames = []
    for part in (table, pooled):
        probes = ProbeArrays.from_frame(part, ["dataset", "vendor"])
        ref = reference_names(part, definitions)
        has_ref = ref != ""
        as_ref = probes.named & ~probes.ta & has_ref & (part["fake_name"].to_numpy(dtype=object) == ref)
        counts = probes.count_many({
            "na": probes.named, "target": probes.ta, "reference": as_ref,
            "recorded": probes.valid & has_ref,
        })
        out = probes.keys.reset_index(drop=True).copy()
        out["na"] = counts["na"]
        out["reference_recorded"] = counts["recorded"] > 0
        out["target"] = counts["target"]
        out["reference"] = counts["reference"]
        out["other"] = counts["na"] - counts["target"] - counts["reference"]
        frames.append(out)
    split = pd.concat(frames, ignore_index=True)
    na = split["na"].to_numpy(dtype=float)
    for outcome in OUTCOMES:
        k = split[outcome].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            split[f"{outcome}_share"] = np.where(na > 0, 100.0 * k / na, np.nan)
        low, high = wilson_interval(k, na)
        split[f"{outcome}_ci_low"], split[f"{outcome}_ci_high"] = 100.0 * low, 100.0 * high
    return study_order(split[list(COLUMNS)], ["dataset", "vendor"])
