#!/usr/bin/env bash
# The test command of the README: installs what is needed (scripts/install.sh), checks the code with
# ruff (lint and format, configured in pyproject.toml), then runs pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow` or `-m gpu`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export HF_HUB_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/pytest "$@"
