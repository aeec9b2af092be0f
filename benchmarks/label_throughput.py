"""`haris bench label`: images/s of `haris label` on Ray Data against the same work in plain processes.

The images are demo scenes at the bundle's input size (written once under the output folder), each
labelled with three expressions. The baseline is N worker processes, each running one BatchLabeller
(label/batch_labeller.py: the actors' own code, one Predictor with one thread) over its share of the
images, with no Ray at all: what a hand-written multiprocessing script gets from the machine. Ray is
`label_images` with a pool of N actors of one CPU and one thread each, in Ray started here with N
CPUs, or on the cluster at `address` (e.g. two loopback nodes on the same cores). Both are
taken two ways: end to end (processes or Ray and its actors started, the bundle opened, every
image labelled; Ray also writes the shards) and steady (the sum of the workers' own rates, each from
its first batch's start to its last batch's end: the same measure for processes and actors), since
start-up is paid once per run however large the collection. The two run in turn, `rounds` times, each
Ray run paired with the plain run just before it; the report's shares are the medians of the pairs'
ratios, since a shared machine's speed can drift by more than the difference measured.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import ray
from PIL import Image

from haris.benchmarks.machine_info import describe_machine, machine_summary
from haris.data.synthetic.demo_scene import render_scene
from haris.errors import HarisError
from haris.label.batch_labeller import BatchLabeller
from haris.label.label_progress import LabelProgress
from haris.label.label_run import label_images
from haris.label.label_settings import LabelSettings
from haris.ray_session import start_ray
from haris.runtime.bundle import Bundle

EXPRESSIONS = ["the red circle", "the big square on the left", "the small green triangle"]


def run_label_throughput(
    bundle: str,
    out: str | Path,
    count: int = 1600,
    workers: int = 2,
    address: str | None = None,
    shard_size: int = 64,
    batch_size: int = 8,
    rounds: int = 3,
) -> dict[str, Any]:
    """Measure both ways on the same images, `rounds` times in turn; write label_throughput.json and .md
    under `out`; return the report, whose shares are the medians of the rounds' ratios."""
    out = Path(out)
    paths, expressions = write_scenes(out / "images", count, Bundle.open(bundle, verify_all=False).manifest.image_size)
    source = out / f"first_{count}.txt"
    source.write_text("\n".join(map(str, paths)) + "\n")
    options = {"backend": "onnxruntime", "precision": "fp32", "actors": (workers, workers), "shard_size": shard_size, "batch_size": batch_size}
    # Made, and so checked, before the first round; each round's Ray run labels into a folder of its own.
    settings = LabelSettings(bundle, str(source), str(expressions), str(out / "ray"), address, **options)
    measured = []
    for round_index in range(rounds):
        baseline = in_process_rate(bundle, paths, workers, batch_size)
        ray_figures = _ray_run(replace(settings, out=str(out / f"ray-{time.strftime('%H%M%S')}-{round_index}")), count)
        measured.append(
            {
                "in_process": baseline,
                "ray": ray_figures,
                "steady_share": ray_figures["steady_images_per_s"] / baseline["steady_images_per_s"],
                "end_to_end_share": ray_figures["end_to_end_images_per_s"] / baseline["end_to_end_images_per_s"],
            }
        )
    report = {
        "machine": describe_machine(threads=1),
        "bundle": str(bundle),
        "images": count,
        "expressions": len(EXPRESSIONS),
        "workers": workers,
        "rounds": measured,
        "steady_share_of_in_process": float(np.median([pair["steady_share"] for pair in measured])),
        "end_to_end_share_of_in_process": float(np.median([pair["end_to_end_share"] for pair in measured])),
    }
    (out / "label_throughput.json").write_text(json.dumps(report, indent=1) + "\n")
    (out / "label_throughput.md").write_text(label_markdown(report))
    return report


class ActorSpans(LabelProgress):
    """Per actor process, its rows and when its first batch started and its last finished, as the
    actors stamp them (besides the usual progress)."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: dict[int, list[float]] = {}  # process -> [rows, first started, last finished]

    def advance(self, batch: Any) -> None:
        super().advance(batch)
        for process, started, finished in zip(batch["process"], batch["started"], batch["finished"]):
            span = self.spans.setdefault(int(process), [0, started, finished])
            span[0], span[1], span[2] = span[0] + 1, min(span[1], started), max(span[2], finished)

    def steady_rate(self) -> float:
        """The sum of the actors' own images/s, each from its first batch's start to its last batch's
        end: the work between batches (Ray's scheduling, moving rows) counts, the start-up does not,
        as for the plain processes. Driver-side arrival times would not do: Ray Data queues several
        shards per actor and hands rows over in bursts."""
        return summed_rate(self.spans.values())


def summed_rate(spans: Iterable[Sequence[float]]) -> float:
    """The steady rate of processes and actors alike: the sum of (images, first start, last end) spans' images/s."""
    rates = [images / (last - first) for images, first, last in spans if last > first]
    return sum(rates) if rates else float("nan")


def _ray_run(settings: LabelSettings, count: int) -> dict[str, Any]:
    """One `label_images` run, Ray started (or joined) and stopped around it: its seconds and images/s."""
    spans = ActorSpans()
    started = time.perf_counter()
    start_ray(settings.address, {"num_cpus": settings.actors[1]})
    try:
        nodes = len([node for node in ray.nodes() if node["Alive"]])
        summary = label_images(settings, spans)
    finally:
        ray.shutdown()
    seconds = time.perf_counter() - started
    figures = {"nodes": nodes, "labelled": summary["labelled"], "seconds": seconds, "end_to_end_images_per_s": count / seconds}
    return {**figures, "steady_images_per_s": spans.steady_rate()}


def write_scenes(folder: Path, count: int, image_size: int) -> tuple[list[Path], Path]:
    """`count` demo scenes as PNG files (kept between runs) and the expressions file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder.absolute() / f"scene_{index:05d}.png" for index in range(count)]
    for index, path in enumerate(paths):
        if not path.is_file():
            Image.fromarray(render_scene(index, 0, image_size).pixels).save(path)
    expressions = folder.parent / "expressions.txt"
    expressions.write_text("\n".join(EXPRESSIONS) + "\n")
    return paths, expressions


def in_process_rate(bundle: str, images: Sequence[Path], workers: int, batch_size: int) -> dict[str, Any]:
    """N processes, each a BatchLabeller over every N-th image, started together once all have opened the bundle."""
    started = time.time()
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(workers), context.Queue()
    shares = [[str(path) for path in images[worker::workers]] for worker in range(workers)]
    processes = [context.Process(target=_label_share, args=(bundle, share, batch_size, ready, results)) for share in shares]
    previous = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"  # as Ray sets it for an actor of one CPU: read by OpenMP as the child loads
    try:
        for process in processes:
            process.start()
    finally:
        os.environ.pop("OMP_NUM_THREADS") if previous is None else os.environ.update(OMP_NUM_THREADS=previous)
    try:
        spans = [_next_span(results, processes) for _ in processes]
    except BaseException:
        for process in processes:
            process.kill()
        raise
    for process in processes:
        process.join()
    end = max(finished for _, _, finished in spans)
    return {"steady_images_per_s": summed_rate(spans), "end_to_end_images_per_s": len(images) / (end - started), "seconds": end - started}


def _next_span(results: Any, processes: Sequence[Any]) -> tuple[int, float, float]:
    """The next worker's (images, first start, last end). A worker that died instead fails the benchmark:
    the others would wait for it at the start barrier, and this process for its span, forever."""
    while True:
        try:
            return results.get(timeout=1.0)
        except queue.Empty:
            failed = [process.exitcode for process in processes if process.exitcode not in (None, 0)]
            if failed:
                raise HarisError(f"a plain worker process exited with code {failed[0]} before reporting its images/s") from None


def _label_share(bundle: str, paths: list[str], batch_size: int, ready: Any, results: Any) -> None:
    labeller = BatchLabeller(bundle, "onnxruntime", None, "fp32", 1)
    expressions = json.dumps(EXPRESSIONS)
    ready.wait()
    start = time.time()
    for first in range(0, len(paths), batch_size):
        chunk = paths[first : first + batch_size]
        indices = np.arange(first, first + len(chunk))
        labeller({"index": indices, "shard": indices * 0, "path": np.array(chunk, dtype=object), "expressions": np.array([expressions] * len(chunk))})
    results.put((len(paths), start, time.time()))


def label_markdown(report: dict[str, Any]) -> str:
    nodes, workers = report["rounds"][0]["ray"]["nodes"], report["workers"]
    where = f"Ray on {nodes} node{'s' if nodes > 1 else ''}, {workers} actor{'s' if workers > 1 else ''}"
    rows = "".join(
        f"| {index + 1} | {pair['in_process']['steady_images_per_s']:.3g} / {pair['in_process']['end_to_end_images_per_s']:.3g} | "
        f"{pair['ray']['steady_images_per_s']:.3g} / {pair['ray']['end_to_end_images_per_s']:.3g} | "
        f"{100 * pair['steady_share']:.0f}% | {100 * pair['end_to_end_share']:.0f}% |\n"
        for index, pair in enumerate(report["rounds"])
    )
    return (
        f"# haris label throughput\n\n{machine_summary(report['machine'])}; bundle {report['bundle']}; "
        f"{report['images']} images x {report['expressions']} expressions, {workers} worker{'s' if workers > 1 else ''} of 1 thread\n\n"
        f"| round | {workers} plain process{'es' if workers > 1 else ''}: steady / end to end images/s | {where}: steady / end to end | "
        "Ray / plain, steady | end to end |\n| --- | --- | --- | --- | --- |\n"
        f"{rows}\nRay, median of {len(report['rounds'])} rounds: {100 * report['steady_share_of_in_process']:.0f}% of the plain "
        f"processes' steady throughput, {100 * report['end_to_end_share_of_in_process']:.0f}% end to end.\n"
    )
