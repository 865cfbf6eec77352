"""``dfi study``: the study's tables and figure from its own recorded files (:mod:`harness.jobs.study`)."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from harness.cli.console import stdout_console
from harness.cli.feedback import Feedback
from harness.cli.options import Threshold
from harness.metrics.meta import METRICS
from harness.study.definitions import CELEBRITY_KEYS, DEFAULT_FRAMES, TA_AGAINST, ZERO_SIMILARITY


def _frames(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        frames = tuple(int(k) for k in value.split(",") if k.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: expected whole numbers separated by commas, e.g. 1,4,8") from None
    if not frames or min(frames) < 1:
        raise click.BadParameter(f"{value!r}: window sizes must be >= 1")
    return frames


@click.command("study")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--out", "out_dir", default=Path("study"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="folder to write the tables, figure and pages")
@click.option("--beta", type=Threshold(0, 100), default=90.0, show_default=True, help="DHC confidence threshold")
@click.option("--gamma", type=Threshold(0, 100), default=80.0, show_default=True, help="DHS similarity threshold")
@click.option("--zero-similarity", type=click.Choice(ZERO_SIMILARITY), default="missing", show_default=True,
              help="an Azure similarity of 0 (no face found): no score, as the study's DHS denominator, or the score 0")
@click.option("--ta-against", type=click.Choice(TA_AGAINST), default="vendor", show_default=True,
              help="TA: the vendor's own name for the target's real image, or the dataset's label")
@click.option("--celebrity-key", type=click.Choice(CELEBRITY_KEYS), default="study", show_default=True,
              help="per-celebrity rows: the study's key (CelebFOM by the driving celebrity) or the target everywhere")
@click.option("--frames", default=",".join(str(k) for k in DEFAULT_FRAMES), show_default=True, callback=_frames,
              help="window sizes k for the multi-frame aggregation")
@click.option("--frame-threshold", type=Threshold(0, 100), default=None,
              help="reporting threshold of an averaged window (default: per vendor, its smallest named confidence)")
@click.option("--attributes", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="CSV: a celebrity column and one column per attribute (region, gender, ...) to group by")
@click.option("--top", "top_names", type=click.IntRange(1), default=10, show_default=True,
              help="names shown per dataset x vendor in the most-named tables")
@click.option("--keep-duplicates", is_flag=True,
              help="count a probe two files record (Results_CelebDPR.csv repeats ms_CelebDPR.csv) twice")
def study_cmd(paths: tuple[Path, ...], out_dir: Path, beta: float, gamma: float, zero_similarity: str,
              ta_against: str, celebrity_key: str, frames: tuple[int, ...], frame_threshold: float | None,
              attributes: Path | None, top_names: int, keep_duplicates: bool) -> None:
    """Every table and figure the study's recorded files allow: the result grid, the per-celebrity
    tables, whom deepfakes are named as, the most-named identities, confidence statistics,
    multi-frame aggregation and (with --attributes) attribute groups.

    PATHS: the study's result files or their folder (default: ../shared/data/paper-results)."""
    from harness.jobs.study import run_study
    from harness.study.definitions import StudyDefinitions

    definitions = StudyDefinitions(beta=beta, gamma=gamma, zero_similarity=zero_similarity, ta_against=ta_against,
                                   celebrity_key=celebrity_key, frames=frames, frame_threshold=frame_threshold,
                                   keep_duplicates=keep_duplicates, top_names=top_names)
    command = _command_line(click.get_current_context())
    console = stdout_console()
    result = run_study(paths, out_dir, definitions, attributes, command=command, status=Feedback(console).step)
    print_summary(console, result)


def _command_line(ctx: click.Context) -> str:
    """The command as given (paths as typed, flags not at their defaults), for the pages to quote."""
    from click.core import ParameterSource

    words = ["dfi", "study", *(str(p) for p in ctx.params["paths"])]
    for param in ctx.command.params:
        if not isinstance(param, click.Option) or param.name is None or param.name == "paths":
            continue
        if ctx.get_parameter_source(param.name) in (ParameterSource.DEFAULT, None):
            continue
        value = ctx.params[param.name]
        flag = max(param.opts, key=len)
        if param.is_flag:
            words.append(flag)
        else:
            shown = ",".join(str(v) for v in value) if isinstance(value, tuple) else f"{value:g}" \
                if isinstance(value, float) else str(value)
            words += [flag, shown]
    return " ".join(shlex.quote(w) for w in words)


def print_summary(console, result) -> None:  # noqa: ANN001
    from harness.plotstyle import vendor_display
    from harness.report.study import group_label

    d = result.data.definitions
    n = len(result.data.table)
    console.print(f"read {len(result.data.sources)} files, {n} probes counted "
                  f"({sum(s.rows for s in result.data.sources) - n} repeated rows counted once)")
    grid = result.grid[result.grid["basis"] == "study"]
    t = Table(title="The six metrics (study denominators, %)", title_style="bold")
    for col in ("dataset", "vendor", *METRICS, "probes"):
        t.add_column(col, justify="left" if col in ("dataset", "vendor") else "right")
    for (dataset, subset, vendor), g in grid.groupby(["dataset", "subset", "vendor"], sort=False):
        values = dict(zip(g["metric"], g["value"]))
        t.add_row(group_label(str(dataset), str(subset)), vendor_display(str(vendor)),
                  *("n/a" if values.get(m) != values.get(m) else f"{values[m]:.1f}" for m in METRICS),
                  str(int(g["probes"].iloc[0])))
    console.print(t)
    console.print(Text(f"definitions: {d.short()}", style="dim"))
    console.print(Text("intervals, counts and every other table: " + str(result.out_dir / "study.md"), style="dim"))
    seconds = sum(result.seconds.values())
    console.print(f"wrote {len(result.files)} files to {result.out_dir} in {seconds:.1f} s")


COMMANDS: list[click.Command] = [study_cmd]
__all__ = ["COMMANDS", "study_cmd"]
