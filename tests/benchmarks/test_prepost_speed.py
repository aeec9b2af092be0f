from __future__ import annotations

import numpy as np
import pytest

import haris.cpp_ops as cpp_ops
from haris.benchmarks.prepost_speed import format_table, main, object_logits, photo_like_image


@pytest.mark.skipif(cpp_ops.BACKEND != "cpp", reason="the C++ kernels are not built (no C++ compiler at install)")
def test_small_run_prints_the_table_with_speed_ups(capsys):
    assert main(["--sizes", "30x40,41x17", "--image-size", "64", "--repeats", "1", "--threads", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| image (WxH) | S | numpy pre |") and len(lines) == 4
    assert lines[2].startswith("| 40x30 | 64 |") and lines[2].endswith("x |")


def test_table_totals_and_ratios():
    row = {"image": "640x480", "image_size": 1024, "numpy_pre": 30.0, "numpy_post": 20.0, "cpp_pre": 6.0, "cpp_post": 4.0}
    assert format_table([row]).splitlines()[-1] == "| 640x480 | 1024 | 30.0 ms | 20.0 ms | 50.0 ms | 6.0 ms | 4.0 ms | 10.0 ms | 5.0x | 5.0x | 5.0x |"


def test_inputs_have_the_runtime_shapes_and_types():
    image, logits = photo_like_image(30, 40), object_logits(64)
    assert image.shape == (30, 40, 3) and image.dtype == np.uint8 and image.std() > 0
    assert logits.shape == (16, 16) and logits.dtype == np.float32 and (logits > 0).any() and (logits < 0).any()
