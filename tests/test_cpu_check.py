"""scripts/cpu_check.sh runs every CPU measurement of the engine table and reports each step (tiny stand-ins)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from haris import cpp_ops
from haris.data.synthetic.synthetic_writer import write_synthetic_dataset

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
from cpu_check import cpu_paths  # noqa: E402  (a script's module, beside check_steps)


def test_bf16_paths_are_measured_only_where_the_cpu_runs_bf16():
    parity, speed = cpu_paths(native_bf16=False)
    assert not [path for path in parity + speed if "bf16" in path]
    assert set(parity) == {"onnxruntime:fp32", "openvino:fp32", "onnxruntime:int8", "openvino:int8"}
    assert speed[0] == "torch:fp32" and set(speed[1:]) == set(parity)  # the eager baseline first
    parity, speed = cpu_paths(native_bf16=True)
    assert {"openvino:bf16", "torch:bf16"} <= set(parity) and {"openvino:bf16", "torch:bf16"} <= set(speed)


def test_a_folder_given_without_its_parts_is_refused_before_any_step(tmp_path):
    (tmp_path / "paper" / "checkpoint").mkdir(parents=True)
    command = ["bash", str(SCRIPTS / "cpu_check.sh"), "--paper", "paper", "--out", "check"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHON": sys.executable}, cwd=tmp_path)
    assert done.returncode == 2 and f"--paper {tmp_path / 'paper'} has no bundle/" in done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["paper"]  # nothing made, nothing run


def test_the_check_measures_parity_speed_and_int8_kernels_in_one_run(int8_bundle, tiny_checkpoint, tmp_path):
    # The tiny model stands in for both the trained demo model and the paper preset: the steps, not the figures, are
    # tested, in about 80 s with the session's INT8 bundle (hence the default run, not `slow`, which is paper-size).
    demo, paper = tmp_path / "demo", tmp_path / "paper"
    demo.mkdir(), paper.mkdir()
    (demo / "bundle").symlink_to(int8_bundle)
    write_synthetic_dataset(demo / "data", num_images=12, image_size=256, seed=0, workers=1, progress=False)
    (paper / "checkpoint").symlink_to(tiny_checkpoint)
    (paper / "bundle").symlink_to(int8_bundle)
    out = tmp_path / "check"
    relative = ["--demo", "demo", "--paper", "paper", "--out", "check"]  # to the caller's folder, not to where the steps run
    command = ["bash", str(SCRIPTS / "cpu_check.sh"), *relative, "--threads", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHON": sys.executable}, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "cpu_check.json").read_text())
    assert [step["name"] for step in report["steps"]] == ["parity", "speed", "int8 kernels", "report"]
    statuses = {step["name"]: step["status"] for step in report["steps"]}
    # The random tiny model's INT8 masks may miss parity's bars (they do on a Zen 3): measured and said, not a failed step.
    assert statuses.pop("parity") in ("ran", "missed bars") and statuses == {"speed": "ran", "int8 kernels": "ran", "report": "ran"}
    if report["steps"][0]["status"] == "missed bars":
        assert "mask IoU with eager" in report["steps"][0]["detail"]
    assert (out / "parity" / "parity.json").is_file()
    speed = json.loads((out / "speed" / "speed.json").read_text())
    for run in speed["backends"]["onnxruntime:int8"]["runs"]:  # the INT8 graph's roof: its integer part at the INT8 peak, the rest float
        assert run["encoder_roof"].startswith("onnxruntime:int8 for ") and run["encoder_roof"].endswith(":fp32 for the rest")
    if cpp_ops.BACKEND != "numpy":  # the steps import the installed package, not the checkout's source folders
        assert "compiled kernels are not available" not in "".join(path.read_text() for path in (out / "logs").iterdir())
    assert "cpu class" in report["facts"] and "family" in report["facts"]["cpu"] or "avx2" not in report["facts"]["cpu"]
    benchmarks = (out / "benchmarks.md").read_text()
    for path in ("onnxruntime:int8", "openvino:int8", "torch:fp32"):
        assert path in benchmarks
    page = (out / "cpu_check.md").read_text()
    assert "(benchmarks.md)" in page and "(int8_kernels/int8_kernels.md)" in page and "bench parity" in page
