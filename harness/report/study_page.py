"""The study reproduction's Markdown pages: one per table family and ``study.md`` holding them all.

``study.md`` is the docs page the issue asks for: every number the command computes, each with its
counts, its interval where it is a rate, and the definitions it rests on.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.metrics.meta import METRICS
from harness.report.study import (
    attributes_md,
    confidence_md,
    coverage_md,
    definitions_md,
    frames_md,
    grid_md,
    identities_md,
    metric_legend,
    outcomes_md,
    per_celebrity_md,
    sources_md,
)
from harness.study.data import StudyData, dataset_order


def figure_groups(grid: pd.DataFrame) -> tuple[list[str], pd.DataFrame]:
    """The figure's groups along the axis (datasets, the VoxCelebTH files, the pooled row) and the grid
    records with ``dataset`` set to those labels."""
    labels = [f"{d} {s.removeprefix('Results_').removesuffix('.csv')}" if s else d
              for d, s in zip(grid["dataset"], grid["subset"])]
    records = grid.assign(dataset=labels)
    return list(dict.fromkeys(records["dataset"])), records


def _section(title: str, intro: str, body: str, definitions: str) -> str:
    return f"## {title}\n\n{intro}\n\n_Definitions: {definitions}._\n\n{body}\n"


def study_page(*, data: StudyData, grid: pd.DataFrame, outcomes: pd.DataFrame, per_celebrity: pd.DataFrame,
               identities: pd.DataFrame, confidence: pd.DataFrame, frames: Any, attributes: pd.DataFrame | None,
               command: str, figure: str) -> dict[str, str]:
    """file name -> Markdown: ``grid.md``, ``outcomes.md``, ..., and ``study.md`` with all of them."""
    d = data.definitions
    short = d.short()
    top = d.top_names
    empty_fake = sum(f.empty_fake_answers for f in data.summary.files)
    sections: dict[str, str] = {}
    sections["grid.md"] = _section(
        "The result grid",
        "TA, NA, DHF, DHC, DHS and SIC per dataset x vendor, as `value [95% Wilson interval] numerator/denominator` "
        "(percent). VoxCelebTH is shown pooled and per recorded file; *All datasets* pools every probe of a vendor "
        "(SIC counts a celebrity who is a target in two datasets once).\n\n"
        "### On the study's denominators\n\n" + metric_legend("study"),
        grid_md(grid, "study") + "\n\n### As shares of all valid probes\n\n" + metric_legend("all") + "\n\n"
        + grid_md(grid, "all") + f"\n\n![The six metrics per dataset and vendor]({figure})", short)
    sections["outcomes.md"] = _section(
        "Whom the vendor names a deepfake as",
        "Among the deepfakes a vendor names (its NA successes): named as the target (the TA successes), as the "
        "reference person the deepfake was made from (CelebDF: the source video's person; CelebFOM: the driver) "
        "or as someone else; `share [95% Wilson interval] count/NA`. *not recorded*: the files name no reference "
        "person (FCelebDF, VoxCelebTH) or both people are targets (CelebBlend).",
        outcomes_md(outcomes), short)
    per_dataset = "\n\n".join(f"### {ds}\n\n" + per_celebrity_md(per_celebrity, ds)
                              for ds in dataset_order(per_celebrity["dataset"]))
    sections["per_celebrity.md"] = _section(
        "Per-celebrity tables",
        "The layout of the study's appendix, rounded to integers: *Reference* = mean confidence of the vendor's "
        "named answers on the celebrity's real images (each real image once), *Target* = mean confidence of its "
        "named answers on the celebrity's deepfakes, *Similarity* = mean similarity over the celebrity's probes "
        "with a score, *n* = probes; – where undefined. *Average* is the mean of the rows above. "
        + ("CelebFOM rows are keyed by the celebrity whose clip drives the animation (the study's key)."
           if d.celebrity_key == "study" else "Every row is keyed by the target."),
        per_dataset, short)
    sections["identities.md"] = _section(
        "Most-named identities",
        f"The {top} names each vendor gives most often, to deepfakes (each deepfake once) and to real images "
        "(each real image once), with their share of the named answers; *in dataset* says whether the name is "
        "one of the dataset's own celebrities. `identities.csv` lists every name.",
        identities_md(identities, top), short)
    sections["confidence.md"] = _section(
        "Confidence of named answers",
        "Statistics of the confidences (0-100) of the answers that name someone, per dataset x vendor, for "
        "deepfakes and for real images (each real image once); quartiles by linear interpolation.",
        confidence_md(confidence), short)
    thresholds = ", ".join(f"{k}: {v:g}" for k, v in sorted(frames.thresholds.items()))
    sections["frames.md"] = _section(
        "Multi-frame aggregation",
        "Where a file's rows are frames of one video, consecutive frames are cut into windows of k; a window "
        "names the celebrity with the highest mean confidence over its k frames (0 for a frame that did not "
        f"give that name) when that mean reaches the vendor's reporting threshold ({thresholds}); its similarity "
        "is the mean of its frames' scores. An incomplete last window is dropped. k = 1 is the per-frame result.\n\n"
        "### Which files identify a video and a frame\n\n" + coverage_md(frames.coverage),
        frames_md(frames.records, METRICS), short)
    if attributes is not None:
        sections["attributes.md"] = _section(
            "Metrics per celebrity attribute",
            "Every metric per group of the attribute file's labels of the target celebrity; `(not in file)`: "
            "targets the file does not list.",
            attributes_md(attributes), short)
    header = (f"# The study reproduced from its recorded files\n\n"
              f"Generated by `{command}`; every number below is computed from the files listed, nothing is "
              "typed in.\n\n## Definitions\n\n" + definitions_md(d) + "\n\n## Files read\n\n"
              + sources_md(data.sources, data.summary.duplicates)
              + f"\n\nThe study wrote \"no celebrity\" and \"the call failed\" the same way (an empty cell): the "
              f"{empty_fake} empty deepfake answers count as no celebrity, and these files show no vendor errors.\n")
    pages = {name: f"# {name[:-3].replace('_', ' ')}\n\n_Generated by `{command}`._\n\n{text}"
             for name, text in sections.items()}
    pages["study.md"] = header + "\n" + "\n".join(sections.values())
    if attributes is None:
        pages["study.md"] += ("\n## Metrics per celebrity attribute\n\nNot computed: no attribute file was given "
                              "(`--attributes FILE`, a CSV with a `celebrity` column and one column per "
                              "attribute).\n")
    return pages
