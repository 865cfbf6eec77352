"""``dfi defend`` as a library call: the DD1/DD2/DD3 defense measured by running a dataset through
the vendors without and with each detector policy (:func:`measure_defense`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import DfiError
from harness.jobs._common import JobInputError, LogFn, StatusFn, no_log, no_status
from harness.metrics.files import write_metric_csv
from harness.vendors import registry
from harness.vendors.registry import display_name
from mockvendors.gallery import Gallery

DEFAULT_DETECTORS = ("spectrum_lr", "fr_liveness", "sim:indep:0.9,0.1", "sim:corr:0.9,0.1,0.9")
LIVENESS_NOTE = ("fr_liveness is an anti-spoofing (printed photo / screen replay) model, not a deepfake detector: "
                 "measured at chance on deepfakes.")
REPORT_COLUMNS = ["policy", "dataset", "vendor", "probes", "tpr", "fpr", "accuracy", "NA_before", "NA_after",
                  "NA_study_est", "NA_indep_est", "NA_gap", "TA_before", "TA_after", "TA_study_est",
                  "genuine_named_before", "genuine_destroyed", "genuine_cost"]


@dataclass
class DefenseResult:
    out_dir: Path
    name: str  # dataset name ("demo" for the embedded demo)
    backend: str
    probes: int
    specs: list[str]  # the detectors
    table: pd.DataFrame  # defense.csv
    run: Any  # harness.defense.campaign.DefenseRun
    defense_csv: Path
    report: Path  # defense.md
    pngs: list[Path] = field(default_factory=list)
    demo: bool = False
    detector_report: dict | None = None  # spectrum_lr's evaluation, when it is among the detectors
    table2: pd.DataFrame | None = None  # the study's Table 2 layout (harness.defense.table2)
    table2_csv: Path | None = None
    guard: str = ""  # how images were prepared for the detectors (the evaluation guard), in words

    @property
    def detector_errors(self) -> Any:
        return self.run.detector_errors


def default_ensemble(specs: Sequence[str]) -> list[str]:
    """DD2/DD3's detectors: the non-simulated ones when there are two or more, else all of them."""
    real = [s for s in specs if not s.startswith("sim:")]
    from harness.detectors import spec_detector_name

    return real if len(real) >= 2 else [spec_detector_name(s) for s in specs]


def after_file_name(policy_name: str) -> str:
    return f"after-{policy_name.replace('[', '-').replace(']', '').replace('+', '-')}.csv"


def measure_defense(*, dataset: Path | None = None, vendors: Sequence[str] | None = None,
                    backend: str = "mock", gallery: Path | None = None, host: str = "127.0.0.1",
                    ports: Mapping[str, int] | None = None, cassettes: Path | None = None,
                    detectors: Sequence[str] = (), ensemble: Sequence[str] | None = None, beta: float = 90.0,
                    gamma: float = 80.0, out_dir: Path | None = None, retrain_detector: bool = False,
                    concurrency: int = 4, crop: bool | str = True, allow_cost: bool = False,
                    confirm_cost: Callable[[], bool] | None = None, reencode: bool = True,
                    executor: str = "local", workers: int | None = None,
                    status: StatusFn = no_status, log: LogFn = no_log) -> DefenseResult:
    """Run the dataset through the vendors without and with each detector policy; write defense.csv,
    the baseline and after-* results tables, plots and defense.md.

    ``dataset=None``: the embedded demo. A backend that costs money (``real``) runs only if
    ``allow_cost`` or ``confirm_cost()`` says yes (asked after the dataset is read). ``reencode``:
    the evaluation guard (every image re-encoded to one format and size before the detectors score
    it; :mod:`harness.detectors.guard`); table2.csv holds the study's Table 2 layout.
    ``executor``: where the detectors score the images: ``local`` (this process), ``ray`` (a local Ray
    instance) or ``ray=ADDRESS`` (a running cluster), as a Ray Data stage of at most ``workers`` actors
    (default: the cluster's CPUs; :mod:`harness.distributed.detect`); the scores are the same, and the
    campaigns run in this process either way.
    """
    from harness.distributed.cluster import parse_executor, require_ray

    _, ray_settings = parse_executor(executor)
    if ray_settings is not None:
        require_ray()  # before the dataset is read: the one-line install hint comes first
        ray_settings = replace(ray_settings, workers=workers)
    vendors = registry.names() if vendors is None else vendors
    from harness.backends import check_servers
    from harness.campaign import CampaignOptions
    from harness.defense.campaign import DEFAULT_GUARD, run_defense
    from harness.defense.plots import defense_bars, estimate_scatter
    from harness.defense.table2 import table2 as build_table2
    from harness.defense.trained_detector import load_or_train
    from harness.jobs.run import build_backend, demo_gallery
    from harness.results.io import write_results

    vendor_list = list(vendors)
    specs = list(detectors) or list(DEFAULT_DETECTORS)
    ens = list(ensemble) if ensemble is not None else default_ensemble(specs)
    demo = None
    if dataset is None:
        from harness.datasets.demo import demo_dataset

        with status("building the demo dataset (once; cached)...") as advance:
            demo = demo_dataset(progress=advance)
        probes, name = demo.probes(), "demo"
    else:
        from harness.datasets import load_dataset

        probes, name = load_dataset(Path(dataset)), Path(dataset).stem
    if not probes:
        raise DfiError("the dataset has no probes")
    out = Path(out_dir) if out_dir else Path("runs") / f"defend-{name}"
    port_map = dict(ports or {})
    if backend == "mock-http":
        check_servers(vendor_list, host, port_map)
    if backend == "real" and not allow_cost and not (confirm_cost is not None and confirm_cost()):
        raise JobInputError("the defense runs the dataset several times against the real services (it costs "
                            "money): not confirmed")
    gallery_src = gallery if gallery is not None else (demo_gallery(demo) if backend == "mock" and demo else None)
    with status(f"starting the {backend} backend...") as advance, Gallery.enrolment_progress(advance):
        be = build_backend(backend, vendor_list, gallery=gallery_src, host=host, ports=port_map, cassettes=cassettes)

    def trained() -> Any:
        with status("training spectrum_lr on the project's own deepfakes (once; cached)...") as advance:
            return load_or_train(retrain=retrain_detector, progress=advance)

    opts = CampaignOptions(concurrency=concurrency, source=f"{name}-{backend}", fatal_errors=be.fatal_errors,
                           crop=crop)
    guard = DEFAULT_GUARD if reencode else None
    score_images = None
    if ray_settings is not None:
        from harness.distributed.detect import RayDetectorScorer

        log(f"detectors on Ray ({ray_settings.address or 'a local instance'}); the campaigns in this process")
        score_images = RayDetectorScorer(ray_settings)
    run = run_defense(probes, be.vendors, out, specs, ensemble=ens, beta=beta, gamma=gamma, options=opts,
                      trained_loader=trained, guard=guard, score_images=score_images, log=log)
    table = run.table()
    out.mkdir(parents=True, exist_ok=True)
    write_metric_csv(table, out / "defense.csv")
    t2 = build_table2(run, probes)
    write_metric_csv(t2, out / "table2.csv")
    guard_text = guard.describe() if guard is not None else "images scored as given (evaluation guard off)"
    write_results(run.baseline, out / "baseline.csv")
    for o in run.outcomes:
        write_results(o.after, out / after_file_name(o.policy.name))
    pngs = [defense_bars(table, out / "defense_NA.png", "NA"), defense_bars(table, out / "defense_TA.png", "TA"),
            estimate_scatter(table, out / "estimate_vs_measured.png", "NA")]
    report = None
    if "spectrum_lr" in specs:
        report = load_or_train().model.report
    md = write_defense_report(out, name, backend, table, specs, run, pngs, t2, guard_text)
    return DefenseResult(out_dir=out, name=name, backend=backend, probes=len(probes), specs=specs, table=table,
                         run=run, defense_csv=out / "defense.csv", report=md, pngs=pngs, demo=demo is not None,
                         detector_report=report, table2=t2, table2_csv=out / "table2.csv", guard=guard_text)


def markdown_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in df.itertuples(index=False):
        lines.append("| " + " | ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in r) + " |")
    return "\n".join(lines)


def write_defense_report(out: Path, name: str, backend: str, table: pd.DataFrame, specs: Sequence[str], run: Any,
                         pngs: Sequence[Path], table2: pd.DataFrame | None = None, guard: str = "") -> Path:
    notes = [f"- {o.policy.name}: {o.policy.describe()}; {o.blocked_images} distinct images blocked"
             + (f"; {o.note}" if o.note else "") for o in run.outcomes]
    text = [f"# Defense measured: {name} ({backend})", "",
            "Attack success before and after each defense policy, measured by running the dataset through the "
            "vendors wrapped by the defense (a flagged image is answered \"no celebrity\"), beside the study's "
            "analytic estimate rate x (1 - detector accuracy) and the independence estimate rate x (1 - TPR).",
            "", "## Policies", *notes, ""]
    if "fr_liveness" in specs:
        text += [f"Note: {LIVENESS_NOTE}", ""]
    if table2 is not None:
        from harness.defense.table2 import CAPTION, to_markdown

        text += ["## In the layout of the study's Table 2", "", f"Detector input: {guard}.", "", CAPTION, "",
                 to_markdown(table2, {v: display_name(v) for v in registry.names()}), ""]
    text += ["## Per dataset x vendor (% of valid probes)", "", markdown_table(table[REPORT_COLUMNS]), ""]
    text += [f"![{p.stem}]({p.name})" for p in pngs]
    path = out / "defense.md"
    path.write_text("\n".join(text) + "\n")
    return path
