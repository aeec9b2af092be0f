"""The CUDA kernels: their sources compile with nvcc (any machine with the toolkit), and on a GPU they
reproduce the numpy reference (marked gpu).

The CUDA kernels share their arithmetic with the CPU ones (the HARIS_HOST_DEVICE functions) and are
built without fused multiply-adds, so they are meant to be bit-identical too; the GPU tests still
allow logits within 1e-5 and mask differences only where the reference logit is within 1e-5 of the
threshold, the contract the runtime relies on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from haris.cpp_ops import load_cuda_kernels, reference_ops
from haris.image_transforms import resized_shape

SOURCES = Path(__file__).resolve().parents[2] / "cpp_ops"
CUDA_FILES = ["preprocess/preprocess_cuda.cu", "postprocess/postprocess_cuda.cu"]
MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
TOLERANCE = 1e-5


def find_nvcc() -> str | None:
    candidates = [shutil.which("nvcc"), Path(os.environ.get("CUDA_HOME", "/usr/local/cuda")) / "bin" / "nvcc"]
    return next((str(path) for path in candidates if path and os.access(path, os.X_OK)), None)


@pytest.mark.parametrize("source", CUDA_FILES)
def test_cuda_source_compiles_for_two_architectures(source, tmp_path):
    nvcc = find_nvcc()
    if nvcc is None:
        pytest.skip("nvcc not found (no CUDA toolkit on PATH or in CUDA_HOME)")
    archs = ["-gencode=arch=compute_75,code=sm_75", "-gencode=arch=compute_90,code=sm_90"]
    command = [
        nvcc,
        "-c",
        "-std=c++17",
        "--fmad=false",
        "-Xcompiler",
        "-fPIC,-ffp-contract=off",
        *archs,
        str(SOURCES / source),
        "-o",
        str(tmp_path / "kernel.o"),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def cuda():
    """cuda-python's runtime and the CUDA launchers, or a skip saying which is missing."""
    try:
        from cuda.bindings import runtime
    except ImportError:
        pytest.skip("cuda-python is not installed")
    error, count = runtime.cudaGetDeviceCount()
    if error != 0:
        pytest.skip(f"no usable CUDA device: cudaGetDeviceCount returned {error.name}")
    if count == 0:
        pytest.skip("no CUDA device")
    kernels = load_cuda_kernels()
    if kernels is None:
        pytest.skip("the CUDA kernels were not built (no nvcc when the package was installed)")
    return runtime, kernels


def to_device(runtime, array: np.ndarray) -> int:
    pointer = checked(runtime.cudaMalloc(max(array.nbytes, 1)))
    checked(runtime.cudaMemcpy(pointer, array.ctypes.data, array.nbytes, runtime.cudaMemcpyKind.cudaMemcpyHostToDevice))
    return pointer


def from_device(runtime, pointer: int, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    array = np.empty(shape, dtype)
    checked(runtime.cudaMemcpy(array.ctypes.data, pointer, array.nbytes, runtime.cudaMemcpyKind.cudaMemcpyDeviceToHost))
    return array


def checked(result: tuple):
    """The value of a cuda-python call's (error, value...) result, asserting success."""
    error, *values = result
    assert error == 0, error
    return values[0] if values else None


def free(runtime, *pointers: int) -> None:
    for pointer in pointers:
        checked(runtime.cudaFree(pointer))


@pytest.mark.gpu
@pytest.mark.parametrize("height, width, image_size", [(480, 640, 1024), (3024, 4032, 1024), (1000, 333, 256), (1, 100, 64), (7, 5, 64)])
def test_cuda_preprocess_matches_the_reference(cuda, height, width, image_size):
    runtime, kernels = cuda
    image = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    expected, expected_shape = reference_ops.preprocess_image(image, image_size, MEAN, STD)
    source, output = to_device(runtime, image), checked(runtime.cudaMalloc(3 * image_size * image_size * 4))
    stream = checked(runtime.cudaStreamCreate())
    try:
        resized = kernels.preprocess_image(source, height, width, image_size, MEAN, STD, output, stream)
        checked(runtime.cudaStreamSynchronize(stream))
        actual = from_device(runtime, output, (3, image_size, image_size), np.float32)
    finally:
        free(runtime, source, output)
        checked(runtime.cudaStreamDestroy(stream))
    assert resized == expected_shape
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.gpu
@pytest.mark.parametrize("original, image_size", [((480, 640), 1024), ((3024, 4032), 1024), ((1000, 333), 256), ((1, 1), 64)])
def test_cuda_postprocess_matches_the_reference(cuda, original, image_size):
    runtime, kernels = cuda
    logits = (np.random.default_rng(0).standard_normal((image_size // 4, image_size // 4)) * 4).astype(np.float32)
    resized = resized_shape(*original, image_size)
    expected_mask, expected_logits = reference_ops.postprocess_mask(logits, resized, original, image_size, return_logits=True)
    source = to_device(runtime, logits)
    mask, full = checked(runtime.cudaMalloc(original[0] * original[1])), checked(runtime.cudaMalloc(original[0] * original[1] * 4))
    try:
        kernels.postprocess_mask(source, logits.shape, resized, original, image_size, mask, logits_out=full)
        checked(runtime.cudaDeviceSynchronize())
        actual_mask = from_device(runtime, mask, original, np.uint8).astype(bool)
        actual_logits = from_device(runtime, full, original, np.float32)
    finally:
        free(runtime, source, mask, full)
    np.testing.assert_allclose(actual_logits, expected_logits, rtol=0, atol=TOLERANCE)
    undecided = np.abs(expected_logits) < TOLERANCE
    np.testing.assert_array_equal(actual_mask[~undecided], expected_mask[~undecided])
