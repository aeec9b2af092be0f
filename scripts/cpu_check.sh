#!/usr/bin/env bash
# The CPU measurements of docs/runtime.md's engine table for this machine's CPU, in one run: parity of
# every CPU path on a trained tiny model, speed of every CPU path on the paper preset at 1024, the INT8
# kernels' check (docs/benchmarks.md, "The CPU check"). Made from scratch it takes one to two hours on
# 2 cores; --demo and --paper reuse folders made before. PYTHON names the interpreter with haris
# installed (default: the checkout's .venv/bin/python, else python3). Arguments go to
# scripts/cpu_check.py; relative paths are the caller's.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${PYTHON:-}" ]; then
  PYTHON=python3
  [ -x "$here/../.venv/bin/python" ] && PYTHON="$here/../.venv/bin/python"
fi
# Checked from the scripts folder: from the checkout's root, Python would find its source folders first.
if ! (cd "$here" && "$PYTHON" -c "import haris.cli, torch") 2>/dev/null; then
  echo "cpu_check: $PYTHON cannot import haris and torch; install the project (bash scripts/install.sh) or set PYTHON" >&2
  exit 2
fi
export HF_HUB_OFFLINE=1
exec "$PYTHON" "$here/cpu_check.py" "$@"
