"""``dfi run``: the main job -- a dataset x vendors campaign, then the report."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

from harness.errors import DfiError, InputFileError

console = Console()


def _rate(task) -> float | None:  # noqa: ANN001
    """Rows per second over this run (rows resumed from the journal excluded). rich's own speed
    estimate is made for steady streams; batched vendors finish hundreds of rows at one instant."""
    done = task.completed - task.fields.get("resumed", 0)
    elapsed = task.finished_time if task.finished else task.elapsed
    return done / elapsed if done > 0 and elapsed else None


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:  # noqa: ANN001
        rate = _rate(task)
        return Text(f"{rate:8.1f} rows/s" if rate else "       - rows/s", style="cyan")


class EtaColumn(ProgressColumn):
    def render(self, task) -> Text:  # noqa: ANN001
        if task.finished:
            return Text(f"done in {task.finished_time:.1f} s", style="green")
        rate = _rate(task)
        if not rate or task.total is None:
            return Text("ETA -:--:--", style="yellow")
        left = int((task.total - task.completed) / rate)
        return Text(f"ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}", style="yellow")


def _pairs(path: str | None) -> dict[str, str] | None:
    """A two-column CSV as a mapping (an optional header row is skipped)."""
    if not path:
        return None
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    out = {}
    for i, r in enumerate(rows, start=1):
        if len(r) != 2:
            raise InputFileError(path, "expected two columns", row=i)
        if i == 1 and r[0].lower() in ("fake", "deepfake", "id"):
            continue
        out[r[0].strip()] = r[1].strip()
    return out


def _key_values(items: tuple[str, ...], what: str, cast=float) -> dict:  # noqa: ANN001
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: expected VENDOR=VALUE", param_hint=what)
        try:
            out[k.strip().lower()] = cast(v)
        except ValueError:
            raise click.BadParameter(f"{item!r}: {v!r} is not a number", param_hint=what) from None
    return out


def _cost_gate(runner, backend, yes: bool) -> None:  # noqa: ANN001
    from harness.campaign.cost import estimate_cost, total_dollars

    planned = runner.planned_calls()
    if not backend.costs_money:
        n = sum(planned.values())
        console.print(f"[dim]backend {backend.name}: at most {n} vendor calls to make, no cost[/dim]")
        return
    ms_images = planned.get(("ms", "similarity"), 0) * 2
    lines = estimate_cost(planned, ms_detect_images=ms_images)
    t = Table(title="cost estimate (published first-tier prices, USD; see harness/campaign/cost.py)")
    for c in ("vendor", "operation", "calls (upper bound)", "$ per 1,000", "$"):
        t.add_column(c, justify="left" if c in ("vendor", "operation") else "right")
    for line in lines:
        t.add_row(line.vendor, line.operation, str(line.calls),
                  "unknown" if line.price_per_1000 is None else f"{line.price_per_1000:.2f}",
                  "unknown" if line.dollars is None else f"{line.dollars:.2f}")
    total, unknown = total_dollars(lines)
    t.add_row("total", "", "", "", f"{total:.2f}" + (" + unknown (NAV)" if unknown else ""), style="bold")
    console.print(t)
    if not yes and not click.confirm("Make these calls against the real services?", default=False):
        raise click.Abort()


def _summary_table(s, vendors: list[str]) -> Table:  # noqa: ANN001
    t = Table(title="campaign summary")
    t.add_column("")
    t.add_column("value", justify="right")
    t.add_row("probes x vendors", f"{s.probes} x {len(vendors)} = {s.rows} rows")
    t.add_row("rows this run / resumed from the journal", f"{s.rows_new} / {s.rows_resumed}")
    t.add_row("vendor calls made / cache hits / answers replayed", f"{s.vendor_calls} / {s.cache_hits} / {s.calls_replayed}")
    t.add_row("retries", str(s.retries))
    t.add_row("rows with an error (excluded from metrics)", f"[red]{s.error_total}[/red]" if s.error_total else "0")
    for (vendor, call, code), n in sorted(s.errors.items()):
        t.add_row(f"  {vendor} {call} call: {code}", str(n))
    if s.torn_journal_bytes:
        t.add_row("torn journal tail cut off (crash)", f"{s.torn_journal_bytes} bytes")
    rate = s.rows_new / s.elapsed_s if s.elapsed_s and s.rows_new else 0.0
    t.add_row("elapsed", f"{s.elapsed_s:.1f} s" + (f" ({rate:.1f} rows/s)" if rate else ""))
    return t


@click.command("run")
@click.option("--dataset", "dataset_path", type=click.Path(path_type=Path),
              help="manifest (.jsonl/.csv) or folder (Celeb-DF v2, the study's samples). Default: the embedded demo.")
@click.option("--vendors", default="aws,ms,nav", show_default=True, help="comma-separated: aws, ms, nav")
@click.option("--backend", type=click.Choice(["mock", "mock-http", "real", "cassette"]), default="mock", show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), help="output folder (default runs/<dataset>-<backend>)")
@click.option("--gallery", type=click.Path(exists=True, path_type=Path),
              help="mock backend: a folder per celebrity or a saved .npz/.json gallery")
@click.option("--host", default="127.0.0.1", show_default=True, help="mock-http: where `dfi serve` listens")
@click.option("--port", "ports", multiple=True, help="mock-http: VENDOR=PORT (default aws=4566 ms=4567 nav=4568)")
@click.option("--cassettes", type=click.Path(path_type=Path), help="cassette backend: folder with <vendor>.yaml")
@click.option("--concurrency", default=4, show_default=True, help="worker threads per vendor")
@click.option("--batch-size", default=256, show_default=True, help="probes per batch for the in-process mocks")
@click.option("--rate", "rates", multiple=True, help="VENDOR=CALLS_PER_SECOND rate limit (repeatable)")
@click.option("--crop/--no-crop", default=True, show_default=True, help="cut out the largest face before upload (as the study)")
@click.option("--split", type=click.Choice(["test", "all"]), default="test", show_default=True, help="Celeb-DF: which videos")
@click.option("--samples", default=16, show_default=True, help="Celeb-DF: runs of frames per video")
@click.option("--run-length", default=5, show_default=True, help="Celeb-DF: consecutive frames per run")
@click.option("--pairs", type=click.Path(exists=True), help="CelebFOM: CSV 'fake file,real file' instead of embedding pairing")
@click.option("--labels", type=click.Path(exists=True), help="Celeb-DF: CSV 'id,name' naming the identities (id0 -> a name)")
@click.option("--beta", default=90.0, show_default=True, help="high-confidence threshold (DHC)")
@click.option("--gamma", default=80.0, show_default=True, help="high-similarity threshold (DHS)")
@click.option("--max-retries", default=3, show_default=True, help="retries of throttled/5xx calls")
@click.option("--retry-errors", is_flag=True, help="redo rows that ended with an error in an earlier run")
@click.option("--fresh", is_flag=True, help="discard the output folder's journal and start over")
@click.option("--yes", "-y", is_flag=True, help="do not ask before spending money (real backend)")
@click.option("--no-progress", is_flag=True, help="no progress bars")
def run_cmd(dataset_path, vendors, backend, out_dir, gallery, host, ports, cassettes, concurrency, batch_size, rates, crop,  # noqa: ANN001, PLR0913
            split, samples, run_length, pairs, labels, beta, gamma, max_retries, retry_errors, fresh, yes, no_progress) -> None:
    """Run a dataset against vendors, resumably, and write results, metrics, plots and a report.

    Without --dataset it builds (once, in the user cache) and runs the embedded demonstration
    dataset against the three in-process mock vendors. Rerunning the same command on the same
    --out resumes: finished rows and answered calls are not repeated.
    """
    from harness.campaign import CampaignOptions, CampaignRunner
    from harness.backends.factory import check_servers, make_backend, parse_vendor_list
    from harness.datasets import load_dataset
    from harness.report import build_report
    from harness.results.io import results_from_rows, write_results

    vendor_list = parse_vendor_list(vendors)
    port_map = _key_values(ports, "--port", int)
    rate_map = _key_values(rates, "--rate", float)
    demo = None
    notice = None
    if dataset_path is None:
        from harness.datasets.demo import demo_dataset

        with console.status("building the demo dataset (once; cached in the user cache)..."):
            demo = demo_dataset()
        probes = demo.probes()
        dataset_root = demo.root
        name = "demo"
        notice = demo.notice(len(probes))
    else:
        with console.status(f"reading {dataset_path}..."):
            probes = load_dataset(dataset_path, split=split, samples=samples, run=run_length, pairs=_pairs(pairs),
                                  labels=_pairs(labels))
        dataset_root = dataset_path if dataset_path.is_dir() else dataset_path.parent
        name = dataset_path.stem
    if not probes:
        raise DfiError(f"{dataset_path}: the dataset has no probes")
    out_dir = out_dir or Path("runs") / f"{name}-{backend}"
    if fresh and out_dir.exists():
        (out_dir / "journal.jsonl").unlink(missing_ok=True)
        shutil.rmtree(out_dir / "crops", ignore_errors=True)

    if backend == "mock-http":
        check_servers(vendor_list, host, port_map)
    gallery_src = gallery
    if backend == "mock" and gallery is None and demo is not None:
        gallery_src = _demo_gallery(demo)
    with console.status(f"starting the {backend} backend..."):
        be = make_backend(backend, vendor_list, gallery=gallery_src, host=host, ports=port_map, cassettes=cassettes)

    options = CampaignOptions(concurrency=concurrency, rate_limits=rate_map, crop=crop, max_retries=max_retries,
                              retry_errors=retry_errors, source=f"{name}-{backend}", dataset_root=Path(dataset_root),
                              fatal_errors=be.fatal_errors, batch_size=batch_size)
    progress = Progress(TextColumn("{task.description:>4}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                        EtaColumn(), console=console, disable=no_progress)
    tasks: dict[str, int] = {}
    runner = CampaignRunner(probes, be.vendors, out_dir, options,
                            on_row=lambda v, row: progress.advance(tasks[v]))
    runner.open_journal()
    done = {v: sum(1 for (_, vv) in runner.rows if vv == v) for v in vendor_list}
    console.print(f"[bold]{len(probes)} probes[/bold] x {', '.join(vendor_list)} via [bold]{backend}[/bold] -> {out_dir}"
                  + (f"  [dim](resuming: {sum(done.values())} rows already done)[/dim]" if sum(done.values()) else ""))
    _cost_gate(runner, be, yes)
    for v in vendor_list:
        tasks[v] = progress.add_task(v, total=len(probes), completed=done[v], resumed=done[v])
    with progress:
        summary = runner.run()
    console.print(_summary_table(summary, vendor_list))

    t0 = time.perf_counter()
    results = results_from_rows(runner.ordered_rows(), origin=str(out_dir / "journal.jsonl"))
    write_results(results, out_dir / "results.csv")
    facts = [("dataset", str(dataset_path) if dataset_path else "embedded demo (user cache)"),
             ("probes", str(len(probes))), ("vendors", ", ".join(vendor_list)), ("backend", backend),
             ("face crop before upload", "yes" if crop else "no"),
             ("rows", f"{len(results)} ({summary.error_total} with an error)"),
             ("vendor calls this run", f"{summary.vendor_calls} made, {summary.cache_hits} cache hits"),
             ("rows resumed from the journal", str(summary.rows_resumed))]
    files = build_report(out_dir, results, title=f"dfi campaign: {name} x {', '.join(vendor_list)} ({backend})",
                         facts=facts, notice=notice, beta=beta, gamma=gamma)
    from harness.report import print_metrics

    print_metrics(console, files.records, files.counts)
    if notice:
        console.print(f"[yellow]{notice}[/yellow]")
    console.print(f"results: {out_dir / 'results.csv'}\nmetrics: {out_dir / 'metrics.csv'}, {out_dir / 'metrics.json'}\n"
                  f"plots:   {files.metrics_png}, {files.confidence_png}\nreport:  {files.report}"
                  f"  [dim](report {time.perf_counter() - t0:.1f} s)[/dim]")


def _demo_gallery(demo):  # noqa: ANN001, ANN202
    """The demo gallery: enrolled from the gallery augmentations, cached beside the dataset."""
    from mockvendors.analysis import PipelineAnalyzer
    from mockvendors.gallery import Gallery

    cached = demo.root / "gallery.npz"
    if cached.is_file():
        return cached
    g = Gallery.enrol({n: [str(p) for p in ps] for n, ps in demo.gallery_photos().items()}, PipelineAnalyzer(),
                      meta={n: {"tags": {"demo": "true"}} for n in demo.people})
    g.save(cached)
    return cached


COMMANDS = [run_cmd]
