"""The Predictor (DESIGN.md, Runtime): segment what an expression refers to, on any backend.

`set_image` encodes an image once and caches its features (an LRU cache in bytes, keyed by the
pixels); `predict` runs the text encoder, fusion and decoder for a batch of expressions against
it, with N = 1 image features broadcast to the B expressions inside the fusion graph. Each thread
has its own current image, so one Predictor serves several threads; backends that are not
thread-safe (TensorRT: one context and stream per stage) are called under a lock.

Pre- and post-processing run in haris.cpp_ops on the host, or, on a TensorRT backend whose CUDA
kernels can run, on the device next to the engines (`device_prepost`); both give the same results.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from haris import cpp_ops
from haris.errors import HarisError
from haris.runtime.device_prepost import DevicePrepost, device_prepost_for
from haris.runtime.feature_cache import FeatureCache
from haris.runtime.image_loading import ImageError, ImageSource, load_rgb
from haris.runtime.image_transforms import resized_shape
from haris.runtime.prediction import Prediction, mask_score
from haris.runtime.stage_backend import StageBackend
from haris.runtime.tensor_contract import IMAGE_FEATS

DEFAULT_CACHE_BYTES = 512 << 20


class PreprocessSettings(NamedTuple):
    image_size: int
    pixel_mean: tuple[float, float, float]
    pixel_std: tuple[float, float, float]
    threshold: float = 0.0


class EncodedImage(NamedTuple):
    features: dict[str, Any]  # image_feats_1..3, N = 1, where the backend keeps them
    original: tuple[int, int]  # (H, W)
    resized: tuple[int, int]  # (h, w) inside the S x S input


class Predictor:
    def __init__(
        self, backend: StageBackend, settings: PreprocessSettings, tokenize: Callable[[Sequence[str]], np.ndarray],
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.backend = backend
        self.settings = settings
        self.tokenize = tokenize
        self.cache = FeatureCache(cache_bytes)
        self._local = threading.local()
        self._backend_lock = contextlib.nullcontext() if backend.thread_safe else threading.Lock()
        self.device_prepost: DevicePrepost | None = device_prepost_for(backend, settings.image_size, settings.pixel_mean, settings.pixel_std)

    @classmethod
    def from_bundle(
        cls, path: str | Path, backend: str = "onnxruntime", device: str = "cpu", precision: str | None = None,
        threads: int | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> Predictor:
        from haris.runtime.predictor_factory import predictor_from_bundle

        return predictor_from_bundle(path, backend, device, precision, threads, cache_bytes)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "cpu", cache_bytes: int = DEFAULT_CACHE_BYTES) -> Predictor:
        from haris.runtime.predictor_factory import predictor_from_checkpoint

        return predictor_from_checkpoint(path, device, cache_bytes)

    def set_image(self, image: ImageSource) -> None:
        """Encode `image` (or find it in the cache) and make it this thread's current image."""
        self._local.image = self.encode_image(load_rgb(image))

    def encode_image(self, rgb: np.ndarray) -> EncodedImage:
        key = FeatureCache.key(rgb)
        encoded = self.cache.get(key)
        if encoded is None:
            size = self.settings.image_size
            if 0 in resized_shape(rgb.shape[0], rgb.shape[1], size):
                raise ImageError(f"a {rgb.shape[0]} x {rgb.shape[1]} image is too elongated: its short side "
                                 f"would be 0 pixels when its long side is resized to the model's {size}")
            features, resized = self._encode_on_host(rgb) if self.device_prepost is None else self._encode_on_device(rgb)
            encoded = EncodedImage(features, rgb.shape[:2], resized)
            self.cache.put(key, encoded, sum(self.backend.nbytes(value) for value in features.values()))
        return encoded

    def predict(self, expressions: Sequence[str]) -> list[Prediction]:
        """One Prediction per expression, against this thread's current image."""
        encoded = getattr(self._local, "image", None)
        if encoded is None:
            raise HarisError("no image set: call set_image(image) before predict(expressions)")
        if isinstance(expressions, str) or not expressions:
            raise HarisError("predict() takes a non-empty list of expressions")
        tokens = self.tokenize(list(expressions))
        masks, logits = self._masks_on_host(encoded, tokens) if self.device_prepost is None else self._masks_on_device(encoded, tokens)
        threshold = self.settings.threshold
        return [
            Prediction(text, masks[index], logits[index, 0], mask_score(logits[index, 0], threshold)) for index, text in enumerate(expressions)
        ]

    def segment(self, image: ImageSource, expressions: Sequence[str]) -> list[Prediction]:
        self.set_image(image)
        return self.predict(expressions)

    def _encode_on_host(self, rgb: np.ndarray) -> tuple[dict[str, Any], tuple[int, int]]:
        size, mean, std, _ = self.settings
        pixels, resized = cpp_ops.preprocess_image(rgb, size, mean, std)  # outside the lock: CPU work
        with self._backend_lock:
            return self._image_features(pixels[None]), resized

    def _encode_on_device(self, rgb: np.ndarray) -> tuple[dict[str, Any], tuple[int, int]]:
        # The kernel writes the encoder's input buffer on the backend's stream: it and the encoder
        # run are one step under the lock, or another thread's image could land in between.
        with self._backend_lock:
            image, resized = self.device_prepost.preprocess(rgb)
            return self._image_features(image), resized

    def _image_features(self, image: Any) -> dict[str, Any]:
        outputs = self.backend.run("image_encoder", {"image": image})
        return {name: self.backend.keep(outputs[name]) for name in IMAGE_FEATS}

    def _masks_on_host(self, encoded: EncodedImage, tokens: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        with self._backend_lock:
            logits = self.backend.to_numpy(self._decode(encoded, tokens))
        size, _, _, threshold = self.settings
        masks = [cpp_ops.postprocess_mask(low[0], encoded.resized, encoded.original, size, threshold) for low in logits]
        return masks, logits

    def _masks_on_device(self, encoded: EncodedImage, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with self._backend_lock:  # the decoder's output buffer is read before the next run reuses it
            logits = self._decode(encoded, tokens)
            return self.device_prepost.postprocess(logits, encoded.resized, encoded.original, self.settings.threshold)

    def _decode(self, encoded: EncodedImage, tokens: np.ndarray) -> Any:
        """The decoder's (B, 1, S/4, S/4) mask logits, where the backend keeps them."""
        backend = self.backend
        text = backend.run("text_encoder", {"text_tokens": tokens})
        fused = backend.run("fusion", {**encoded.features, **text})
        return backend.run("decoder", {**fused, "text_mask": text["text_mask"]})["mask_logits"]
