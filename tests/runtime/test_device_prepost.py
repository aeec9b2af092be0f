"""Device pre- and post-processing for the TensorRT path: when the Predictor picks it and why not, its
argument checks, its plumbing on a device simulated in host memory (any machine), and on a GPU the
CUDA kernels through it against the numpy reference."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from runtime_samples import demo_scenes
from simulated_device import HostKernels, SimulatedTensorRT, read, simulate_device

import haris.cpp_ops as cpp_ops
from haris.cpp_ops import reference_ops
from haris.errors import HarisError
from haris.image_transforms import resized_shape
from haris.runtime import cuda_memory, device_prepost
from haris.runtime.cuda_stream_backend import CudaStreamBackend
from haris.runtime.device_prepost import DevicePrepost, check_mask_logits, cuda_kernels
from haris.runtime.device_tensor import DeviceTensor
from haris.runtime.predictor import Predictor, PreprocessSettings
from haris.runtime.stage_backend import StageBackend

MEAN, STD = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
SETTINGS = PreprocessSettings(64, MEAN, STD)
# Both orientations, square, tiny, a row, and photos that the resize shrinks or enlarges.
SHAPES = [(480, 640), (640, 480), (64, 64), (7, 5), (1, 100), (1000, 333), (3024, 4032)]


class HostBackend(StageBackend):
    """A backend on the host that runs nothing: enough for the Predictor to choose its pre/post-processing."""

    def __init__(self) -> None:
        super().__init__({})

    def _run(self, stage, feeds):
        raise AssertionError("not expected to run")

    def to_numpy(self, value):
        raise AssertionError("not expected to run")


class StreamBackend(CudaStreamBackend):
    """A backend on a CUDA stream (as TensorRT's) that runs nothing."""

    def __init__(self) -> None:
        super().__init__({})
        self.stream = 0

    def _run(self, stage, feeds):
        raise AssertionError("not expected to run")


def predictor_on(backend: StageBackend, settings: PreprocessSettings = SETTINGS) -> Predictor:
    return Predictor(backend, settings, tokenize=lambda texts: np.zeros((len(texts), 4), np.int32))


def noise_image(height: int, width: int) -> np.ndarray:
    return np.random.default_rng(height * 7 + width).integers(0, 256, (height, width, 3), dtype=np.uint8)


def logits_planes(batch: int, image_size: int) -> np.ndarray:
    """(B, 1, S/4, S/4) float32 logits, different per expression, many near 0 and 0.5."""
    return (np.random.default_rng(batch).standard_normal((batch, 1, image_size // 4, image_size // 4)) * 3).astype(np.float32)


@pytest.fixture
def fresh_warning(monkeypatch):
    monkeypatch.setattr(device_prepost, "_host_path_warned", False)


# ---- Which path the Predictor takes ------------------------------------------------------------


def test_host_backends_keep_the_host_path_without_a_word(fresh_warning):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert predictor_on(HostBackend()).device_prepost is None


def no_kernels_built(monkeypatch):
    monkeypatch.setattr(cpp_ops, "load_cuda_kernels", lambda: None)


def no_usable_cuda(monkeypatch):
    monkeypatch.setattr(cpp_ops, "load_cuda_kernels", lambda: HostKernels())
    monkeypatch.setattr(cuda_memory, "gpu_properties", lambda device=0: None)


def numpy_asked_for(monkeypatch):
    monkeypatch.setenv("HARIS_CPP_OPS", "numpy")


@pytest.mark.parametrize(
    "situation, reason",
    [
        (no_kernels_built, r"the CUDA kernels library was not built \(no nvcc when haris was installed\)"),
        (no_usable_cuda, r"CUDA is not usable here \(no cuda-python, driver or GPU\)"),
        (numpy_asked_for, "HARIS_CPP_OPS=numpy asks for the numpy reference"),
    ],
)
def test_a_stream_backend_falls_back_to_the_host_path_saying_why_once(situation, reason, monkeypatch, fresh_warning):
    situation(monkeypatch)
    with pytest.warns(RuntimeWarning, match=f"TensorRT pre- and post-processing run on the host: {reason}"):
        assert predictor_on(StreamBackend()).device_prepost is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per process, not once per Predictor
        assert predictor_on(StreamBackend()).device_prepost is None


@pytest.mark.skipif(cuda_memory.gpu_properties() is not None, reason="checks the selection on a machine without a CUDA GPU")
def test_this_machine_without_a_gpu_has_no_device_path():
    kernels, reason = cuda_kernels()
    assert kernels is None and reason.startswith(("the CUDA kernels library was not built", "CUDA is not usable here", "HARIS_CPP_OPS"))


def test_a_stream_backend_with_kernels_and_cuda_takes_the_device_path(monkeypatch, fresh_warning):
    simulate_device(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepost = predictor_on(StreamBackend()).device_prepost
    assert isinstance(prepost, DevicePrepost) and prepost.model_input.shape == (1, 3, 64, 64)


# ---- Argument checks -------------------------------------------------------------------------


def fake_device_tensor(shape: tuple[int, ...], dtype=np.float32) -> DeviceTensor:
    return DeviceTensor(0x1000, shape, dtype, capacity=int(np.prod(shape)) * np.dtype(dtype).itemsize)


def test_mask_logits_on_the_device_give_their_sizes():
    assert check_mask_logits(fake_device_tensor((3, 1, 16, 12))) == (3, 16, 12)


@pytest.mark.parametrize(
    "value, message",
    [
        (np.zeros((2, 1, 16, 16), np.float32), "takes the decoder's logits as a DeviceTensor, got ndarray"),
        (fake_device_tensor((2, 1, 16, 16), np.float16), r"expected float32 mask logits \(B, 1, S/4, S/4\), got float16"),
        (fake_device_tensor((2, 16, 16)), r"got float32 \(2, 16, 16\)"),
        (fake_device_tensor((2, 3, 16, 16)), r"got float32 \(2, 3, 16, 16\)"),
        (fake_device_tensor((0, 1, 16, 16)), r"got float32 \(0, 1, 16, 16\)"),
    ],
)
def test_anything_but_device_logits_is_refused(value, message):
    with pytest.raises(HarisError, match=message):
        check_mask_logits(value)


# ---- The plumbing, on a device simulated in host memory ----------------------------------------


@pytest.fixture
def simulated(monkeypatch):
    device = simulate_device(monkeypatch)
    return device, DevicePrepost(HostKernels(), 0, 256, MEAN, STD)


def test_preprocess_writes_each_images_host_kernel_input_into_its_row(simulated):
    device, prepost = simulated
    for height, width in SHAPES:  # grows and shrinks the upload buffer
        image = noise_image(height, width)
        model_input, [resized] = prepost.preprocess([image])
        expected, expected_resized = cpp_ops.preprocess_image(image, 256, MEAN, STD)
        assert model_input.pointer == prepost.model_input.pointer and resized == expected_resized
        np.testing.assert_array_equal(read(model_input.pointer, (1, 3, 256, 256), np.float32)[0], expected)
    assert len(device.buffers) == 2  # the input, and the upload buffer at its largest: outgrown ones freed
    images = [noise_image(*shape) for shape in SHAPES[:3]]
    model_input, sizes = prepost.preprocess(images)  # a batch: the input buffer grows to three rows
    assert model_input.shape == (3, 3, 256, 256) and sizes == [resized_shape(*shape, 256) for shape in SHAPES[:3]]
    for row, image in zip(read(model_input.pointer, (3, 3, 256, 256), np.float32), images):
        np.testing.assert_array_equal(row, cpp_ops.preprocess_image(image, 256, MEAN, STD)[0])


def test_postprocess_gives_each_expression_its_host_mask_at_its_images_size(simulated):
    device, prepost = simulated
    logits = logits_planes(3, 256)
    on_device = DeviceTensor.allocate(logits.shape, np.float32).copy_from_host(logits, 0)
    for threshold in (0.0, 0.5):
        for originals in (SHAPES[:3], SHAPES[3:6], [SHAPES[6]] * 3):  # each row its own image's size
            sizes = [(resized_shape(*original, 256), original) for original in originals]
            masks, host_logits = prepost.postprocess(on_device, sizes, threshold)
            np.testing.assert_array_equal(host_logits, logits)
            for mask, plane, (resized, original) in zip(masks, logits, sizes):
                assert mask.dtype == np.bool_ and mask.shape == original
                np.testing.assert_array_equal(mask, cpp_ops.postprocess_mask(plane[0], resized, original, 256, threshold))


def test_postprocess_refuses_sizes_the_host_kernels_refuse(simulated):
    _, prepost = simulated
    logits = DeviceTensor.allocate((1, 1, 64, 64), np.float32)
    with pytest.raises(ValueError, match=r"resized \(300, 200\) must lie inside the 256 x 256 input"):
        prepost.postprocess(logits, [((300, 200), (300, 200))], 0.0)
    with pytest.raises(ValueError, match=r"original size \(0, 20\) must be positive"):
        prepost.postprocess(logits, [((10, 20), (0, 20))], 0.0)
    with pytest.raises(HarisError, match="1 rows of mask logits need 1 image sizes, got 2"):
        prepost.postprocess(logits, [((10, 20), (10, 20))] * 2, 0.0)


def test_a_predictor_on_device_tensors_predicts_as_the_host_path(tiny_bundle, monkeypatch, fresh_warning):
    host = Predictor.from_bundle(tiny_bundle, precision="fp32", threads=1)
    simulate_device(monkeypatch)
    device = Predictor(SimulatedTensorRT(host.backend), host.settings, host.tokenize)
    assert device.device_prepost is not None and host.device_prepost is None
    (pixels, sentences), (other, _) = demo_scenes(2)
    images = (pixels, other[:, 40:], np.repeat(pixels, 2, axis=0))  # square, narrower, taller and larger
    for image in images:
        expected = host.segment(image, sentences)
        actual = device.segment(image, sentences)
        for a, e in zip(actual, expected):
            assert (a.expression, a.mask.dtype, a.mask.shape, a.score) == (e.expression, np.bool_, image.shape[:2], e.score)
            np.testing.assert_array_equal(a.mask, e.mask)
            np.testing.assert_array_equal(a.mask_logits, e.mask_logits)
    # Several images in one call: one encoder run on device rows, expressions joined across images.
    batch = [(image, sentences[:2]) for image in images]
    for actual, expected in zip(device.predict_batch(batch), host.predict_batch(batch)):
        for a, e in zip(actual, expected):
            assert a.mask.shape == e.mask.shape
            np.testing.assert_array_equal(a.mask, e.mask)


# ---- On a GPU: the CUDA kernels through DevicePrepost against the numpy reference ---------------


@pytest.fixture
def gpu_stream():
    kernels, reason = cuda_kernels()
    if kernels is None:
        pytest.skip(f"needs the CUDA kernels on a CUDA GPU: {reason}")
    stream = cuda_memory.create_stream()
    yield kernels, stream
    cuda_memory.destroy_stream(stream)


@pytest.mark.gpu
@pytest.mark.parametrize("image_size", [64, 256, 1024])
def test_device_preprocess_matches_the_reference(gpu_stream, image_size):
    kernels, stream = gpu_stream
    prepost = DevicePrepost(kernels, stream, image_size, MEAN, STD)
    for height, width in SHAPES:  # one DevicePrepost: its buffers grow and are reused
        image = noise_image(height, width)
        expected, expected_resized = reference_ops.preprocess_image(image, image_size, MEAN, STD)
        model_input, [resized] = prepost.preprocess([image])
        assert resized == expected_resized
        np.testing.assert_array_equal(model_input.to_host(stream)[0], expected, err_msg=f"{height} x {width} at {image_size}")


@pytest.mark.gpu
@pytest.mark.parametrize("image_size", [64, 256, 1024])
def test_device_postprocess_matches_the_reference(gpu_stream, image_size):
    kernels, stream = gpu_stream
    prepost = DevicePrepost(kernels, stream, image_size, MEAN, STD)
    logits = logits_planes(3, image_size)
    on_device = DeviceTensor.allocate(logits.shape, np.float32).copy_from_host(logits, stream)
    for original in SHAPES:
        resized = resized_shape(*original, image_size)
        for threshold in (0.0, 0.5):
            masks, host_logits = prepost.postprocess(on_device, [(resized, original)] * 3, threshold)
            assert all(mask.dtype == np.bool_ and mask.shape == original for mask in masks)
            np.testing.assert_array_equal(host_logits, logits)
            for mask, plane in zip(masks, logits):
                expected, full = reference_ops.postprocess_mask(plane[0], resized, original, image_size, threshold, return_logits=True)
                decided = np.abs(full - np.float32(threshold)) >= 1e-5  # the CUDA tests' contract at the threshold
                np.testing.assert_array_equal(mask[decided], expected[decided], err_msg=f"{original} at {image_size}, threshold {threshold}")
