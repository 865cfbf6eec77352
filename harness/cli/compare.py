"""``dfi compare``: mock versus recorded vendor behaviour, per call (``calls``) and per distribution
(``tables``) (:mod:`harness.jobs.compare`)."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from harness.cli.console import stdout_console
from harness.cli.options import Threshold
from harness.cli.options import fmt_number as _fmt

WIDTH = 150


@click.group("compare")
def compare_group() -> None:
    """Mock versus recorded vendor behaviour: per call (`calls`) and per distribution (`tables`)."""


@compare_group.command("tables")
@click.argument("recorded", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--mock", "mock_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="mock results table(s), e.g. a campaign's results.csv; default: the study-scale simulation "
                   "through the mock vendors")
@click.option("--profile", "profiles", multiple=True, nargs=2, type=(str, click.Path(exists=True, dir_okay=False)),
              help="VENDOR FILE: a profile override for the simulated mock (e.g. one `dfi calibrate` wrote)")
@click.option("--profile-set", default="default", show_default=True,
              help="the simulated mock's profile set: default, or study-2020 (vendors answer from their fitted models)")
@click.option("--seed", default=1, show_default=True, help="simulation seed (calibrate fits on seed 0)")
@click.option("--beta", default=90.0, show_default=True, type=Threshold(0, 100))
@click.option("--gamma", default=80.0, show_default=True, type=Threshold(0, 100))
@click.option("-o", "--out", "out_dir", default=Path("runs/compare"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def compare_tables_cmd(recorded: tuple[Path, ...], mock_paths: tuple[Path, ...], profiles: tuple[tuple[str, str], ...],
                       profile_set: str, seed: int, beta: float, gamma: float, out_dir: Path) -> None:
    """A recorded results table (or the study's files) against a mock results table."""
    from harness.jobs.compare import compare_result_tables

    c = compare_result_tables(recorded=recorded, mock=mock_paths, profiles=profiles, seed=seed, beta=beta,
                              gamma=gamma, out_dir=out_dir, profile_set=profile_set)
    console = stdout_console(width=WIDTH)
    console.print(f"recorded: {', '.join(str(p) for p in recorded)} ({len(c.recorded)} rows); "
                  f"mock: {c.mock_what} ({len(c.mock)} rows)")
    t = Table(title="Confidence distributions, recorded vs mock (named answers, 0-100)", title_style="bold")
    for col in ("dataset", "vendor", "probes", "n rec/mock", "answer rate rec/mock", "floor rec/mock", "KS", "W1"):
        t.add_column(col, justify="left" if col in ("dataset", "vendor", "probes") else "right")
    for g in c.groups:
        for d in g.distances:
            t.add_row(g.dataset, g.vendor.upper(), d.population, f"{d.n_recorded}/{d.n_mock}",
                      f"{d.answer_rate_recorded:.1%} / {d.answer_rate_mock:.1%}",
                      f"{_fmt(d.floor_recorded, '.1f')} / {_fmt(d.floor_mock, '.1f')}", _fmt(d.ks, ".3f"),
                      _fmt(d.wasserstein, ".2f"))
    console.print(t)
    mt = Table(title=f"The six metrics, study basis (beta={beta:g}, gamma={gamma:g}), 95% Wilson intervals",
               title_style="bold")
    for col in ("dataset", "vendor", "metric", "recorded", "mock", "mock - recorded"):
        mt.add_column(col, justify="left" if col in ("dataset", "vendor", "metric") else "right")
    for r in c.side_by_side.itertuples():
        mt.add_row(str(r.dataset), str(r.vendor).upper(), str(r.metric),
                   f"{_fmt(r.value_recorded, '.1f')} [{_fmt(r.ci_low_recorded, '.1f')}, "
                   f"{_fmt(r.ci_high_recorded, '.1f')}]",
                   f"{_fmt(r.value_mock, '.1f')} [{_fmt(r.ci_low_mock, '.1f')}, {_fmt(r.ci_high_mock, '.1f')}]",
                   _fmt(r.difference, "+.1f"))
    console.print(mt)
    if not c.outcomes_recorded.empty or not c.outcomes_mock.empty:
        console.print(outcome_table(c.outcomes_recorded, c.outcomes_mock))
    console.print(agreement_table(c.agreement_recorded, c.agreement_mock))
    console.print(f"written: {out_dir}/distances.csv, metrics_side_by_side.csv, agreement.csv, compare.json, "
                  + ("outcomes.csv, " if any(f.name == "outcomes.csv" for f in c.files) else "") + "plots/ecdf_*.png")


def outcome_table(recorded: pd.DataFrame, mock: pd.DataFrame) -> Table:
    """Whom the named deepfakes were named as, recorded vs mock, per dataset x vendor and pooled."""
    t = Table(title="Named deepfakes named as the target / the reference person / someone else, % of named "
                    "(recorded vs mock)", title_style="bold")
    for col in ("dataset", "vendor", "named rec/mock", "target rec/mock", "reference rec/mock", "other rec/mock"):
        t.add_column(col, justify="left" if col in ("dataset", "vendor") else "right")
    sides = [{(str(r["dataset"]), str(r["vendor"])): r for _, r in f.iterrows()} if not f.empty else {}
             for f in (recorded, mock)]
    keys = list(dict.fromkeys([*sides[0], *(k for k in sides[1] if k in sides[0] or not sides[0])]))
    for ds, v in keys:
        rec, mck = sides[0].get((ds, v)), sides[1].get((ds, v))

        def cell(r: pd.Series | None, col: str, spec: str = ".1f") -> str:
            return "-" if r is None else _fmt(r[col], spec)

        t.add_row(ds, v.upper(), f"{cell(rec, 'na', '')} / {cell(mck, 'na', '')}",
                  *(f"{cell(rec, f'{o}_share')} / {cell(mck, f'{o}_share')}" for o in ("target", "reference", "other")))
    return t


def _share(row: pd.Series | None, name: str, count: str) -> str:
    if row is None or pd.isna(row[count]):  # no such pair, or no target names in the table
        return "-"
    return (f"{_fmt(row[f'{name}_pct'], '.1f')} [{_fmt(row[f'{name}_low'], '.1f')}, "
            f"{_fmt(row[f'{name}_high'], '.1f')}] ({_fmt(row[count], '')})")


def agreement_table(recorded: pd.DataFrame, mock: pd.DataFrame) -> Table:
    """Recorded and mock cross-vendor agreement (harness.compare.agreement, by dataset) side by side:
    one line per (dataset, vendor pair, measure); "-" where a table has no such pair."""
    t = Table(title="Cross-vendor agreement on the same deepfakes: % of joint probes [95% Wilson] (count)",
              title_style="bold")
    for col in ("dataset", "vendors", "measure", "recorded", "mock"):
        t.add_column(col, justify="left" if col in ("dataset", "vendors", "measure") else "right")
    sides = [{(str(r["dataset"]), str(r["vendor1"]), str(r["vendor2"])): r for _, r in f.iterrows()}
             for f in (recorded, mock)]
    keys = list(dict.fromkeys([*sides[0], *sides[1]]))
    for dataset, v1, v2 in keys:
        rec, mck = (side.get((dataset, v1, v2)) for side in sides)
        a, b = v1.upper(), v2.upper()
        lines = [
            ("joint probes (errored)",
             *(("-" if r is None else f"{r['joint']} ({r['errored']} errored)") for r in (rec, mck))),
            ("both name someone", *(_share(r, "both", "both") for r in (rec, mck))),
            (f"only {a} names", *(_share(r, "only1", "only1") for r in (rec, mck))),
            (f"only {b} names", *(_share(r, "only2", "only2") for r in (rec, mck))),
            ("neither names", *(_share(r, "neither", "neither") for r in (rec, mck))),
            ("same name (of both-name)", *(_share(r, "same_name", "same_name") for r in (rec, mck))),
            ("both name the target (TA)", *(_share(r, "both_target", "both_target") for r in (rec, mck))),
            ("both-name if independent",
             *(("-" if r is None else _fmt(r["both_expected_pct"], ".1f")) for r in (rec, mck))),
            ("kappa (names someone)", *(("-" if r is None else _fmt(r["kappa"], ".2f")) for r in (rec, mck))),
        ]
        for i, (measure, r_text, m_text) in enumerate(lines):
            t.add_row(dataset if i == 0 else "", f"{a} x {b}" if i == 0 else "", measure, r_text, m_text,
                      end_section=i == len(lines) - 1)
    if not keys:
        t.add_row("-", "-", "no vendor pair shares a probe", "-", "-")
    return t


@compare_group.command("calls")
@click.argument("cassettes", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--azure-recordings/--no-azure-recordings", default=True, show_default=True,
              help="include the real Azure SDK recordings in ../shared/data (converted on the fly)")
@click.option("--images", "image_dirs", multiple=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="folders to find recorded images in, by sha256 (default: ../shared/data)")
@click.option("--gallery", default=None, help="mock gallery: folder per name or .npz/.json (default: the demo gallery)")
@click.option("-o", "--out", "out_dir", default=Path("runs/compare"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def compare_calls_cmd(cassettes: tuple[Path, ...], azure_recordings: bool, image_dirs: tuple[Path, ...],
                      gallery: str | None, out_dir: Path) -> None:
    """Every recorded call whose image is available, answered again by the mock."""
    from harness.jobs.compare import compare_recorded_calls

    c = compare_recorded_calls(cassettes=cassettes, azure_recordings=azure_recordings, image_dirs=image_dirs,
                               gallery=gallery, out_dir=out_dir)
    rows = c.rows
    console = stdout_console(width=160)
    t = Table(title=f"{len(rows)} recorded call(s) answered again by the mock ({c.skipped} skipped: image not "
                    "available)", title_style="bold")
    for col in ("recording", "prov.", "vendor", "operation", "image", "recorded", "mock", "agree", "conf rec/mock",
                "box IoU"):
        t.add_column(col)
    for r in rows:
        t.add_row(Path(r.source).name, r.provenance, r.vendor.upper(), r.operation, r.image,
                  r.recorded_name or "-", r.mock_name or ("-" if not r.error else f"error: {r.error[:40]}"),
                  "-" if r.name_agrees is None else ("yes" if r.name_agrees else "no"),
                  f"{_fmt(r.recorded_conf, '.1f')} / {_fmt(r.mock_conf, '.1f')}", _fmt(r.box_iou, ".2f"))
    console.print(t)
    named = [r for r in rows if r.name_agrees is not None]
    ious = [r.box_iou for r in rows if r.box_iou is not None]
    if named:
        console.print(f"name agreement: {sum(bool(r.name_agrees) for r in named)}/{len(named)}; "
                      f"mean box IoU: {sum(ious) / len(ious):.2f} over {len(ious)} call(s)" if ious else "")
    console.print(f"written: {out_dir}/calls.csv, calls.json (gallery: {gallery or 'demo gallery'})")


COMMANDS: list[click.Command] = [compare_group]
__all__ = ["COMMANDS", "compare_group"]
