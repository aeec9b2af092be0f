"""scripts/gpu_check.sh on a machine without an NVIDIA GPU: it says so and exits 0, at once."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.sh"


def test_without_a_gpu_the_check_says_so_and_succeeds(tmp_path):
    smi = shutil.which("nvidia-smi")
    if smi and "GPU " in subprocess.run([smi, "-L"], capture_output=True, text=True).stdout:
        pytest.skip("this machine has an NVIDIA GPU: scripts/gpu_check.sh runs the check itself")
    done = subprocess.run(["bash", str(SCRIPT), "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "no NVIDIA GPU" in done.stdout
    assert not (tmp_path / "report").exists()  # nothing ran, so no report
