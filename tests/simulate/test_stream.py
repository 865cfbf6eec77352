"""The streamed simulation: chunked probes and rows are the in-memory ones whatever the chunk size, and
the tables computed a part at a time are the whole table's."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.errors import DfiError
from harness.results.io import read_results
from harness.simulate.defense import DetectorSetting, dataset_defense, defense_study, streamed_combiner
from harness.simulate.parallel import default_workers
from harness.simulate.params import DatasetSpec, SimulationError, SimulationParams
from harness.simulate.parts import interleave, read_part
from harness.simulate.run import simulate
from harness.simulate.sensitivity import beta_gamma_table, pooled_beta_gamma
from harness.simulate.stream import simulate_to_file, vendor_chunk
from harness.simulate.world import World
from harness.sweep import sweep

KEY = ["vendor", "dataset", "probe_id"]
SETTINGS = [DetectorSetting("indep", 0.9, 0.1), DetectorSetting("corr", 0.9, 0.1, 0.9)]


@pytest.fixture(scope="module")
def params() -> SimulationParams:
    # one dataset over a 2,048-probe vendor block and a tail (so chunks of 2,048 and 4,096 cut it
    # differently), a small synthesis one (a second reference per probe)
    datasets = (DatasetSpec("Big", "replacement", 2200, 20), DatasetSpec("Blend", "synthesis", 40, 10))
    return replace(SimulationParams.load(), datasets=datasets)


@pytest.fixture(scope="module")
def eager(params):
    return simulate(params)


@pytest.fixture(scope="module")
def streamed(params, tmp_path_factory):
    path = tmp_path_factory.mktemp("stream") / "results.parquet"
    return simulate_to_file(params, path, chunk=2048)


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(KEY).reset_index(drop=True)


def test_probe_chunks_are_the_eager_worlds_probes_whatever_the_chunk_size(params, eager):
    lazy = World(params, probes=False)
    assert all(not v.datasets for v in lazy.views.values())
    for i in range(len(params.datasets)):
        for size in (7, 2100):
            chunks = list(lazy.probe_chunks(i, size))
            assert all(len(c[params.recognizer].target) <= size for c in chunks)
            for r, view in eager.world.views.items():
                for f in ("target", "other", "fake", "target_photo", "other_photo", "identity_cos"):
                    got = np.concatenate([getattr(c[r], f) for c in chunks])
                    assert np.array_equal(got, getattr(view.datasets[i], f)), (i, r, f, size)


def test_streamed_rows_are_the_in_memory_rows(eager, streamed):
    table = read_results(streamed.path)
    assert streamed.rows == len(table) == len(eager.results)
    pd.testing.assert_frame_equal(_sorted(table), _sorted(eager.results))
    for ids, keys in zip(streamed.probe_keys, eager.probe_keys, strict=True):
        assert ids.tolist() == keys.tolist()


def test_the_chunk_size_does_not_change_the_rows(params, streamed, tmp_path):
    other = simulate_to_file(params, tmp_path / "r.parquet", chunk=3000)  # rounded up to 2 vendor blocks
    pd.testing.assert_frame_equal(_sorted(read_results(other.path)), _sorted(read_results(streamed.path)))
    for a, b in zip(other.quality, streamed.quality, strict=True):
        assert np.array_equal(a, b)
    assert vendor_chunk(3000) == 4096 and vendor_chunk(1) == 2048


def test_the_number_of_worker_threads_does_not_change_the_rows(params, streamed, tmp_path):
    """One thread or several, and the vendors' products on one BLAS thread each either way: the same rows."""
    other = 1 if default_workers() > 1 else 2  # the fixture ran with default_workers()
    alone = simulate_to_file(params, tmp_path / "r.parquet", chunk=2048, workers=other)
    pd.testing.assert_frame_equal(read_results(alone.path), read_results(streamed.path))
    with pytest.raises(SimulationError, match="at least one worker"):
        simulate_to_file(params, None, chunk=2048, workers=0)


def test_tables_a_dataset_at_a_time_are_the_whole_tables(params, eager, streamed):
    whole = eager.results
    parts = [read_part(streamed.path, "dataset", name) for name in sorted(d.name for d in params.datasets)]
    pd.testing.assert_frame_equal(interleave([sweep(p) for p in parts], ["parameter", "metric", "basis"]),
                                  sweep(whole))
    pd.testing.assert_frame_equal(pooled_beta_gamma([beta_gamma_table(p) for p in parts]),
                                  beta_gamma_table(whole), check_dtype=False)


def test_the_defense_a_dataset_at_a_time_is_the_whole_worlds(params, eager, streamed):
    train_params = replace(params.scaled(0.1), seed=params.seed + 1)
    whole = defense_study(eager, simulate(train_params), SETTINGS)
    comb = streamed_combiner(simulate_to_file(train_params, None, []), SETTINGS)
    by_name = {d.name: i for i, d in enumerate(params.datasets)}
    parts = [dataset_defense(read_part(streamed.path, "dataset", n), params.datasets[by_name[n]],
                             streamed.probe_keys[by_name[n]], streamed.quality[by_name[n]], SETTINGS, comb)
             for n in sorted(by_name)]
    pd.testing.assert_frame_equal(interleave(parts, ["policy"]), whole)


def test_bad_chunk_sizes_and_files_are_one_line_errors(params, tmp_path):
    for bad in (0, -5):
        with pytest.raises(SimulationError, match="at least one probe"):
            simulate_to_file(params, tmp_path / "r.parquet", chunk=bad)
        with pytest.raises(SimulationError, match="at least one probe"):
            next(World(params, probes=False).probe_chunks(0, bad))
    with pytest.raises(SimulationError, match="writes Parquet"):
        simulate_to_file(params, tmp_path / "r.csv")
    assert not list(tmp_path.iterdir())  # nothing half-written
    assert issubclass(SimulationError, DfiError)


def test_the_cli_refuses_a_bad_chunk_in_one_line(capsys):
    from harness.cli import main

    for value in ("0", "many"):
        with pytest.raises(SystemExit) as exit_info:
            main(["simulate", "--chunk", value])
        assert exit_info.value.code == 2
        lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "--chunk" in lines[0], lines


def test_an_empty_stream_still_writes_a_results_file(params, tmp_path: Path):
    out = simulate_to_file(params, tmp_path / "empty.parquet", vendors=[])
    assert out.rows == 0 and read_results(out.path).empty
    assert sum(len(k) for k in out.probe_keys) == params.total_probes
