"""The study's result grid: TA, NA, DHF, DHC, DHS, SIC per dataset x vendor (:func:`result_grid`).

Rows, each with its 95% Wilson interval, numerator and denominator, on both bases of
:mod:`harness.metrics.compute` (the study's denominators and shares of all valid probes):

* every dataset x vendor (``subset`` empty);
* where a dataset x vendor was recorded in several files (VoxCelebTH: ``Results_vox1.csv`` and
  ``Results_vox2.csv``), each file on its own as well (``subset`` = the file name);
* ``All datasets``: every probe of a vendor pooled. Its TA, NA, DHF, DHC and DHS counts are the sums
  of the datasets' counts. SIC pools celebrities by name: a celebrity who is a target in two
  datasets counts once, so SIC's pooled counts can be less than the datasets' sums.

Probe counts per row (``probes``, ``valid``, ``errored``, ``with_similarity``) come with it.
"""

from __future__ import annotations

import pandas as pd

from harness.metrics.compute import compute_metrics, count_probes
from harness.study.data import ALL_DATASETS, dataset_order
from harness.study.definitions import StudyDefinitions

COUNT_COLUMNS = ("probes", "valid", "errored", "with_similarity")
COLUMNS: tuple[str, ...] = (
    "dataset", "subset", "vendor", "metric", "basis", "value", "numerator", "denominator", "ci_low", "ci_high",
    *COUNT_COLUMNS, "beta", "gamma",
)


def _block(table: pd.DataFrame, by: list[str], definitions: StudyDefinitions) -> pd.DataFrame:
    records = compute_metrics(table, definitions.beta, definitions.gamma, by)
    counts = count_probes(table, by)[[*by, *COUNT_COLUMNS]]
    return records.merge(counts, on=by, how="left")


def result_grid(table: pd.DataFrame, definitions: StudyDefinitions) -> pd.DataFrame:
    """Long-form grid records in :data:`COLUMNS` order, datasets in the study's order."""
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    blocks = [_block(table, ["dataset", "vendor"], definitions).assign(subset="")]
    files = table.groupby(["dataset", "vendor"])["source"].nunique()
    split = files[files > 1].index
    if len(split):
        keys = pd.MultiIndex.from_frame(table[["dataset", "vendor"]])
        several = table[keys.isin(split)]
        blocks.append(_block(several, ["dataset", "source", "vendor"], definitions)
                      .rename(columns={"source": "subset"}))
    blocks.append(_block(table, ["vendor"], definitions).assign(dataset=ALL_DATASETS, subset=""))
    grid = pd.concat(blocks, ignore_index=True)[list(COLUMNS)]
    return study_order(grid, ["dataset", "subset", "vendor"])


def study_order(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Rows sorted by ``keys``: datasets in the study's order, vendors in the registry's, the rest as text;
    the order of rows within equal keys is kept."""
    from harness.plotstyle import vendor_order

    ranks: dict[str, dict[str, int]] = {}
    if "dataset" in keys:
        ranks["dataset"] = {d: i for i, d in enumerate(dataset_order(frame["dataset"]))}
    if "vendor" in keys:
        ranks["vendor"] = {v: i for i, v in enumerate(vendor_order(frame["vendor"]))}

    def key(column: pd.Series) -> pd.Series:
        rank = ranks.get(str(column.name))
        return column.map(rank) if rank is not None else column.astype(str)

    return frame.sort_values(keys, key=key, kind="stable").reset_index(drop=True)
