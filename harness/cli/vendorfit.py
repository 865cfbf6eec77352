"""``dfi vendorfit``: fit the vendors' behaviour models to the study's recorded answers, and check
them on the held-out celebrities (:mod:`harness.jobs.vendorfit`)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from harness.cli.console import stdout_console
from harness.cli.feedback import Feedback

WIDTH = 200   # the distance table is wide; fixed so the output never depends on the terminal
PATHS_HELP = "the study's result files or their folder (default: ../shared/data/paper-results)"


def _table(title: str, view) -> Table:  # noqa: ANN001 -- a DataFrame of strings
    t = Table(title=title, title_style="bold")
    for i, col in enumerate(view.columns):
        t.add_column(str(col), justify="left" if i < 2 or col in ("population", "family", "goal") else "right",
                     no_wrap=True)
    for row in view.itertuples(index=False):
        t.add_row(*(str(c) for c in row))
    return t


@click.group("vendorfit")
def vendorfit_cmd() -> None:
    """Behaviour models of AWS, Azure and Naver fitted to the study's recorded answers (maximum
    likelihood), and their check on held-out celebrities."""


@vendorfit_cmd.command("fit")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder to write aws.yaml, ms.yaml, nav.yaml (created if missing)")
@click.option("--half", type=click.Choice(["all", "A", "B"]), default="all", show_default=True,
              help="fit on every recorded row, or on one half of the celebrity split")
@click.option("--seed", default=0, show_default=True, help="seed of the celebrity split")
@click.option("--fit-date", default=None, metavar="YYYY-MM-DD",
              help="the fit date written in the provenance (default: today); pin it for byte-identical files")
def fit_cmd(paths: tuple[Path, ...], out_dir: Path, half: str, seed: int, fit_date: str | None) -> None:
    """Fit the three vendors' models and write one YAML per vendor (model, dependence, provenance).

    PATHS: the study's result files or their folder (default: ../shared/data/paper-results)."""
    from harness.jobs.vendorfit import fit_models
    from harness.report.vendorfit import summary_view

    console = stdout_console(width=WIDTH)
    r = fit_models(paths, out_dir, half=half, seed=seed, fit_date=fit_date, status=Feedback(console).step)
    console.print(f"fitted on half {half} (seed {seed}) of {len(r.sources)} files: {', '.join(r.sources)}")
    console.print(_table("Fitted vendor models (rates %, outcome split of named deepfakes of known targets)",
                         summary_view(r.summary)))
    console.print("spread rho: beta-binomial spread of the deepfake answer rate over celebrities (known targets); "
                  "copula rho: deepfake vs real confidence, 0 where not supported; records/aggregates/assumed: "
                  "parameters fitted to recorded answers / to the study's published TA and NA / assumed")
    console.print(f"wrote {', '.join(str(p) for p in r.files.values())}")


@vendorfit_cmd.command("profile")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder of the profile set (mockvendors/profiles/study-2020 for the shipped one)")
@click.option("--name", default="study-2020", show_default=True, help="the profile set's name")
@click.option("--seed", default=0, show_default=True, help="seed of the fit and of the simulated world")
@click.option("--fit-date", default=None, metavar="YYYY-MM-DD", help="the fit date written in the provenance")
def profile_cmd(paths: tuple[Path, ...], out_dir: Path, name: str, seed: int, fit_date: str | None) -> None:
    """Fit on every recorded row and write a named profile set: per vendor its behaviour model and the
    mock profile derived from it (what dfi serve / run / simulate --profile NAME answer from).

    PATHS: the study's result files or their folder (default: ../shared/data/paper-results)."""
    from harness.jobs.vendorfit import write_profile_set

    console = stdout_console(width=WIDTH)
    r = write_profile_set(name, out_dir, paths, seed=seed, fit_date=fit_date, status=Feedback(console).step)
    console.print(f"profile set {name}: fitted on every recorded row of {', '.join(r.fit.sources)}")
    console.print(f"wrote {', '.join(str(p) for p in r.files)}")


@vendorfit_cmd.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder for distances.csv/.md, predictions.csv/.md and plots/")
@click.option("--seed", default=0, show_default=True, help="seed of the celebrity split, the draws and the bootstrap")
@click.option("--resamples", type=click.IntRange(1), default=200, show_default=True,
              help="bootstrap resamples of half B's celebrities")
@click.option("--replicas", type=click.IntRange(1), default=10, show_default=True,
              help="synthetic answer sets drawn for half B's probes")
@click.option("--independent", is_flag=True,
              help="draw without the per-celebrity rate spread and the confidence copula (the plain model)")
def validate_cmd(paths: tuple[Path, ...], out_dir: Path, seed: int, resamples: int, replicas: int,
                 independent: bool) -> None:
    """Fit on half A of the celebrities, compare with the recorded answers of half B: KS, W1 and
    answer rates with 95% bootstrap intervals, and the six metrics predicted.

    PATHS: the study's result files or their folder (default: ../shared/data/paper-results)."""
    from harness.jobs.vendorfit import validate_models
    from harness.vendorfit.validate import ANSWER_RATE_GOAL, KS_GOAL, cells_view

    console = stdout_console(width=WIDTH)
    r = validate_models(paths, out_dir, seed=seed, resamples=resamples, replicas=replicas,
                        dependence=not independent, status=Feedback(console).step)
    view = cells_view(r.cells)
    console.print(_table("Held-out distances: model fitted on half A vs recorded half B (named confidences, 0-100)",
                         view))
    console.print(f"KS A-B: KS between the two recorded halves; intervals: 95% bootstrap over half B's celebrities "
                  f"({resamples} resamples), {replicas} model replicas")
    console.print(f"{r.goal_met} of {r.cells_total} cells meet the goal (KS <= {KS_GOAL:g} and |answer rate "
                  f"difference| <= {ANSWER_RATE_GOAL:g} points)")
    console.print(f"wrote {len(r.files)} files to {r.out_dir} (distances.csv, distances.md, predictions.csv, "
                  f"predictions.md, plots/)")


COMMANDS: list[click.Command] = [vendorfit_cmd]
__all__ = ["COMMANDS", "vendorfit_cmd"]
