"""``dfi run`` as a library call: dataset -> probes -> backend -> CampaignRunner -> results table,
metrics, plots and the HTML report.

:func:`run_campaign` does it all in one call. The steps it is made of are public too, so a caller
that shows progress or asks before spending money (the CLI) can act between them:
:func:`prepare_campaign` (dataset, backend, runner with its journal opened), :meth:`Campaign.run`
(the vendor calls) and :meth:`Campaign.write_outputs` (results.csv and the report).

Rate and retry settings are used in one place only, :func:`build_backend`.
"""

from __future__ import annotations

import csv
import io
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.campaign.prepare import CROPPERS as CROPPERS  # re-exported for the CLI
from harness.campaign.prepare import cropper_name
from harness.campaign.runner import DEFAULT_BATCH_SIZE
from harness.errors import DfiError, InputFileError, read_utf8
from harness.jobs._common import StatusFn, no_status
from harness.vendors import registry
from mockvendors.gallery import Gallery

BACKEND_NAMES = ("mock", "mock-http", "real", "cassette")
RowCallback = Callable[[str, dict[str, Any]], None]


# ------------------------------------------------------------------ backend
def build_backend(name: str, vendors: Sequence[str], *, gallery: Any = None, host: str = "127.0.0.1",
                  ports: Mapping[str, int] | None = None, cassettes: str | Path | None = None,
                  rate: Mapping[str, float] | None = None, max_retries: int | None = None,
                  profiles: Mapping[str, Any] | None = None, as_recipe: bool = False) -> Any:
    """The backend ``name`` over ``vendors`` (a :class:`harness.backends.Backend`); ``as_recipe=True``: the
    picklable :class:`harness.distributed.backend.BackendRecipe` that builds it (in a Ray worker).

    The one place the jobs handle rate limits and retries (``dfi run --rate VENDOR=N`` and
    ``--max-retries``): they go to the clients through :func:`harness.backends.make_backend`'s
    ``client_options`` (:class:`harness.clients.config.ClientOptions`): ``rate[vendor]`` is that
    vendor's client rate (a vendor not in ``rate`` keeps the environment's / registry's), and
    ``max_retries`` retries mean ``max_retries + 1`` attempts per call. ``None``: the defaults.
    """
    from harness.clients.config import ClientOptions
    from harness.distributed.backend import BackendRecipe

    rates = dict(rate or {})
    attempts = None if max_retries is None else max_retries + 1

    def options(vendor: str) -> ClientOptions:
        return ClientOptions(rate=rates.get(vendor), max_attempts=attempts)

    recipe = BackendRecipe(name, tuple(vendors), {
        "gallery": gallery, "host": host, "ports": dict(ports or {}), "cassettes": cassettes,
        "client_options": {v: options(v) for v in vendors}, "profiles": profiles})
    return recipe if as_recipe else recipe.build()


# ------------------------------------------------------------------ dataset
def read_pairs(path: str | Path | None) -> dict[str, str] | None:
    """A two-column CSV as a mapping (an optional header row is skipped)."""
    if not path:
        return None
    rows = list(csv.reader(io.StringIO(read_utf8(path), newline="")))
    out = {}
    for i, r in enumerate(rows, start=1):
        if len(r) != 2:
            raise InputFileError(str(path), "expected two columns", row=i)
        if i == 1 and r[0].lower() in ("fake", "deepfake", "id"):
            continue
        out[r[0].strip()] = r[1].strip()
    return out


def demo_gallery(demo: Any) -> Path:
    """The demo gallery: enrolled from the gallery augmentations, cached beside the dataset. The file names
    its photos, so a vendor with another recognizer enrols them again with it."""
    from mockvendors.analysis import PipelineAnalyzer
    from mockvendors.gallery import Gallery

    cached: Path = demo.root / "gallery.npz"
    if cached.is_file():
        loaded = Gallery.load(cached)
        if loaded.rebuild is not None:
            return cached
    g = Gallery.enrol({n: [str(p) for p in ps] for n, ps in demo.gallery_photos().items()}, PipelineAnalyzer(),
                      meta={n: {"tags": {"demo": "true"}} for n in demo.people})
    g.save(cached)
    return cached


@dataclass
class LoadedDataset:
    probes: list[Any]  # harness.datasets.probe.Probe
    name: str
    root: Path
    path: Path | None  # None: the embedded demo
    notice: str | None = None
    demo: Any = None  # the demo dataset object when path is None

    @property
    def description(self) -> str:
        return str(self.path) if self.path else "embedded demo (user cache)"


def load_probes(dataset: Path | None, *, split: str = "test", samples: int = 16, run_length: int = 5,
                pairs: str | Path | None = None, labels: str | Path | None = None,
                status: StatusFn = no_status) -> LoadedDataset:
    """The probes of a manifest or folder, or (``dataset=None``) of the embedded demo dataset."""
    if dataset is None:
        from harness.datasets.demo import demo_dataset

        with status("building the demo dataset (once; cached in the user cache)...") as advance:
            demo = demo_dataset(progress=advance)
        probes = demo.probes()
        loaded = LoadedDataset(probes, "demo", Path(demo.root), None, demo.notice(len(probes)), demo)
    else:
        from harness.datasets import load_dataset

        dataset = Path(dataset)
        with status(f"reading {dataset}..."):
            probes = load_dataset(dataset, split=split, samples=samples, run=run_length, pairs=read_pairs(pairs),
                                  labels=read_pairs(labels))
        loaded = LoadedDataset(probes, dataset.stem, dataset if dataset.is_dir() else dataset.parent, dataset)
    if not loaded.probes:
        raise DfiError(f"{dataset}: the dataset has no probes")
    return loaded


# ------------------------------------------------------------------ campaign
@dataclass
class CostEstimate:
    lines: list[Any]  # harness.campaign.cost.CostLine
    total: float
    unknown: bool


@dataclass
class RunResult:
    out_dir: Path
    results_csv: Path
    metrics_csv: Path
    metrics_json: Path
    metrics_png: Path
    confidence_png: Path
    report: Path
    summary: Any  # harness.campaign.CampaignSummary
    records: Any  # metrics records (pandas DataFrame)
    counts: Any
    notice: str | None
    rows: int
    report_s: float


@dataclass
class Campaign:
    """A campaign ready to run: dataset loaded, backend built, journal opened."""

    dataset: LoadedDataset
    vendors: list[str]
    backend_name: str
    backend: Any  # harness.backends.Backend
    runner: Any  # harness.campaign.CampaignRunner
    out_dir: Path
    crop: bool | str
    beta: float
    gamma: float
    _on_row: list[RowCallback] = field(default_factory=list)
    profiles: dict[str, str] = field(default_factory=dict)  # vendor -> profile override / set (mock backend)
    executor: Any = None  # harness.distributed.RaySettings: shards on a Ray cluster; None: this process
    recipe: Any = None  # harness.distributed.backend.BackendRecipe: how a Ray worker builds the backend
    shard_size: int | None = None  # probes per shard on Ray (None: from the campaign's size; a rerun keeps its plan)
    face_stage: Any = None  # harness.distributed.analysis.FaceStageReport: what the Ray Data face stage did

    @property
    def probes(self) -> list[Any]:
        return self.dataset.probes

    @property
    def costs_money(self) -> bool:
        return bool(self.backend.costs_money)

    def rows_done(self) -> dict[str, int]:
        """Rows per vendor already in the journal (resumed)."""
        return {v: sum(1 for (_, vv) in self.runner.rows if vv == v) for v in self.vendors}

    def planned_calls(self) -> dict[tuple[str, str], int]:
        return self.runner.planned_calls()

    def cost_estimate(self) -> CostEstimate:
        from harness.campaign.cost import estimate_cost, total_dollars

        planned = self.planned_calls()
        ms_images = planned.get(("ms", "similarity"), 0) * 2
        lines = estimate_cost(planned, ms_detect_images=ms_images)
        total, unknown = total_dollars(lines)
        return CostEstimate(lines, total, bool(unknown))

    def run(self, on_row: RowCallback | None = None) -> Any:
        """Make the vendor calls (resuming from the journal); the campaign summary."""
        if on_row is not None:
            self._on_row.append(on_row)
        try:
            if self.executor is None:
                return self.runner.run()
            from harness.distributed.campaign import run_sharded

            return run_sharded(self.runner, self.recipe, self.executor, shard_size=self.shard_size,
                               on_row=self.runner.on_row, on_stage=lambda report: setattr(self, "face_stage", report))
        finally:
            if on_row is not None:
                self._on_row.remove(on_row)

    def reporting_thresholds(self) -> dict[str, float] | None:
        """Vendor -> the 0-100 confidence below which the in-process mocks name no one; None for the
        other backends (what a real service or a recording used is not known here)."""
        if self.backend_name != "mock":
            return None
        from mockvendors.profile import load_profile

        out = {}
        for v in self.vendors:
            profile = load_profile(v, self.profiles.get(v))
            out[v] = 100.0 * profile.report_threshold / profile.scale
        return out

    def write_outputs(self, summary: Any) -> RunResult:
        """results.csv, metrics, plots and report.html in the output folder."""
        from harness.report import build_report
        from harness.results.io import results_from_rows, write_results

        t0 = time.perf_counter()
        out_dir = self.out_dir
        results = results_from_rows(self.runner.ordered_rows(), origin=str(out_dir / "journal.jsonl"))
        write_results(results, out_dir / "results.csv")
        facts = [("dataset", self.dataset.description), ("probes", str(len(self.probes))),
                 ("vendors", ", ".join(self.vendors)), ("backend", self.backend_name),
                 *([("mock profiles", ", ".join(f"{v} {p}" for v, p in self.profiles.items()))] if self.profiles
                   else []),
                 ("face crop before upload", "no" if self.crop is False else f"yes ({cropper_name(self.crop)})"),
                 ("rows", f"{len(results)} ({summary.error_total} with an error)"),
                 ("vendor calls this run", f"{summary.vendor_calls} made, {summary.cache_hits} cache hits"),
                 ("rows resumed from the journal", str(summary.rows_resumed))]
        title = (f"dfi campaign: {self.dataset.name} x {', '.join(self.vendors)} "
                 f"({self.backend_name})")
        files = build_report(
            out_dir, results, title=title, facts=facts, notice=self.dataset.notice, beta=self.beta, gamma=self.gamma,
            tau=self.reporting_thresholds(), backend=self.backend_name,
            profile=", ".join(f"{v} {p}" for v, p in self.profiles.items())
            or ("default (the built-in profiles)" if self.backend_name == "mock" else None),
            inputs=[self.dataset.path] if self.dataset.path else [], image_root=Path(self.dataset.root),
            genuine_images={p.probe_id: p.target_images[0] for p in self.probes if p.target_images})
        return RunResult(out_dir=out_dir, results_csv=out_dir / "results.csv", metrics_csv=out_dir / "metrics.csv",
                         metrics_json=out_dir / "metrics.json", metrics_png=files.metrics_png,
                         confidence_png=files.confidence_png, report=files.report, summary=summary,
                         records=files.records, counts=files.counts, notice=self.dataset.notice, rows=len(results),
                         report_s=time.perf_counter() - t0)


def default_out_dir(dataset_name: str, backend: str) -> Path:
    return Path("runs") / f"{dataset_name}-{backend}"


def prepare_campaign(*, dataset: Path | None = None, vendors: Sequence[str] | None = None,
                     backend: str = "mock", out_dir: Path | None = None, gallery: Path | None = None,
                     host: str = "127.0.0.1", ports: Mapping[str, int] | None = None, cassettes: Path | None = None,
                     concurrency: int = 4, batch_size: int = DEFAULT_BATCH_SIZE,
                     rate: Mapping[str, float] | None = None,
                     crop: bool | str = True, split: str = "test", samples: int = 16, run_length: int = 5,
                     pairs: str | Path | None = None, labels: str | Path | None = None, beta: float = 90.0,
                     gamma: float = 80.0, max_retries: int | None = 3, retry_errors: bool = False,
                     fresh: bool = False, profiles: Mapping[str, Any] | None = None,
                     executor: str = "local", workers: int | None = None, shard_size: int | None = None,
                     status: StatusFn = no_status) -> Campaign:
    """Load the dataset, build the backend and the runner, open the journal (resume). ``profiles``:
    vendor -> profile override or profile set name for the in-process mocks (``dfi run --profile``).
    ``executor``: ``local`` (this process), ``ray`` (a local Ray instance on this machine's CPUs) or
    ``ray=ADDRESS`` (a running cluster; the output folder and the images on a filesystem its nodes
    share); ``workers``: shards at once on Ray (default: the cluster's CPUs)."""
    vendors = registry.names() if vendors is None else vendors
    from harness.campaign import CampaignOptions, CampaignRunner
    from harness.distributed.cluster import parse_executor, require_ray

    _, ray_settings = parse_executor(executor)
    if ray_settings is not None:
        require_ray()  # before the dataset is read: the one-line install hint comes first
        ray_settings = replace(ray_settings, workers=workers)

    vendor_list = list(vendors)
    data = load_probes(dataset, split=split, samples=samples, run_length=run_length, pairs=pairs, labels=labels,
                       status=status)
    out = Path(out_dir) if out_dir else default_out_dir(data.name, backend)
    if fresh and out.exists():
        (out / "journal.jsonl").unlink(missing_ok=True)
        shutil.rmtree(out / "crops", ignore_errors=True)
        shutil.rmtree(out / "shards", ignore_errors=True)  # the Ray executor's shard journals

    gallery_src: Path | None = gallery
    if backend == "mock" and gallery is None and data.demo is not None:
        gallery_src = demo_gallery(data.demo)
    if backend == "mock-http":
        from harness.backends import check_servers

        check_servers(vendor_list, host, dict(ports or {}))
    settings: dict[str, Any] = dict(gallery=gallery_src, host=host, ports=ports, cassettes=cassettes, rate=rate,
                                    max_retries=max_retries, profiles=profiles)
    # the Ray executor's workers build their backends from the recipe; the driver builds its own from it too
    recipe = build_backend(backend, vendor_list, **settings, as_recipe=True) if ray_settings is not None else None
    with status(f"starting the {backend} backend (enrolling the gallery)..." if gallery_src is not None
                else f"starting the {backend} backend...") as advance, Gallery.enrolment_progress(advance):
        be = recipe.build() if recipe is not None else build_backend(backend, vendor_list, **settings)

    options = CampaignOptions(concurrency=concurrency, crop=crop, retry_errors=retry_errors,
                              source=f"{data.name}-{backend}", dataset_root=Path(data.root),
                              fatal_errors=be.fatal_errors, batch_size=batch_size)
    campaign = Campaign(data, vendor_list, backend, be, None, out, crop, beta, gamma,
                        profiles={v: str(p) for v, p in (profiles or {}).items()},
                        executor=ray_settings, recipe=recipe,
                        shard_size=shard_size)

    def on_row(vendor: str, row: dict[str, Any]) -> None:
        for callback in campaign._on_row:
            callback(vendor, row)

    campaign.runner = CampaignRunner(data.probes, be.vendors, out, options, on_row=on_row)
    campaign.runner.open_journal()
    return campaign


def run_campaign(*, dataset: Path | None = None, vendors: Sequence[str] | None = None,
                 backend: str = "mock", out_dir: Path | None = None, gallery: Path | None = None,
                 host: str = "127.0.0.1", ports: Mapping[str, int] | None = None, cassettes: Path | None = None,
                 concurrency: int = 4, batch_size: int = DEFAULT_BATCH_SIZE,
                 rate: Mapping[str, float] | None = None,
                 crop: bool | str = True, split: str = "test", samples: int = 16, run_length: int = 5,
                 pairs: str | Path | None = None, labels: str | Path | None = None, beta: float = 90.0,
                 gamma: float = 80.0, max_retries: int | None = 3, retry_errors: bool = False, fresh: bool = False,
                 allow_cost: bool = False, profiles: Mapping[str, Any] | None = None,
                 executor: str = "local", workers: int | None = None, shard_size: int | None = None,
                 status: StatusFn = no_status, on_row: RowCallback | None = None) -> RunResult:
    """Run a dataset against vendors (resumably) and write results, metrics, plots and a report.

    ``dataset=None``: the embedded demo dataset. A backend that costs money (``real``) runs only
    with ``allow_cost=True``. ``executor="ray"`` / ``"ray=ADDRESS"``: the probes sharded over a Ray
    cluster (:mod:`harness.distributed`), the same rows as in this process.
    ``on_row(vendor, row)`` is called for every finished row.
    """
    vendors = registry.names() if vendors is None else vendors
    campaign = prepare_campaign(dataset=dataset, vendors=vendors, backend=backend, out_dir=out_dir, gallery=gallery,
                                host=host, ports=ports, cassettes=cassettes, concurrency=concurrency,
                                batch_size=batch_size, rate=rate, crop=crop, split=split, samples=samples,
                                run_length=run_length, pairs=pairs, labels=labels, beta=beta, gamma=gamma,
                                max_retries=max_retries, retry_errors=retry_errors, fresh=fresh, profiles=profiles,
                                executor=executor, workers=workers, shard_size=shard_size, status=status)
    if campaign.costs_money and not allow_cost:
        raise DfiError(f"backend {backend} makes paid calls: pass allow_cost=True")
    summary = campaign.run(on_row)
    return campaign.write_outputs(summary)
