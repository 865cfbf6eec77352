#!/usr/bin/env bash
# The full CPU suite (every model, batches 1 8 32 128, plus the face pipeline) on onnxruntime CPU, then the
# README tables regenerated from benchmarks/results/*.json. A few minutes on 2 cores: iteration counts
# follow a time budget per configuration (see harness/bench/engine.py CPU_FULL and each result's "runs").
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
slug=$("$PY" -c 'from harness.bench.device import cpu_device; print(cpu_device(measure_bandwidth=False).slug)')
"$PY" -m harness bench --backend ort-cpu --model all --pipeline \
  --note "${DFI_BENCH_NOTE:-Run on a shared 2-core development VM while other jobs (tests of other parts) used the CPU too: see the load averages; numbers are lower bounds of what an idle machine gives.}" \
  --out "benchmarks/results/$slug.json" "$@"
"$PY" -m harness bench --report
