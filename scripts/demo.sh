#!/usr/bin/env bash
# The main job of the README: installs what is needed (scripts/install.sh), then runs `haris demo`.
# Extra arguments go to it, e.g. `bash scripts/demo.sh --quick` or `--out runs/demo2`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1
exec .venv/bin/haris demo "$@"
