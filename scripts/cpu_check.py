"""The CPU measurements of docs/runtime.md's engine table, for one CPU, in one run (scripts/cpu_check.sh starts it).

What the table needs of a CPU class, every figure from this machine (docs/benchmarks.md, "The CPU check"):
1. the CPU: its model, family and model numbers, the flags that pick kernels, and the class
   `--backend auto` ranks it in;
2. a trained tiny model with INT8 graphs: a `haris demo` folder (`--demo`), else one made here
   (10 minutes of training), its bundle given INT8 graphs (`haris export --add`) when it has none;
3. parity of every CPU path with eager FP32 on its whole val split (`haris bench parity --localize`);
4. the paper preset at 1024 with random weights: a folder with checkpoint/ and bundle/ (`--paper`),
   else made here (`haris init paper`, `haris export` FP32 and INT8);
5. its speed, every CPU path in one run, one image with 1 and 16 expressions (`haris bench speed`);
6. the INT8 kernels: each INT8 graph of `--int8-bundle` with onnxruntime's integer kernels and as
   float simulation (`haris bench int8-kernels`), and against `--int8-against`, that command's run
   of the same graph files on another CPU, where given.
Steps run in turn, each under its own limit within one budget; a step whose input is missing is
skipped with the reason. cpu_check.md lists the steps and merges the parity and speed reports.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

from check_steps import Check

REPO = Path(__file__).resolve().parents[1]
HARIS = [sys.executable, "-m", "haris.cli"]
BUDGET_S = 3 * 3600.0
SPEED_SHAPES = ["--images-per-batch", "1", "--expressions-per-image", "1,16", "--iterations", "3", "--warmup", "1"]


def cpu_paths(native_bf16: bool) -> tuple[list[str], list[str]]:
    """(parity backends, speed backends) of this CPU: BF16 only where the CPU runs it natively."""
    bf16 = ["openvino:bf16"] if native_bf16 else []
    parity = ["onnxruntime:fp32", "openvino:fp32", *bf16, "onnxruntime:int8", "openvino:int8", *(["torch:bf16"] if native_bf16 else [])]
    speed = ["torch:fp32", *(["torch:bf16"] if native_bf16 else []), "onnxruntime:fp32", "openvino:fp32", *bf16, "onnxruntime:int8", "openvino:int8"]
    return parity, speed


def cpu_facts() -> dict[str, str]:
    """The CPU as haris names it (model, family and model numbers, flags) and the class `auto` ranks it in."""
    from haris.cpu_features import cpu_features
    from haris.runtime.engine_choice import cpu_class

    cpu = cpu_features()
    return {"cpu": cpu.summary(), "cpu class": cpu_class(cpu), "native_bf16": str(cpu.native_bf16)}


def step(check: Check, name: str, arguments: list[str], wanted_s: float, out: Path, needs: list[Path] = (), judged: Path | None = None) -> None:
    """Run `haris ARGUMENTS` as a step; its output goes to logs/<name>.log. A benchmark that writes its
    report (`judged`) and then exits non-zero because a bar was missed has measured what it should:
    it is recorded as "missed bars", with the bars, not as a failed step."""
    missing = [str(path) for path in needs if not path.exists()]
    if missing:
        check.record(name, "skipped", 0, f"needs {', '.join(missing)}, which an earlier step did not make")
        return
    print(f"cpu_check: {name}: started ({time.strftime('%H:%M:%S')}): haris {' '.join(arguments)}", flush=True)
    started = time.time()
    # Not from the checkout's root: `python -m` would import its source folders, laid out otherwise than the install.
    status, text, seconds = check.run(name, [*HARIS, *arguments], wanted_s, cwd=out)
    log = out / "logs" / f"{name.replace(' ', '_')}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(text, encoding="utf-8")
    said = [line for line in text.splitlines() if line.startswith(("wrote ", "haris: error"))]
    detail = said[-1] if said else text  # what the command said it did, not a warning its workers printed after
    if status == "failed" and judged is not None and judged.is_file() and judged.stat().st_mtime >= started and "failed:" in text:
        bars = itertools.takewhile(lambda line: line.startswith("  "), text.split("failed:", 1)[1].splitlines()[1:])
        status, detail = "missed bars", "; ".join(line.strip() for line in bars)
    check.record(name, status, seconds, detail, command="haris " + " ".join(arguments), log=str(log))


def has_int8(bundle: Path) -> bool:
    manifest = bundle / "manifest.json"
    return manifest.is_file() and "int8" in json.loads(manifest.read_text(encoding="utf-8")).get("graphs", {})


def tiny_model(check: Check, args: argparse.Namespace) -> Path:
    """The demo folder: given, or made here; its bundle gets INT8 graphs when it has none."""
    demo = args.demo or args.out / "demo"
    if not (demo / "bundle").is_dir():
        step(check, "tiny model (haris demo)", ["demo", "--out", str(demo)], 45 * 60, args.out)
    if (demo / "bundle").is_dir() and not has_int8(demo / "bundle"):
        add = ["export", str(demo / "run"), "--out", str(demo / "bundle"), "--precision", "int8", "--add"]
        step(check, "tiny model INT8 graphs", add, 20 * 60, args.out)
    return demo


def paper_bundle(check: Check, args: argparse.Namespace) -> Path:
    """The paper preset's folder: given, or made here (random weights, FP32 and INT8 at 1024)."""
    paper = args.paper or args.out / "paper"
    if not (paper / "checkpoint").is_dir():
        step(check, "paper checkpoint (haris init)", ["init", "paper", "--out", str(paper / "checkpoint")], 10 * 60, args.out)
    if not (paper / "bundle").is_dir():
        export = ["export", str(paper / "checkpoint"), "--out", str(paper / "bundle"), "--precision", "fp32,int8"]
        export += ["--calibration-images", "8", "--int8-target-error", "1"]
        step(check, "paper bundle (haris export)", export, 60 * 60, args.out, [paper / "checkpoint"])
    return paper


def run_check(args: argparse.Namespace) -> int:
    check = Check("cpu_check", args.budget)
    args.out.mkdir(parents=True, exist_ok=True)  # every step runs in it
    check.facts = cpu_facts() | {
        "threads": str(args.threads),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    parity_backends, speed_backends = cpu_paths(check.facts["native_bf16"] == "True")
    threads = ["--threads", str(args.threads)]
    demo = tiny_model(check, args)
    parity = ["bench", "parity", "--bundle", str(demo / "bundle"), "--data", str(demo / "data"), "--split", "val", "--localize"]
    parity += ["--backends", ",".join(parity_backends), *threads, "--out", str(args.out / "parity")]
    step(check, "parity", parity, 90 * 60, args.out, [demo / "bundle"], judged=args.out / "parity" / "parity.json")
    paper = paper_bundle(check, args)
    speed = ["bench", "speed", "--checkpoint", str(paper / "checkpoint"), "--bundle", str(paper / "bundle"), *SPEED_SHAPES]
    step(
        check,
        "speed",
        [*speed, "--backends", ",".join(speed_backends), *threads, "--out", str(args.out / "speed")],
        60 * 60,
        args.out,
        [paper / "bundle"],
    )
    int8_bundle = args.int8_bundle or paper / "bundle"
    kernels = ["bench", "int8-kernels", "--bundle", str(int8_bundle), *threads, "--out", str(args.out / "int8_kernels")]
    kernels += ["--against", str(args.int8_against)] if args.int8_against else []
    step(check, "int8 kernels", kernels, 30 * 60, args.out, [int8_bundle])
    runs = [str(args.out / name) for name in ("parity", "speed") if (args.out / name / f"{name}.json").is_file()]
    if runs:
        step(check, "report", ["bench", "report", *runs, "--out", str(args.out / "benchmarks.md")], 300, args.out)
    report = write_report(check, args.out)
    print(f"cpu_check: report {report}; add its figures, with the CPU, to docs/runtime.md and docs/measurements.md")
    return 1 if check.failed() else 0


def write_report(check: Check, out: Path) -> Path:
    """cpu_check.json and cpu_check.md: the steps, their commands, and links to the reports they wrote."""
    lines = ["", "Commands: " + "; ".join(f"`{step['command']}`" for step in check.steps if "command" in step)]
    for name, page in (("parity and speed", "benchmarks.md"), ("INT8 kernels", "int8_kernels/int8_kernels.md")):
        if (out / page).is_file():
            lines += ["", f"{name}: [{page}]({page})"]
    return check.write_report(out, "CPU check", lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="The CPU measurements of docs/runtime.md's engine table, in one run (docs/benchmarks.md).")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "cpu_check", help="report folder (default: runs/cpu_check)")
    parser.add_argument("--demo", type=Path, help="a `haris demo` folder (run/, bundle/, data/) to use instead of making one")
    parser.add_argument("--paper", type=Path, help="a folder with the paper preset's checkpoint/ and bundle/ (1024, FP32 and INT8) to use")
    parser.add_argument("--int8-bundle", type=Path, help="the bundle whose INT8 graphs `bench int8-kernels` runs (default: the paper bundle)")
    parser.add_argument("--int8-against", type=Path, help="`haris bench int8-kernels` output of the same graph files on another CPU")
    parser.add_argument("--threads", type=int, default=2, help="threads of every measured path (default %(default)s, as docs/runtime.md)")
    parser.add_argument("--budget", type=float, default=BUDGET_S, help="seconds for all steps together (default %(default)s)")
    args = parser.parse_args()
    for name in ("out", "demo", "paper", "int8_bundle", "int8_against"):  # the steps run in --out, not here
        if getattr(args, name) is not None:
            setattr(args, name, getattr(args, name).resolve())
    # A folder given is used, never filled: a mistyped path must not start an hour of training and export.
    for option, folder, parts in (("--demo", args.demo, ("bundle", "data")), ("--paper", args.paper, ("checkpoint", "bundle"))):
        missing = [part for part in parts if folder is not None and not (folder / part).is_dir()]
        if missing:
            parser.error(f"{option} {folder} has no {' or '.join(f'{part}/' for part in missing)}")
    return run_check(args)


if __name__ == "__main__":
    sys.exit(main())
