"""The streamed simulation on a Ray cluster, one dataset per task.

A dataset's probes are drawn from random streams named after it (``<dataset>/...``), and the world's
celebrities and galleries from streams of their own, so the world of the parameters cut down to
one dataset draws exactly that dataset's probes of the whole world. Each task runs
:func:`harness.simulate.stream.simulate_to_file` on such a one-dataset world and writes its own
Parquet part; the driver joins the parts in dataset order into the results file, which is then
row for row the single-process one (that file also holds the rows dataset by dataset).

Within a dataset the probes come from streams drawn in order, so a dataset is the smallest piece
that can be computed apart without changing the numbers: the largest dataset bounds the speed-up.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from harness.distributed.cluster import RaySettings, ray_cluster
from harness.simulate.params import SimulationParams
from harness.simulate.run import vendor_behaviours
from harness.simulate.stream import DEFAULT_CHUNK, ResultsWriter, StreamedSimulation, simulate_to_file
from harness.simulate.world import World
from harness.vendors import registry
from mockvendors.profile import load_profile


def dataset_part(params: SimulationParams, index: int, path: Path | None, vendors: Sequence[str],
                 overrides: Mapping[str, dict[str, Any]] | None, chunk: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Dataset ``index`` of ``params``' world: its rows written to ``path`` (None: not written), its probe
    ids and deepfake qualities, and its row count."""
    one = replace(params, datasets=(params.datasets[index],))
    # the task holds one Ray CPU: one vendor thread beside the world's (the rows do not depend on it)
    sim = simulate_to_file(one, path, vendors, overrides, chunk, workers=1)
    return sim.probe_keys[0], sim.quality[0], sim.rows


def simulate_to_file_on_ray(params: SimulationParams, path: Path | None, vendors: Sequence[str] | None = None,
                            overrides: Mapping[str, dict[str, Any]] | None = None, chunk: int = DEFAULT_CHUNK,
                            progress: Callable[[int, int], None] | None = None,
                            settings: RaySettings | None = None) -> StreamedSimulation:
    """:func:`harness.simulate.stream.simulate_to_file` with the datasets computed as Ray tasks;
    ``progress(done, total)`` once per dataset."""
    vendors = list(registry.names() if vendors is None else vendors)
    n = len(params.datasets)
    parts = Path(tempfile.mkdtemp(prefix=".ray-parts-", dir=path.parent)) if path is not None else None
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with ray_cluster(settings) as ray:
            task = ray.remote(num_cpus=1)(dataset_part)
            part_paths = [None if parts is None else parts / f"{i:03d}.parquet" for i in range(n)]
            refs = [task.remote(params, i, part_paths[i], vendors, overrides, chunk) for i in range(n)]
            # the driver's world (celebrities and galleries only) is built meanwhile: the later tables need it
            recognizers = {load_profile(v, (overrides or {}).get(v)).recognizer for v in vendors}
            world = World(params, recognizers, probes=False)
            behaviours = vendor_behaviours(world, vendors, overrides)
            pending = list(refs)
            while pending:
                _, pending = ray.wait(pending, num_returns=1)
                if progress is not None:
                    progress(n - len(pending), n)
            results = ray.get(refs)
        rows = sum(r[2] for r in results)
        if path is not None:
            with ResultsWriter(path) as writer:
                for part in part_paths:
                    assert part is not None
                    pf = pq.ParquetFile(part)
                    for group in range(pf.num_row_groups):
                        writer.write(pf.read_row_group(group).to_pandas())
    finally:
        if parts is not None:
            shutil.rmtree(parts, ignore_errors=True)
    return StreamedSimulation(world, behaviours, path, rows, [r[0] for r in results], [r[1] for r in results])
