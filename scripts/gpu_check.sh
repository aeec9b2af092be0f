#!/usr/bin/env bash
# The GPU half of the checks as one run, on a machine with an NVIDIA GPU and only this repository:
# builds the CUDA kernels with this machine's nvcc, runs the `gpu` tests, times the paper preset's
# forward, writes runs/gpu_check/gpu_check.md (docs/benchmarks.md, "The GPU check"). Ten minutes at most.
# Without a GPU it says so and exits 0. PYTHON names the interpreter with torch (default: python3).
# Extra arguments go to scripts/gpu_check.py (--out DIR, --budget SECONDS).
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "gpu_check: no NVIDIA GPU on this machine (nvidia-smi lists none): nothing to check"
  exit 0
fi
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import torch" 2>/dev/null; then
  echo "gpu_check: $PYTHON cannot import torch; set PYTHON to an interpreter that has it (e.g. PYTHON=.venv/bin/python)" >&2
  exit 2
fi
exec timeout 600 "$PYTHON" scripts/gpu_check.py "$@"
