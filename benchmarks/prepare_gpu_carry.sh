#!/usr/bin/env bash
# Prepare what benchmarks/gpu.sh needs on a GPU machine that has no network, into the git-ignored
# folder benchmarks/.carry/ (about 10 MB): the onnx2torch wheel (pure Python, from PyPI) and a copy of
# the installed face models and demo photos from the dfi cache. Run it here, where PyPI is reachable
# and `dfi models fetch` has run; then carry benchmarks/.carry with the working tree, e.g. with the
# session's device tool: carry ["benchmarks/.carry"], command "bash benchmarks/gpu.sh".
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
CARRY=benchmarks/.carry
ONNX2TORCH_VERSION="${ONNX2TORCH_VERSION:-1.5.15}"

mkdir -p "$CARRY/wheels"
rm -f "$CARRY"/wheels/onnx2torch-*.whl
"$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$CARRY/wheels" "onnx2torch==$ONNX2TORCH_VERSION"

# the prepared (batch-dynamic) models and the demo photos, exactly as the cache holds them
CACHE=$("$PY" -c 'from harness.paths import cache_dir; print(cache_dir())')
"$PY" -c 'from harness.models import model_path, demo_image_paths
for n in ("fr_detect", "fr_landmark", "fr_feature", "fr_liveness"): model_path(n)
demo_image_paths()' || { echo "prepare_gpu_carry.sh: run 'dfi models fetch' first" >&2; exit 1; }
rm -rf "$CARRY/cache"
mkdir -p "$CARRY/cache"
cp -r "$CACHE/models" "$CACHE/demo" "$CARRY/cache/"
rm -f "$CARRY/cache/models/.lock"

echo "prepared $CARRY ($(du -sh "$CARRY" | cut -f1)):"
find "$CARRY" -type f | sort
