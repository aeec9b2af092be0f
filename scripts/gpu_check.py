"""The GPU half of the checks in one run (scripts/gpu_check.sh starts it; docs/benchmarks.md, "The GPU check").

On a machine with an NVIDIA GPU, this repository and a Python with torch (no registry access needed):
1. stages the package in a throwaway folder, laid out as pyproject.toml's package-dir maps it, and
   builds the CUDA kernels of cpp_ops there with this machine's nvcc, for this GPU only (setup.py's own
   nvcc command, read from setup.py, so no setuptools is needed);
2. runs the `gpu` tests that need no TensorRT against that copy: the CUDA kernels against their numpy
   reference (no model needed), then the model's GPU tests when segment_anything and open_clip import;
3. times the paper preset's eager forward at 1024 (random weights) in FP32, BF16 and FP16 autocast;
4. runs the `gpu and trt` tests when TensorRT imports.
Every step has its own time limit within one budget (10 minutes in all); whatever ran, skipped (and
why) or failed goes to one report, gpu_check.md, with the details in gpu_check.json beside it.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from check_steps import Check

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 560.0  # under the 10 minutes of gpu_check.sh's own limit, leaving time to write the report
RESULT = re.compile(r"^(\S+::\S+) (PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)")
SKIP_REASON = re.compile(r"^SKIPPED \[\d+\] (\S+): (.*)$")
KERNEL_TESTS = ["tests/cpp_ops/test_cuda_sources.py", "tests/runtime/test_device_prepost.py"]


def package_dirs() -> dict[str, str]:
    """pyproject.toml's [tool.setuptools.package-dir]: import name -> folder (read as text: Python 3.10 has no tomllib)."""
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[tool.setuptools.package-dir]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^"([\w.]+)"\s*=\s*"([\w./]+)"', section, re.MULTILINE))


def stage_package(site: Path) -> None:
    """Copy each mapped folder where the install would put it: haris/, then export/ as haris/export, ..."""
    for name, folder in sorted(package_dirs().items(), key=lambda item: item[0].count(".")):
        target = site.joinpath(*name.split("."))
        shutil.copytree(REPO / folder, target, ignore=shutil.ignore_patterns("__pycache__", "*.so"), dirs_exist_ok=True)


def setup_nvcc_functions() -> dict:
    """find_nvcc, cuda_arch_flags, nvcc_command and their constants from setup.py, without setuptools."""
    tree = ast.parse((REPO / "setup.py").read_text(encoding="utf-8"))
    wanted = {"find_nvcc", "cuda_arch_flags", "nvcc_command", "SOURCES", "CUDA_SOURCES", "DEFAULT_CUDA_ARCHS"}
    nodes = [
        node
        for node in tree.body
        if (isinstance(node, ast.FunctionDef) and node.name in wanted)
        or (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in wanted for t in node.targets))
    ]
    namespace = {"os": os, "shutil": shutil, "subprocess": subprocess, "Path": Path, "CompileError": RuntimeError}
    exec(compile(ast.Module(nodes, type_ignores=[]), str(REPO / "setup.py"), "exec"), namespace)
    return namespace


def build_kernels(check: Check, site: Path, compute_capability: str) -> None:
    """The CUDA library into the staged haris/cpp_ops, for this GPU's architecture only (fast)."""
    setup = setup_nvcc_functions()
    nvcc = setup["find_nvcc"]()
    if nvcc is None:
        check.record("build CUDA kernels", "skipped", 0, "no nvcc (CUDA_HOME/bin, PATH, /usr/local/cuda/bin): the kernel tests will skip")
        return
    os.environ["HARIS_CUDA_ARCHS"] = compute_capability.replace(".", "")
    output = site / "haris" / "cpp_ops" / "_prepost_cuda.so"
    try:
        command = setup["nvcc_command"](nvcc, str(output), [str(REPO / source) for source in setup["CUDA_SOURCES"]])
    except (RuntimeError, OSError) as error:
        check.record("build CUDA kernels", "failed", 0, str(error))
        return
    status, text, seconds = check.run("build CUDA kernels", command, 240)
    version = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout.strip().splitlines()[-1:]
    check.record(
        "build CUDA kernels",
        status,
        seconds,
        f"{' '.join(command[:1] + command[-4:])} (sm_{os.environ['HARIS_CUDA_ARCHS']})",
        nvcc=version,
        output_tail=text[-3000:],
    )


def run_tests(check: Check, name: str, site: Path, paths: list[str], marker: str, wanted_s: float, options: tuple[str, ...] = ()) -> None:
    """pytest on the staged package (run from the throwaway folder, so the checkout's haris/ is not on the path)."""
    if not importable("pytest", site):
        check.record(name, "skipped", 0, f"{sys.executable} has no pytest")
        return
    command = [sys.executable, "-m", "pytest", "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), "-o", "addopts=", "-p", "no:cacheprovider"]
    command += ["--import-mode=importlib", "-m", marker, "-v", "-rs", *options, *(str(REPO / path) for path in paths)]
    environment = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1", "HARIS_CACHE_DIR": str(site.parent / "cache")}
    status, text, seconds = check.run(name, command, wanted_s, cwd=site.parent, env=environment)
    outcomes = {}
    for line in text.splitlines():
        if found := RESULT.match(line.strip()):
            outcomes[found.group(2).lower()] = outcomes.get(found.group(2).lower(), 0) + 1
    if status == "failed" and not outcomes.get("failed") and not outcomes.get("error") and outcomes:
        status = "ran"  # pytest exits 5 when everything was deselected or skipped
    reasons = sorted({found.group(2) for line in text.splitlines() if (found := SKIP_REASON.match(line.strip()))})
    summary = ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())) or "no test ran"
    check.record(name, status, seconds, summary, outcomes=outcomes, skip_reasons=reasons, output_tail=text[-4000:])


def importable(module: str, site: Path) -> bool:
    code = f"import {module}"
    return (
        subprocess.run([sys.executable, "-c", code], capture_output=True, env={**os.environ, "PYTHONPATH": str(site)}, cwd=site.parent).returncode
        == 0
    )


def time_forward(check: Check, site: Path, out: Path) -> None:
    """The paper preset's forward on the GPU, measured in a worker process (see `forward_worker`)."""
    missing = [module for module in ("segment_anything", "open_clip") if not importable(module, site)]
    if missing:
        check.record(
            "paper forward on the GPU", "skipped", 0, f"the model needs {' and '.join(missing)} (pip install segment-anything open_clip_torch)"
        )
        return
    result = out / "forward.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--forward-worker", str(result)]
    status, text, seconds = check.run("paper forward on the GPU", command, 180, cwd=site.parent, env={**os.environ, "PYTHONPATH": str(site)})
    timings = json.loads(result.read_text()) if result.is_file() else {}
    detail = "; ".join(f"{mode} {row['median_ms']:.1f} ms" for mode, row in timings.get("modes", {}).items()) or text
    check.record("paper forward on the GPU", status, seconds, detail, forward=timings, output_tail=text[-3000:])


def forward_worker(result: Path, iterations: int = 10) -> None:
    """Run in the worker: random-weight paper preset at 1024, one image and one expression, eval mode."""
    import torch

    from haris.benchmarks.model_forward import EXAMPLE_TOKENS
    from haris.config import load_model_config
    from haris.modeling import build_model

    torch.manual_seed(0)
    config = load_model_config("paper")
    model = build_model(config).cuda().eval()
    image = torch.randn(1, 3, config.image_size, config.image_size, device="cuda")
    tokens = torch.zeros(1, config.max_words, dtype=torch.int32, device="cuda")
    tokens[0, : len(EXAMPLE_TOKENS)] = torch.tensor(EXAMPLE_TOKENS, dtype=torch.int32)
    modes, reference = {}, None
    for mode, dtype in (("fp32", None), ("bf16 autocast", torch.bfloat16), ("fp16 autocast", torch.float16)):
        with torch.inference_mode(), torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
            torch.cuda.reset_peak_memory_stats()
            times = []
            for index in range(iterations + 2):  # two warm-up passes: kernel selection, allocator
                torch.cuda.synchronize()
                start = time.perf_counter()
                logits = model(image, tokens).float()
                torch.cuda.synchronize()
                if index >= 2:
                    times.append(time.perf_counter() - start)
        reference = logits if reference is None else reference
        times.sort()
        modes[mode] = {
            "median_ms": 1000 * times[len(times) // 2],
            "min_ms": 1000 * times[0],
            "peak_memory_mib": torch.cuda.max_memory_allocated() / 2**20,
            "mask_agreement_with_fp32": float(((logits > 0) == (reference > 0)).float().mean()),
            "finite": bool(torch.isfinite(logits).all()),
        }
    facts = {
        "gpu": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
    }
    result.write_text(json.dumps({"preset": "paper", "image_size": config.image_size, "iterations": iterations, **facts, "modes": modes}, indent=1))


def gpu_facts() -> dict | None:
    """The first GPU as nvidia-smi lists it, or None without one."""
    try:
        query = "name,driver_version,compute_cap,memory.total"
        line = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows = [row.split(", ") for row in line.strip().splitlines() if row.count(", ") == 3]
    return dict(zip(("name", "driver", "compute_capability", "memory"), rows[0]), count=len(rows)) if rows else None


def write_report(check: Check, out: Path) -> Path:
    """gpu_check.json (everything) and gpu_check.md (the table to read, and to copy into docs/measurements.md)."""
    lines = []
    for step in check.steps:
        if step.get("skip_reasons"):
            lines += ["", f"Skipped in `{step['name']}`, and why:", *(f"- {reason}" for reason in step["skip_reasons"])]
        if step.get("forward", {}).get("modes"):
            lines += [
                "",
                "| paper preset, 1024, 1 image x 1 expression | median ms | min ms | peak MiB | masks as FP32 |",
                "| --- | --- | --- | --- | --- |",
            ]
            lines += [
                f"| {mode} | {row['median_ms']:.1f} | {row['min_ms']:.1f} | {row['peak_memory_mib']:.0f} | {row['mask_agreement_with_fp32']:.4f} |"
                for mode, row in step["forward"]["modes"].items()
            ]
    return check.write_report(out, "GPU check", lines)


def run_check(out: Path, budget_s: float) -> int:
    gpu = gpu_facts()
    if gpu is None:
        print("gpu_check: no NVIDIA GPU on this machine (nvidia-smi lists none): nothing to check")
        return 0
    check = Check("gpu_check", budget_s)
    check.facts = {"gpu": f"{gpu['name']} x{gpu['count']} (compute capability {gpu['compute_capability']}, {gpu['memory']}, driver {gpu['driver']})"}
    check.facts |= {"python": sys.version.split()[0], "repository": str(REPO), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with tempfile.TemporaryDirectory(prefix="haris-gpu-check-") as scratch:
        site = Path(scratch) / "site"
        stage_package(site)
        build_kernels(check, site, gpu["compute_capability"])
        # Without tests/conftest.py (it builds the model): the kernels need neither segment_anything nor open_clip.
        run_tests(check, "gpu tests: CUDA kernels", site, KERNEL_TESTS, "gpu", 120, ("--noconftest",))
        time_forward(check, site, out)
        if importable("segment_anything", site) and importable("open_clip", site):
            others = tuple(f"--ignore={REPO / path}" for path in KERNEL_TESTS)
            run_tests(check, "gpu tests: the model and the rest", site, ["tests"], "gpu and not trt", 150, others)
        else:
            check.record(
                "gpu tests: the model and the rest",
                "skipped",
                0,
                "segment_anything or open_clip does not import (tests/conftest.py builds the model)",
            )
        if importable("tensorrt", site) or importable("tensorrt_rtx", site):
            run_tests(check, "gpu tests: TensorRT", site, ["tests"], "gpu and trt", 600)
        else:
            check.record("gpu tests: TensorRT", "skipped", 0, "neither tensorrt nor tensorrt_rtx imports")
    report = write_report(check, out)
    print(f"gpu_check: report {report} (and gpu_check.json); add it to docs/measurements.md")
    return 1 if check.failed() else 0


def main() -> int:
    parser = argparse.ArgumentParser(description="The GPU half of the checks in one run (docs/benchmarks.md).")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "gpu_check", help="report folder (default: runs/gpu_check)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for all steps together (default %(default)s)")
    parser.add_argument("--forward-worker", type=Path, help=argparse.SUPPRESS)  # internal: the timing process
    args = parser.parse_args()
    if args.forward_worker:
        forward_worker(args.forward_worker)
        return 0
    return run_check(args.out.resolve(), args.budget)


if __name__ == "__main__":
    sys.exit(main())
