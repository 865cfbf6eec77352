"""``dfi run``: the main job -- a dataset x vendors campaign, then the report (:mod:`harness.jobs.run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from harness.cli.console import stdout_console
from harness.cli.feedback import Feedback
from harness.cli.options import PROFILE_HELP, Threshold, crop_choice, crop_options, executor_options, profile_choice
from harness.cli.options import ports as port_values
from harness.cli.options import rates as rate_values


def _rate(task: Task) -> float | None:
    """Rows per second over this run (rows resumed from the journal excluded). rich's own speed
    estimate is made for steady streams; batched vendors finish hundreds of rows at one instant."""
    done = task.completed - task.fields.get("resumed", 0)
    elapsed = task.finished_time if task.finished else task.elapsed
    return done / elapsed if done > 0 and elapsed else None


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = _rate(task)
        return Text(f"{rate:8.1f} rows/s" if rate else "       - rows/s", style="cyan")


class EtaColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        if task.finished:
            return Text(f"done in {task.finished_time:.1f} s", style="green")
        rate = _rate(task)
        if not rate or task.total is None:
            return Text("ETA -:--:--", style="yellow")
        left = int((task.total - task.completed) / rate)
        return Text(f"ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}", style="yellow")


def _cost_gate(campaign: Any, yes: bool, console: Console | None = None) -> None:
    """Say what the campaign will cost (a backend that costs money) and ask before going on."""
    console = console or stdout_console()
    if not campaign.costs_money:
        n = sum(campaign.planned_calls().values())
        console.print(f"[dim]backend {campaign.backend_name}: at most {n} vendor calls to make, no cost[/dim]")
        return
    est = campaign.cost_estimate()
    t = Table(title="cost estimate (published first-tier prices, USD; see harness/campaign/cost.py)")
    for c in ("vendor", "operation", "calls (upper bound)", "$ per 1,000", "$"):
        t.add_column(c, justify="left" if c in ("vendor", "operation") else "right")
    for line in est.lines:
        t.add_row(line.vendor, line.operation, str(line.calls),
                  "unknown" if line.price_per_1000 is None else f"{line.price_per_1000:.2f}",
                  "unknown" if line.dollars is None else f"{line.dollars:.2f}")
    t.add_row("total", "", "", "", f"{est.total:.2f}" + (" + unknown (NAV)" if est.unknown else ""), style="bold")
    console.print(t)
    if not yes and not click.confirm("Make these calls against the real services?", default=False):
        raise click.Abort()


def _summary_table(s: Any, vendors: list[str]) -> Table:
    t = Table(title="campaign summary")
    t.add_column("")
    t.add_column("value", justify="right")
    t.add_row("probes x vendors", f"{s.probes} x {len(vendors)} = {s.rows} rows")
    t.add_row("rows this run / resumed from the journal", f"{s.rows_new} / {s.rows_resumed}")
    t.add_row("vendor calls made / cache hits / answers replayed",
              f"{s.vendor_calls} / {s.cache_hits} / {s.calls_replayed}")
    t.add_row("retries", str(s.retries))
    t.add_row("rows with an error (excluded from metrics)", f"[red]{s.error_total}[/red]" if s.error_total else "0")
    for (vendor, call, code), n in sorted(s.errors.items()):
        t.add_row(f"  {vendor} {call} call: {code}", str(n))
    if s.torn_journal_bytes:
        t.add_row("torn journal tail cut off (crash)", f"{s.torn_journal_bytes} bytes")
    if s.quarantined_records:
        t.add_row("journal records set aside (damaged or invalid; redone)",
                  f"[yellow]{s.quarantined_records}[/yellow] -> journal.quarantine.jsonl")
    rate = s.rows_new / s.elapsed_s if s.elapsed_s and s.rows_new else 0.0
    t.add_row("elapsed", f"{s.elapsed_s:.1f} s" + (f" ({rate:.1f} rows/s)" if rate else ""))
    return t


@click.command("run")
@click.option("--dataset", "dataset_path", type=click.Path(path_type=Path),
              help="manifest (.jsonl/.csv) or folder (Celeb-DF v2, the study's samples). Default: the embedded demo.")
@click.option("--vendors", default="aws,ms,nav", show_default=True, help="comma-separated: aws, ms, nav")
@click.option("--backend", type=click.Choice(["mock", "mock-http", "real", "cassette"]), default="mock",
              show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path),
              help="output folder (default runs/<dataset>-<backend>)")
@click.option("--gallery", type=click.Path(exists=True, path_type=Path),
              help="mock backend: a folder per celebrity or a saved .npz/.json gallery")
@click.option("--host", default="127.0.0.1", show_default=True, help="mock-http: where `dfi serve` listens")
@click.option("--port", "ports", multiple=True, help="mock-http: VENDOR=PORT (default aws=4566 ms=4567 nav=4568)")
@click.option("--cassettes", type=click.Path(path_type=Path), help="cassette backend: folder with <vendor>.yaml")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 256),
              help="worker threads per vendor")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1, 100_000),
              help="probes per batch for the in-process mocks (their bars move once per batch)")
@click.option("--rate", "rates", multiple=True, help="VENDOR=CALLS_PER_SECOND rate limit (repeatable)")
@crop_options("cut out the largest face before upload, as the study did: with the default detector (margin 0.3 "
              "of the box) or with MTCNN (facenet-pytorch's 160x160 crop)")
@click.option("--split", type=click.Choice(["test", "all"]), default="test", show_default=True,
              help="Celeb-DF: which videos")
@click.option("--samples", default=16, show_default=True, type=click.IntRange(1),
              help="Celeb-DF: runs of frames per video")
@click.option("--run-length", default=5, show_default=True, type=click.IntRange(1),
              help="Celeb-DF: consecutive frames per run")
@click.option("--pairs", type=click.Path(exists=True),
              help="CelebFOM: CSV 'fake file,real file' instead of embedding pairing")
@click.option("--labels", type=click.Path(exists=True),
              help="Celeb-DF: CSV 'id,name' naming the identities (id0 -> a name)")
@click.option("--beta", default=90.0, show_default=True, type=Threshold(0, 100),
              help="high-confidence threshold (DHC)")
@click.option("--gamma", default=80.0, show_default=True, type=Threshold(0, 100),
              help="high-similarity threshold (DHS)")
@click.option("--max-retries", default=3, show_default=True, type=click.IntRange(0, 100),
              help="retries of throttled/5xx calls")
@click.option("--retry-errors", is_flag=True, help="redo rows that ended with an error in an earlier run")
@click.option("--fresh", is_flag=True, help="discard the output folder's journal and start over")
@click.option("--yes", "-y", is_flag=True, help="do not ask before spending money (real backend)")
@click.option("--no-progress", is_flag=True, help="no progress bars")
@click.option("--profile", "profiles", multiple=True, metavar="SET|VENDOR=FILE",
              help="mock backend: " + PROFILE_HELP)
@executor_options("the probes run (on Ray: shards journaled as they go, the faces analysed by a Ray Data stage; "
                  "the same rows)", workers="shards and face-analysis workers")
def run_cmd(dataset_path: Path | None, vendors: str, backend: str, out_dir: Path | None, gallery: Path | None,
            host: str, ports: tuple[str, ...], cassettes: Path | None, concurrency: int, batch_size: int,
            rates: tuple[str, ...], crop: str, no_crop: bool, split: str, samples: int, run_length: int,
            pairs: str | None,
            labels: str | None, beta: float, gamma: float, max_retries: int, retry_errors: bool, fresh: bool,
            yes: bool, no_progress: bool, profiles: tuple[str, ...], executor: str, workers: int | None) -> None:
    """Run a dataset against vendors, resumably, and write results, metrics, plots and a report.

    Without --dataset it builds (once, in the user cache) and runs the embedded demonstration
    dataset against the three in-process mock vendors. Rerunning the same command on the same
    --out resumes: finished rows and answered calls are not repeated.
    """
    console = stdout_console()
    feedback = Feedback(console, disable=no_progress)
    with feedback.step("loading dfi..."):  # the first line within a second: the imports below take one
        from harness.backends import parse_vendor_list
        from harness.jobs.run import prepare_campaign
        from harness.report import print_metrics

        vendor_list = parse_vendor_list(vendors)
        campaign = prepare_campaign(
            dataset=dataset_path, vendors=vendor_list, backend=backend, out_dir=out_dir, gallery=gallery, host=host,
            ports=port_values(ports), cassettes=cassettes, concurrency=concurrency,
            batch_size=batch_size, rate=rate_values(rates), crop=crop_choice(crop, no_crop),
            split=split, samples=samples, run_length=run_length, pairs=pairs, labels=labels, beta=beta, gamma=gamma,
            max_retries=max_retries, retry_errors=retry_errors, fresh=fresh,
            profiles=profile_choice(profiles, vendor_list) or None, executor=executor, workers=workers,
            status=feedback.step)

    done = campaign.rows_done()
    on_ray = "" if campaign.executor is None else f" on Ray ({campaign.executor.address or 'local instance'})"
    console.print(f"[bold]{len(campaign.probes)} probes[/bold] x {', '.join(vendor_list)} via [bold]{backend}[/bold]"
                  f"{on_ray} -> {campaign.out_dir}"
                  + (f"  [dim](resuming: {sum(done.values())} rows already done)[/dim]" if sum(done.values()) else ""))
    _cost_gate(campaign, yes, console)
    progress = Progress(TextColumn("{task.description:>4}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                        EtaColumn(), console=console, disable=no_progress)
    tasks: dict[str, TaskID] = {}
    for v in vendor_list:
        tasks[v] = progress.add_task(v, total=len(campaign.probes), completed=done[v], resumed=done[v])
    with progress:
        summary = campaign.run(on_row=lambda v, row: progress.advance(tasks[v]))
    console.print(_summary_table(summary, vendor_list))
    if campaign.face_stage is not None:
        s = campaign.face_stage
        console.print(f"face analysis on Ray Data: {s.analysed} of {s.images} images analysed in {s.seconds:.1f} s")

    with feedback.step("writing the results, metrics, plots and report..."):
        result = campaign.write_outputs(summary)
    print_metrics(console, result.records, result.counts)
    if result.notice:
        console.print(f"[yellow]{result.notice}[/yellow]")
    console.print(f"results: {result.results_csv}\nmetrics: {result.metrics_csv}, {result.metrics_json}\n"
                  f"plots:   {result.metrics_png}, {result.confidence_png}\nreport:  {result.report}"
                  f"  [dim](report {result.report_s:.1f} s)[/dim]")


COMMANDS: list[click.Command] = [run_cmd]
__all__ = ["COMMANDS", "run_cmd"]
