"""``dfi calibrate``: fit a mock vendor profile to a recorded table (:mod:`harness.jobs.calibrate`)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from harness.cli.console import stdout_console
from harness.cli.feedback import Feedback
from harness.cli.options import fmt_number as _fmt
from harness.vendors import registry

WIDTH = 150


@click.command("calibrate")
@click.argument("recorded", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--vendor", required=True, type=click.Choice(registry.names()))
@click.option("--method", default="logistic", show_default=True, type=click.Choice(["logistic", "isotonic"]))
@click.option("--seed", default=0, show_default=True, help="split and simulation seed")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="fitted vendor profile to write (YAML; use with dfi serve/run --profile or compare --profile)")
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False, path_type=Path),
              help="also write the report as JSON (default: OUTPUT with .report.json)")
def calibrate_cmd(recorded: tuple[Path, ...], vendor: str, method: str, seed: int, output: Path,
                  report_path: Path | None) -> None:
    """Fit a mock vendor profile's cosine->confidence map to a recorded table (held-out distances reported)."""
    console = stdout_console(width=WIDTH)
    feedback = Feedback(console)
    with feedback.step("loading dfi calibrate..."):
        from harness.jobs.calibrate import calibrate_profile

    c = calibrate_profile(recorded=recorded, vendor=vendor, output=output, method=method, seed=seed,
                          report_path=report_path, status=feedback.step)
    report = c.report
    console.print(f"{vendor.upper()}: {method} fit on {report.recorded_rows['fit']} recorded rows, "
                  f"evaluated on {report.recorded_rows['held_out']} held-out rows ({', '.join(report.datasets)})")
    t = Table(title="Held-out distances, recorded vs mock (named answers, 0-100)", title_style="bold")
    for col in ("probes", "profile", "answer rate rec/mock", "floor rec/mock", "KS", "W1"):
        t.add_column(col, justify="left" if col in ("probes", "profile") else "right")
    for label, ds in (("built-in", report.before), ("fitted", report.after),
                      ("fitted (fit split)", report.after_fit_split)):
        for d in ds:
            t.add_row(d.population, label, f"{d.answer_rate_recorded:.1%} / {d.answer_rate_mock:.1%}",
                      f"{_fmt(d.floor_recorded, '.1f')} / {_fmt(d.floor_mock, '.1f')}", _fmt(d.ks, ".3f"),
                      _fmt(d.wasserstein, ".2f"))
    console.print(t)
    console.print(f"written: {c.profile} (profile), {c.report_path} (report)")


COMMANDS: list[click.Command] = [calibrate_cmd]
__all__ = ["COMMANDS", "calibrate_cmd"]
