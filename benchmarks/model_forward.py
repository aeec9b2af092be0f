"""Eager PyTorch FP32 CPU inference of the HARIS model: warm latency, per-stage times, parameters, peak memory.

    python -m haris.benchmarks.model_forward --presets paper,tiny --iterations 5 --out forward.json

Each preset runs in its own fresh worker process, because ru_maxrss is a high-water mark for the whole
process: measuring two presets in one process would report the larger one's peak for both.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from haris.benchmarks.machine_info import describe_machine, machine_summary
from haris.benchmarks.worker_process import python_command, python_environment
from haris.log_output import configure_logging

if TYPE_CHECKING:  # torch is imported in the worker only, so the parent process stays small
    import torch

    from haris.modeling import Haris

# Token ids of "a red car" in CLIP's vocabulary between the start and end tokens; the rest is padding (0).
EXAMPLE_TOKENS = [49406, 320, 736, 7117, 49407]
# glibc's malloc then backs its arenas with transparent huge pages, which cuts page faults on big activations.
HUGETLB_TUNABLE = "glibc.malloc.hugetlb=1"
STAGES = ("encode_image", "encode_text", "fuse", "decode")


def run_benchmark(
    presets: Sequence[str],
    image_size: int | None = None,
    expressions: int = 1,
    iterations: int = 10,
    threads: int | None = None,
    hugetlb: bool = False,
) -> dict:
    """Measure every preset in a fresh worker, and with hugetlb also again with huge-page malloc."""
    threads = threads or os.cpu_count() or 1
    settings = {"image_size": image_size, "expressions": expressions, "iterations": iterations, "threads": threads}
    results = []
    for preset in presets:
        for tunable in [None, HUGETLB_TUNABLE] if hugetlb else [None]:
            results.append(_spawn_worker(preset, settings, tunable))
    return {"machine": machine_info(threads), "settings": settings, "results": results}


def _spawn_worker(preset: str, settings: dict, tunable: str | None) -> dict:
    env = python_environment()
    if tunable:
        env["GLIBC_TUNABLES"] = ":".join(filter(None, [env.get("GLIBC_TUNABLES"), tunable]))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        command = python_command("-m", "haris.benchmarks.model_forward", "--worker", preset, "--worker-out", str(out))
        command += ["--expressions", str(settings["expressions"]), "--iterations", str(settings["iterations"])]
        command += ["--threads", str(settings["threads"])]
        if settings["image_size"]:
            command += ["--image-size", str(settings["image_size"])]
        subprocess.run(command, env=env, check=True)
        result = json.loads(out.read_text())
    # Recorded as the worker saw it, so a tunable inherited from the caller's shell is not hidden.
    result["glibc_tunables"] = env.get("GLIBC_TUNABLES", "")
    return result


def measure_preset(preset: str, image_size: int | None, expressions: int, iterations: int, threads: int) -> dict:
    """Run in the worker: build with random weights, time the forward and its stages, read the memory marks."""
    import torch

    from haris.config import load_model_config
    from haris.modeling import build_model, count_parameters

    torch.set_num_threads(threads)
    config = load_model_config(preset, [f"image_size={image_size}"] if image_size else [])
    model = build_model(config).eval()
    after_build = {"rss_after_build_mib": _current_rss_mib(), "peak_rss_after_build_mib": _peak_rss_mib()}
    image = torch.randn(1, 3, config.image_size, config.image_size)
    tokens = torch.zeros(expressions, config.max_words, dtype=torch.int32)
    tokens[:, : len(EXAMPLE_TOKENS)] = torch.tensor(EXAMPLE_TOKENS, dtype=torch.int32)
    with torch.inference_mode():
        latencies = _time_forward(model, image, tokens, iterations)
        stages = _time_stages(model, image, tokens)
    return {
        "preset": preset,
        "image_size": config.image_size,
        "expressions": expressions,
        "threads_used": torch.get_num_threads(),
        "params_total": count_parameters(model),
        "params_trainable": count_parameters(model, trainable_only=True),
        "latency_s": {"median": statistics.median(latencies), "min": min(latencies), "max": max(latencies), "all": latencies},
        "stage_s": stages,
        **after_build,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _time_forward(model: Haris, image: torch.Tensor, tokens: torch.Tensor, iterations: int) -> list[float]:
    model(image, tokens)  # warm-up: first-call allocations and oneDNN kernel selection are not steady state
    latencies = []
    for _ in range(iterations):
        start = time.perf_counter()
        model(image, tokens)
        latencies.append(time.perf_counter() - start)
    return latencies


def _time_stages(model: Haris, image: torch.Tensor, tokens: torch.Tensor) -> dict[str, float]:
    times = {}
    start = time.perf_counter()
    image_feats = model.encode_image(image)
    times["encode_image"] = time.perf_counter() - start
    start = time.perf_counter()
    text = model.encode_text(tokens)
    times["encode_text"] = time.perf_counter() - start
    start = time.perf_counter()
    fused = model.fuse(*image_feats, *text)
    times["fuse"] = time.perf_counter() - start
    start = time.perf_counter()
    model.decode(fused.vis_tokens, fused.lang_tokens, text.text_mask)
    times["decode"] = time.perf_counter() - start
    return times


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _current_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine_info(threads: int) -> dict:
    """The benchmarks' machine description, plus the huge-page setting this benchmark compares."""
    return describe_machine(threads) | {"transparent_hugepage": _read_or_empty("/sys/kernel/mm/transparent_hugepage/enabled")}


def _read_or_empty(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def format_markdown(report: dict) -> str:
    """One row per worker run; times in seconds, memory in MiB."""
    header = ["preset", "GLIBC_TUNABLES", "image size", "expressions", "params total", "params trainable"]
    header += ["median s", "min s", "max s", *(f"{stage} s" for stage in STAGES), "RSS after build MiB", "peak RSS MiB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report["results"]:
        latency = row["latency_s"]
        cells = [row["preset"], row["glibc_tunables"] or "-", row["image_size"], row["expressions"]]
        cells += [f"{row['params_total']:,}", f"{row['params_trainable']:,}"]
        cells += [f"{latency[key]:.4g}" for key in ("median", "min", "max")]
        cells += [f"{row['stage_s'][stage]:.4g}" for stage in STAGES]
        cells += [f"{row['rss_after_build_mib']:.0f}", f"{row['peak_rss_mib']:.0f}"]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    lines.append(f"\n{machine_summary(report['machine'])}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()  # run as `python -m`, outside the `haris` command
    parser = argparse.ArgumentParser(description="Eager FP32 CPU latency and memory of the HARIS forward.")
    parser.add_argument("--presets", default="paper,tiny", help="comma-separated preset names or config paths")
    parser.add_argument("--image-size", type=int, help="override the preset's image size")
    parser.add_argument("--expressions", type=int, default=1, help="expressions per image (B)")
    parser.add_argument("--iterations", type=int, default=10, help="timed forwards after one warm-up")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    parser.add_argument("--hugetlb", action="store_true", help=f"also run each preset with GLIBC_TUNABLES={HUGETLB_TUNABLE}")
    parser.add_argument("--out", type=Path, help="write the full report as JSON here")
    # Internal: one preset measured in this process, its result written for the parent to read.
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = measure_preset(args.worker, args.image_size, args.expressions, args.iterations, args.threads)
        args.worker_out.write_text(json.dumps(result))
        return 0
    presets = [name.strip() for name in args.presets.split(",") if name.strip()]
    report = run_benchmark(presets, args.image_size, args.expressions, args.iterations, args.threads, args.hugetlb)
    print(format_markdown(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
