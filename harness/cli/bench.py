"""`dfi bench`: speed of the face models, the reference deepfake detectors and any ONNX file, on
onnxruntime CPU/CUDA/TensorRT or PyTorch CUDA; JSON results and the README tables made from them
(:mod:`harness.jobs.bench`)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from harness.cli.console import stderr_console, stdout_console
from harness.jobs.bench import BenchUsageError

DEFAULT_RESULTS = Path("benchmarks/results")
DEFAULT_README = Path("benchmarks/README.md")
WIDE = 200  # piped output (CI logs, README excerpts) gets full-width tables instead of truncated cells


@click.command("bench")
@click.option("--model", "-m", "models", multiple=True, metavar="NAME|PATH",
              help="Model to time: fr_detect, fr_landmark, fr_feature, fr_liveness, meso4, mesoinception4, "
                   "xception, efficientnet_b4, an imported detector, the groups installed/reference/imported/all, "
                   "or a path to any .onnx file (repeatable; default: all).")
@click.option("--detector-specs", "spec_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="YAML/JSON detector specs to register first, so --model can name those detectors.")
@click.option("--backend", "-b", "backends", multiple=True,
              type=click.Choice(["auto", "ort-cpu", "ort-cuda", "ort-trt", "torch-cuda"]),
              help="Backend(s) (repeatable). auto: ort-cpu plus every GPU backend usable here.")
@click.option("--dtype", "dtypes", multiple=True, type=click.Choice(["fp32", "fp16"]),
              help="Precision(s) (repeatable). Default: fp32 on CPU, fp16 and fp32 on GPU backends.")
@click.option("--batch", "batches", multiple=True, type=click.IntRange(1, 4096),
              help="Batch size(s) (repeatable). Default 1 8 32 128 (+256 on GPU); --quick: 1 4.")
@click.option("--quick", is_flag=True, help="Small configuration for CI and smoke tests (batches 1 and 4, 2 runs).")
@click.option("--warmup", type=click.IntRange(0, 1000), help="Untimed runs before timing.")
@click.option("--min-iters", type=click.IntRange(1, 100000), help="Timed runs at least ...")
@click.option("--min-time", type=click.FloatRange(0), help="... and at least this many seconds.")
@click.option("--max-time", type=click.FloatRange(0), help="Stop after this many seconds once 3 runs are in.")
@click.option("--budget", type=click.FloatRange(1), help="Seconds for the whole suite; later configs are skipped.")
@click.option("--threads", type=click.IntRange(1, 256), help="onnxruntime intra-op threads (default: all cores).")
@click.option("--pipeline/--no-pipeline", default=None,
              help="Also time the whole image -> embedding face pipeline (default: on for the full CPU suite).")
@click.option("--cuda-graphs/--no-cuda-graphs", default=True, show_default=True,
              help="torch-cuda: replay each batch as a CUDA graph.")
@click.option("--torch-compile", is_flag=True, help="torch-cuda: torch.compile the converted module (slow start).")
@click.option("--note", "notes", multiple=True, help="Free-text note stored with the results (repeatable).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the results JSON here (e.g. benchmarks/results/cpu.json).")
@click.option("--report", is_flag=True,
              help="Do not time anything: regenerate the tables in --readme from every JSON in --results-dir.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_RESULTS,
              show_default=True)
@click.option("--readme", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_README,
              show_default=True)
@click.option("--list", "list_only", is_flag=True, help="List the models (parameters, FLOPs) and backends, then exit.")
def bench(models: tuple[str, ...], spec_files: tuple[str, ...], backends: tuple[str, ...], dtypes: tuple[str, ...],
          batches: tuple[int, ...], quick: bool, warmup: int | None, min_iters: int | None, min_time: float | None,
          max_time: float | None, budget: float | None, threads: int | None, pipeline: bool | None,
          cuda_graphs: bool, torch_compile: bool, notes: tuple[str, ...], out: Path | None, report: bool,
          results_dir: Path, readme: Path, list_only: bool) -> None:
    """Time models: throughput (images/s), latency p50/p95/p99, FLOPs and share of the device's peak.

    Warm-up runs are excluded. Reference detectors have random, untrained weights: speed only.
    """
    from harness.jobs.bench import bench_models, regenerate_readme, run_bench

    console = stderr_console(pipe_width=WIDE)
    if report:
        n = regenerate_readme(results_dir=results_dir, readme=readme)
        console.print(f"{readme}: tables regenerated from {n} results file(s) in {results_dir}")
        return
    if list_only:
        _list(bench_models(models=models, spec_files=spec_files), console)
        return
    command = "dfi bench " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 1 else "dfi bench"
    result = run_bench(models=models, spec_files=spec_files, backends=backends, dtypes=dtypes, batches=batches,
                       quick=quick, warmup=warmup, min_iters=min_iters, min_time=min_time, max_time=max_time,
                       budget=budget, threads=threads, pipeline=pipeline, cuda_graphs=cuda_graphs,
                       torch_compile=torch_compile, notes=notes, out=out, command=command,
                       log=lambda line: console.print(line, highlight=False, markup=False))
    _print_table(result.doc)
    if out:
        console.print(f"results written to {out}")
    if not result.measured:
        console.print("[yellow]nothing was measured[/yellow] (see the skip reasons above)")


def _print_table(doc: dict) -> None:
    table = Table(title=f"dfi bench on {doc['device']['name']} (reference detectors: untrained random weights)")
    for col in ("model", "weights", "backend", "dtype", "batch", "images/s", "p50 ms", "p95 ms", "p99 ms", "runs",
                "GFLOP/img", "% peak"):
        table.add_column(col, justify="right" if col not in ("model", "weights", "backend", "dtype") else "left")
    for r in doc["results"]:
        if r.get("status") != "ok":
            continue
        model = doc["models"].get(r["model"], {})
        gflops = model.get("flops_per_image")
        frac = r.get("fraction_of_peak")
        table.add_row(r["model"], {True: "trained", False: "untrained", None: "?"}[r.get("trained")],
                      r["backend"], r["dtype"], str(r["batch"]), f"{r['images_per_s']:.1f}",
                      f"{r['latency_ms']['p50']:.2f}", f"{r['latency_ms']['p95']:.2f}",
                      f"{r['latency_ms']['p99']:.2f}", str(r["iterations"]),
                      f"{gflops / 1e9:.3f}" if gflops else "–", f"{100 * frac:.1f}" if frac is not None else "–")
    _stdout().print(table)


def _stdout() -> Console:
    return stdout_console(pipe_width=WIDE)


def _list(selected: list[Any], console: Console) -> None:
    from harness.bench.flops import count_cost
    from harness.bench.runners import BACKENDS, backend_status

    table = Table(title="models (reference detectors: untrained random weights)")
    for col in ("model", "kind", "weights", "parameters", "GFLOP/image", "input", "note"):
        table.add_column(col)
    for m in selected:
        if m.path is None:
            table.add_row(m.name, m.kind, "", "", "", "", m.unavailable or "")
            continue
        cost = count_cost(m.path)
        shape = next(iter(cost.input_shapes.values()), [])
        table.add_row(m.name, m.kind, {True: "trained", False: "untrained", None: "?"}[m.trained],
                      f"{cost.params:,}", f"{cost.flops_per_image / 1e9:.3f}", "x".join(map(str, shape)), m.role)
    _stdout().print(table)
    for b in BACKENDS:
        reason = backend_status(b)
        console.print(f"backend {b}: " + ("available" if reason is None else f"unavailable: {reason}"),
                      highlight=False, markup=False)


COMMANDS: list[click.Command] = [bench]
__all__ = ["COMMANDS", "BenchUsageError", "bench"]
