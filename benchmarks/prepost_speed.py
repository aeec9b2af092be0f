"""Pre- plus post-processing speed: the C++ kernels of haris.cpp_ops against the numpy reference.

    python -m haris.benchmarks.prepost_speed --image-size 1024 --repeats 15

Both run in this process, on the same photo-like images (640x480 and 4032x3024 by default) and the
same low-resolution logits. One run is what the runtime does per image: pre-process the image, then
post-process (S/4, S/4) logits to a mask at the original size. Each time is the median over
`repeats` runs after one warm-up; a Markdown table with the speed-ups goes to stdout.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

import haris.cpp_ops as cpp_ops
from haris.cpp_ops import reference_ops
from haris.log_output import configure_logging

log = logging.getLogger(__name__)

# SAM's pixel statistics, which the HARIS presets use.
PIXEL_MEAN, PIXEL_STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
DEFAULT_SIZES = ("480x640", "3024x4032")


def photo_like_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """uint8 (H, W, 3): smooth colour regions (random colours upsampled bicubically) plus sensor-like
    noise, so the resize sees the content of a photo rather than flat colour or pure noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(2, height // 48), max(2, width // 48), 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), dtype=np.int16)
    noise = rng.integers(-8, 9, smooth.shape, dtype=np.int16)
    return np.clip(smooth + noise, 0, 255).astype(np.uint8)


def object_logits(image_size: int, seed: int = 0) -> np.ndarray:
    """float32 (S/4, S/4) decoder-like logits: a soft blob, positive inside, with a little noise."""
    side = image_size // 4
    rows, columns = np.mgrid[0:side, 0:side] / side
    distance = np.hypot(rows - 0.45, columns - 0.55)
    noise = np.random.default_rng(seed).standard_normal((side, side))
    return ((0.3 - distance) * 20 + noise).astype(np.float32)


def median_milliseconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of `run` over `repeats` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def measure(height: int, width: int, image_size: int, repeats: int, threads: int | None = None) -> dict:
    """Milliseconds of pre- and post-processing, each backend, on one image size."""
    image, logits = photo_like_image(height, width), object_logits(image_size)
    resized = reference_ops.preprocess_image(image, image_size, PIXEL_MEAN, PIXEL_STD)[1]
    original = (height, width)
    runs = {
        "numpy_pre": lambda: reference_ops.preprocess_image(image, image_size, PIXEL_MEAN, PIXEL_STD),
        "numpy_post": lambda: reference_ops.postprocess_mask(logits, resized, original, image_size),
        "cpp_pre": lambda: cpp_ops.preprocess_image(image, image_size, PIXEL_MEAN, PIXEL_STD, threads),
        "cpp_post": lambda: cpp_ops.postprocess_mask(logits, resized, original, image_size, threads=threads),
    }
    times = {name: median_milliseconds(run, repeats) for name, run in runs.items()}
    return {"image": f"{width}x{height}", "image_size": image_size, **times}


def format_table(results: Sequence[dict]) -> str:
    """Markdown: per image, each backend's pre, post and total milliseconds and the speed-ups."""
    lines = [
        "| image (WxH) | S | numpy pre | numpy post | numpy total | cpp pre | cpp post | cpp total | speed-up pre | speed-up post | speed-up total |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in results:
        numpy_total, cpp_total = row["numpy_pre"] + row["numpy_post"], row["cpp_pre"] + row["cpp_post"]
        times = [row["numpy_pre"], row["numpy_post"], numpy_total, row["cpp_pre"], row["cpp_post"], cpp_total]
        ratios = [row["numpy_pre"] / row["cpp_pre"], row["numpy_post"] / row["cpp_post"], numpy_total / cpp_total]
        cells = [f"{value:.1f} ms" for value in times] + [f"{ratio:.1f}x" for ratio in ratios]
        lines.append(f"| {row['image']} | {row['image_size']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parse_size(text: str) -> tuple[int, int]:
    """'HxW' -> (H, W)."""
    height, width = (int(part) for part in text.lower().split("x"))
    return height, width


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()  # run as `python -m`, outside the `haris` command
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(DEFAULT_SIZES), help="comma-separated HxW image sizes")
    parser.add_argument("--image-size", type=int, default=1024, help="the model input size S")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per measurement (the median is kept)")
    parser.add_argument("--threads", type=int, default=None, help="kernel threads (default: one per hardware thread)")
    args = parser.parse_args(argv)
    if cpp_ops.BACKEND != "cpp":
        log.error("haris.cpp_ops has no compiled kernels in this install: nothing to compare")
        return 1
    sizes = [parse_size(text) for text in args.sizes.split(",")]
    results = [measure(height, width, args.image_size, args.repeats, args.threads) for height, width in sizes]
    print(format_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
