"""`haris bench serve` on the tiny bundle, with short levels: two replicas under 1 and 2 clients and a
replica killed mid-load, against the in-process Predictor. It runs as a command in its own process
with a Ray of its own (RAY_ADDRESS=local), so it neither meets nor stops the shared service of the
serve group."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from local_ports import free_port

pytestmark = pytest.mark.serve


def test_bench_serve_measures_each_level_and_survives_a_replica_kill(tiny_bundle, tmp_path):
    out = tmp_path / "serve_load"
    command = [sys.executable, "-m", "haris.cli", "bench", "serve", str(tiny_bundle), "--out", str(out)]
    argv = [*command, "--clients", "1,2", "--seconds", "2", "--replicas", "2", "--port", str(free_port())]
    argv += ["--max-queued-requests", "16"]
    environment = {**os.environ, "RAY_ADDRESS": "local"}
    done = subprocess.run(argv, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((out / "serve_load.json").read_text())
    assert (report["replicas"], report["seconds"], report["bundle"]) == (2, 2.0, str(tiny_bundle))
    assert report["in_process"]["requests"] > 0 and report["in_process"]["throughput"] > 0
    assert [level["clients"] for level in report["levels"]] == [1, 2]
    for level in report["levels"]:
        assert level["answered"] > 0 and level["lost"] == 0 and level["p50_ms"] <= level["p99_ms"], level
    kill = report["replica_kill"]
    assert kill["clients"] == 2 and kill["killed"] and kill["lost"] == 0 and kill["answered"] > 0, kill
    assert kill["running_after"] == 2  # Serve replaced the killed replica
    assert "| 2 |" in (out / "serve_load.md").read_text()
