#!/usr/bin/env bash
# The whole GPU benchmark suite in one command, sized to finish in under 8 minutes on one H100/H200.
#
# Uses only what such a machine has (python3 with PyTorch+CUDA, onnx, onnxscript, onnxruntime without
# CUDA) plus benchmarks/.carry/ from benchmarks/prepare_gpu_carry.sh (the onnx2torch wheel, the installed
# face models). No network, no pip install of the project: it runs from the source tree.
#
#   bash benchmarks/gpu.sh            # results -> $OUT if set (the lent machine's return folder),
#                                     # else benchmarks/results/
#
# Backends: torch-cuda (ONNX -> PyTorch via onnx2torch, channels-last, CUDA graphs), fp16 then fp32;
# plus onnxruntime CUDA and TensorRT when onnxruntime-gpu is installed. Without a CUDA GPU (or without
# PyTorch/onnx2torch) it says so, runs the small CPU configuration instead and exits 0.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
CARRY=benchmarks/.carry
RESULTS="${OUT:-benchmarks/results}"
BUDGET="${DFI_GPU_BUDGET:-330}"   # seconds of timing; conversion and start-up come on top
mkdir -p "$RESULTS"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
started=$(date +%s)

if compgen -G "$CARRY/wheels/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/dfi-site \
    "$CARRY"/wheels/*.whl && export PYTHONPATH="/tmp/dfi-site:$PYTHONPATH"
fi
if [ -d "$CARRY/cache/models" ] && [ -z "${DFI_CACHE_DIR:-}" ]; then
  # a writable copy: the reference detectors are built into the cache on first use
  mkdir -p /tmp/dfi-cache && cp -r "$CARRY/cache/." /tmp/dfi-cache/ && export DFI_CACHE_DIR=/tmp/dfi-cache
fi

# DFI_GPU_SH_BACKENDS / DFI_GPU_SH_SMOKE=1 exist to test this script's GPU path on a CPU-only machine
gpu_backends="${DFI_GPU_SH_BACKENDS:-}"
[ -n "$gpu_backends" ] || gpu_backends=$("$PY" - <<'PYEOF'
from harness.bench.runners import backend_status
# torch-cuda first: TensorRT engine builds (one per model and batch) are slow and would eat the budget
order = ["torch-cuda", "ort-cuda", "ort-trt"]
usable = [b for b in order if backend_status(b) is None]
for b in order:
    if b not in usable:
        print(f"gpu.sh: backend {b} unavailable: {backend_status(b)}", file=__import__("sys").stderr)
print(" ".join(usable))
PYEOF
)
if [ -z "$gpu_backends" ]; then
  echo "gpu.sh: no usable GPU backend here (no CUDA GPU, or no PyTorch+onnx2torch / onnxruntime-gpu)."
  echo "gpu.sh: running the small CPU configuration instead; these are NOT GPU results and are not saved"
  echo "gpu.sh: under benchmarks/results (see ${OUT:-/tmp}/dfi-bench-gpu-fallback.json)."
  "$PY" -m harness bench --quick --backend ort-cpu --model fr_feature --model meso4 --model xception \
    --batch 1 --batch 4 --no-pipeline --note "gpu.sh CPU fallback (no GPU backend)" \
    --out "${OUT:-/tmp}/dfi-bench-gpu-fallback.json"
  echo "gpu.sh: done (CPU fallback) in $(( $(date +%s) - started )) s"
  exit 0
fi

args=()
for b in $gpu_backends; do args+=(--backend "$b"); done
# goal models first (embedder, Xception), so a spent budget never cuts them
models=(--model fr_feature --model xception --model all)
batches=(--batch 1 --batch 8 --batch 32 --batch 128 --batch 256)
if [ "${DFI_GPU_SH_SMOKE:-0}" = 1 ]; then models=(--model meso4 --model fr_feature); batches=(--batch 1 --batch 2); fi
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
name=$("$PY" -c 'from harness.bench.runners import nvidia_smi; import re; s = nvidia_smi(); print(re.sub(r"[^a-z0-9]+", "-", (s or {"name": "gpu"})["name"].lower()).strip("-"))')
out="$RESULTS/gpu-$name.json"
"$PY" -m harness bench "${args[@]}" --dtype fp16 --dtype fp32 "${models[@]}" "${batches[@]}" \
  --budget "$BUDGET" --no-pipeline \
  --note "GPU run by benchmarks/gpu.sh; the face pipeline (CPU onnxruntime) is benchmarked on the CPU machine" \
  --out "$out"
rc=$?
if [ "$RESULTS" = "benchmarks/results" ] && [ $rc -eq 0 ]; then "$PY" -m harness bench --report; fi
echo "gpu.sh: done in $(( $(date +%s) - started )) s -> $out (exit $rc)"
exit $rc
