"""``dfi bench`` as library calls: time the face models, the reference detectors and ONNX files
(:func:`run_bench`), list them (:func:`bench_models`), and regenerate the README tables from the
results JSON files (:func:`regenerate_readme`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import DfiError
from harness.jobs._common import LogFn, no_log


class BenchUsageError(DfiError):
    """Contradictory or impossible bench options."""


def bench_combos(backends: Sequence[str], dtypes: Sequence[str]) -> list[Any]:
    """(backend, dtype) combinations; no backends or ``("auto",)``: ort-cpu and every usable GPU backend."""
    from harness.bench.runners import BACKENDS, GPU_BACKENDS, backend_status
    from harness.bench.suite import Combo

    backends = tuple(backends)
    if not backends or backends == ("auto",):
        chosen = ["ort-cpu"] + [b for b in GPU_BACKENDS if backend_status(b) is None]
    else:
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown:
            raise BenchUsageError(f"unknown backend(s) {unknown}; known: {', '.join(BACKENDS)}")
        chosen = list(backends)
    combos = []
    for backend in chosen:
        wanted = tuple(dtypes) or (("fp32",) if backend == "ort-cpu" else ("fp16", "fp32"))
        for dtype in wanted:
            if backend == "ort-cpu" and dtype == "fp16" and not backends:
                continue  # auto mode: no fp16 on the CPU provider
            combos.append(Combo(backend, dtype))
    return combos


def bench_models(*, models: Sequence[str] = (), spec_files: Sequence[str | Path] = ()) -> list[Any]:
    """The selected models (default: all), after registering the detector spec files."""
    from harness.bench.models import resolve_models

    if spec_files:
        from harness.detectors import load_detector_specs

        for spec_file in spec_files:
            load_detector_specs(spec_file)
    return resolve_models(list(models) or ["all"])


@dataclass
class BenchResult:
    doc: dict  # the results document (as written to ``out``)
    out: Path | None

    @property
    def measured(self) -> bool:
        return any(r.get("status") == "ok" for r in self.doc["results"])


def run_bench(*, models: Sequence[str] = (), spec_files: Sequence[str | Path] = (), backends: Sequence[str] = (),
              dtypes: Sequence[str] = (), batches: Sequence[int] = (), quick: bool = False,
              warmup: int | None = None, min_iters: int | None = None, min_time: float | None = None,
              max_time: float | None = None, budget: float | None = None, threads: int | None = None,
              pipeline: bool | None = None, cuda_graphs: bool = True, torch_compile: bool = False,
              notes: Sequence[str] = (), out: Path | None = None, command: str = "dfi bench",
              log: LogFn = no_log) -> BenchResult:
    """Time the models on the backends; with ``out``, write the results JSON there (after every result
    too, so an interrupted suite keeps what it measured). ``log`` gets the suite's progress lines."""
    from harness.bench.engine import CPU_FULL, GPU_FULL, QUICK
    from harness.bench.report import write_results
    from harness.bench.runners import GPU_BACKENDS, backend_status
    from harness.bench.suite import run_suite

    selected = bench_models(models=models, spec_files=spec_files)
    combos = bench_combos(backends, dtypes)
    on_gpu = any(c.backend in GPU_BACKENDS and backend_status(c.backend) is None for c in combos)
    config = QUICK if quick else (GPU_FULL if on_gpu else CPU_FULL)
    wanted: dict[str, Any] = dict(batches=tuple(batches) or None, warmup=warmup, min_iters=min_iters,
                                  min_seconds=min_time, max_seconds=max_time, budget_seconds=budget)
    overrides = {k: v for k, v in wanted.items() if v is not None}
    config = dataclasses.replace(config, **overrides)
    if pipeline is None:
        pipeline = not quick and not models

    def save(partial: dict) -> None:
        if out is not None:
            write_results(partial, out)

    doc = run_suite(selected, combos, config, threads=threads, pipeline=pipeline, notes=list(notes), log=log,
                    cuda_graphs=cuda_graphs, torch_compile=torch_compile, command=command,
                    on_result=save if out else None)
    if out:
        write_results(doc, out)
    return BenchResult(doc, out)


def regenerate_readme(*, results_dir: Path, readme: Path) -> int:
    """Regenerate the tables in ``readme`` from every results JSON in ``results_dir``; how many files."""
    from harness.bench.report import load_results, render_markdown, update_readme

    docs = load_results(results_dir)
    if not docs:
        raise BenchUsageError(f"no results JSON in {results_dir}")
    update_readme(readme, render_markdown(docs))
    return len(docs)
