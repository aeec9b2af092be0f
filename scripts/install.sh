#!/usr/bin/env bash
# Creates .venv (once) and installs HARIS from this checkout with its development extras.
# torch comes first, pinned to the versions the train extra requires, and only when it does not
# import yet. Re-running is quick:
# dependencies already there are kept, and haris itself is rebuilt from the sources (`pip install .`,
# not editable, so the tests run against what a user's install gets).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip
if ! python -c "import torch, torchvision" 2>/dev/null; then
  pip install -q torch==2.14.1 torchvision==0.29.1
fi
pip install -q ".[dev]"
python -c "import haris.modeling, haris.export, haris.runtime" # fails loudly if the install did not work
