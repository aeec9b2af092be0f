"""The Predictor (DESIGN.md, Runtime): segment what an expression refers to, on any backend.

`set_image` encodes an image once and caches its features (an LRU cache in bytes, keyed by the
pixels); `predict` runs the text encoder, fusion and decoder for a batch of expressions against
it, with N = 1 image features broadcast to the B expressions inside the fusion graph. Each thread
has its own current image, so one Predictor serves several threads; backends that are not
thread-safe (TensorRT: one context and stream per stage) are called under a lock.
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
            size, mean, std, _ = self.settings
            if 0 in resized_shape(rgb.shape[0], rgb.shape[1], size):
                raise ImageError(f"a {rgb.shape[0]} x {rgb.shape[1]} image is too elongated: its short side "
                                 f"would be 0 pixels when its long side is resized to the model's {size}")
            pixels, resized = cpp_ops.preprocess_image(rgb, size, mean, std)
            with self._backend_lock:
                outputs = self.backend.run("image_encoder", {"image": pixels[None]})
                features = {name: self.backend.keep(outputs[name]) for name in IMAGE_FEATS}
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
        with self._backend_lock:
            logits = self._decode(encoded, tokens)
        return [self._prediction(text, logits[index, 0], encoded) for index, text in enumerate(expressions)]

    def segment(self, image: ImageSource, expressions: Sequence[str]) -> list[Prediction]:
        self.set_image(image)
        return self.predict(expressions)

    def _decode(self, encoded: EncodedImage, tokens: np.ndarray) -> np.ndarray:
        backend = self.backend
        text = backend.run("text_encoder", {"text_tokens": tokens})
        fused = backend.run("fusion", {**encoded.features, **text})
        logits = backend.run("decoder", {**fused, "text_mask": text["text_mask"]})["mask_logits"]
        return backend.to_numpy(logits)

    def _prediction(self, expression: str, logits: np.ndarray, encoded: EncodedImage) -> Prediction:
        size, _, _, threshold = self.settings
        mask = cpp_ops.postprocess_mask(logits, encoded.resized, encoded.original, size, threshold)
        return Prediction(expression, mask, logits, mask_score(logits, threshold))
