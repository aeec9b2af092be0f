"""The Predictor (docs/design.md, The Predictor): segment what an expression refers to, on any backend.

`set_image` encodes an image once and caches its features (an LRU cache in bytes, keyed by the
pixels); `predict` runs the text encoder, fusion and decoder for expressions against it, with the
N = 1 image features broadcast to the B expressions inside the fusion graph. `predict_batch` takes
several images, each with its expressions: the images not cached are encoded in one image-encoder
run, and the expressions are decoded in batches of up to `max_expressions` that may span images
(their features then joined to N = B). Every other entry point is `predict_batch` underneath, and
its optional `timer` receives each stage's span (the speed benchmark's, and a service's, timings).

Each thread has its own current image, so one Predictor serves several threads; backends that are
not thread-safe (TensorRT: one context and stream per stage) are called under a lock. Pre- and
post-processing run in haris.cpp_ops on the host, or on the device next to the stages where the
backend offers it (`StageBackend.device_prepost`); both give the same results.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from haris import cpp_ops
from haris.errors import HarisError
from haris.runtime.expression_check import check_expressions
from haris.runtime.feature_cache import FeatureCache
from haris.runtime.image_loading import ImageSource, check_resizable, load_rgb
from haris.runtime.prediction import Prediction, mask_score
from haris.runtime.stage_backend import StageBackend
from haris.runtime.stage_clock import StageTimer
from haris.runtime.tensor_contract import IMAGE_FEATS

DEFAULT_CACHE_BYTES = 512 << 20
DEFAULT_MAX_IMAGES = DEFAULT_MAX_EXPRESSIONS = 64


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
        self,
        backend: StageBackend,
        settings: PreprocessSettings,
        tokenize: Callable[[Sequence[str]], np.ndarray],
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        max_images: int = DEFAULT_MAX_IMAGES,
        max_expressions: int = DEFAULT_MAX_EXPRESSIONS,
        threads: int | None = None,
        description: dict[str, Any] | None = None,
    ) -> None:
        """`max_images` and `max_expressions` bound one stage run (N and B: a bundle's checked ranges);
        `threads` is what the host pre- and post-processing kernels use (None: every hardware thread);
        `description` says what answers (model path, backend, precision), for services and pages to show."""
        self.description = dict(description or {})
        self.backend = backend
        self.settings = settings
        self.tokenize = tokenize
        self.cache = FeatureCache(cache_bytes)
        self.max_images, self.max_expressions, self.threads = max_images, max_expressions, threads
        self._local = threading.local()
        self._backend_lock = contextlib.nullcontext() if backend.thread_safe else threading.Lock()
        self.device_prepost = backend.device_prepost(settings.image_size, settings.pixel_mean, settings.pixel_std)

    @classmethod
    def from_bundle(
        cls,
        path: str | Path,
        backend: str = "onnxruntime",
        device: str | None = None,
        precision: str | None = None,
        threads: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> Predictor:
        """A bundle on any backend of the registry, or "auto" (chosen from this machine, as is
        precision "auto"); `precision` None: the backend's default on the device, `device` None: the backend's."""
        from haris.runtime.predictor_factory import open_bundle_predictor

        return open_bundle_predictor(path, backend, device, precision, threads, cache_bytes)

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        device: str = "cpu",
        precision: str = "fp32",
        threads: int | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> Predictor:
        """Eager torch on a checkpoint: FP32 (the parity reference) or under BF16 / FP16 autocast."""
        from haris.runtime.predictor_factory import predictor_from_checkpoint

        return predictor_from_checkpoint(path, device, precision, threads, cache_bytes)

    def set_image(self, image: ImageSource) -> None:
        """Encode `image` (or find it in the cache) and make it this thread's current image."""
        self._local.image = self._encode([load_rgb(image)], None)[0]

    def predict(self, expressions: Sequence[str]) -> list[Prediction]:
        """One Prediction per expression, against this thread's current image."""
        encoded = getattr(self._local, "image", None)
        if encoded is None:
            raise HarisError("no image set: call set_image(image) before predict(expressions)")
        return self._decode([(encoded, check_expressions(expressions))], None)[0]

    def segment(self, image: ImageSource, expressions: Sequence[str]) -> list[Prediction]:
        """`set_image(image)`, then `predict(expressions)`."""
        self.set_image(image)
        return self.predict(expressions)

    def predict_batch(self, items: Sequence[tuple[ImageSource, Sequence[str]]], timer: StageTimer | None = None) -> list[list[Prediction]]:
        """Per (image, expressions) item, one Prediction per expression; `timer` gets every stage's span."""
        texts = [check_expressions(expressions) for _, expressions in items]
        encoded = self._encode([load_rgb(image) for image, _ in items], timer)
        return self._decode(list(zip(encoded, texts)), timer)

    def close(self) -> None:
        """Release the backend (its sessions or device memory) and the cached features."""
        self.cache = FeatureCache(0)
        self.backend.close()

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _encode(self, images: list[np.ndarray], timer: StageTimer | None) -> list[EncodedImage]:
        """Each image's features: from the cache, or encoded with the other misses in runs of up to max_images."""
        for rgb in images:
            check_resizable(rgb.shape[0], rgb.shape[1], self.settings.image_size)
        keys = [FeatureCache.key(rgb) if self.cache.max_bytes else "" for rgb in images]
        encoded: list[EncodedImage | None] = [self.cache.get(key) if key else None for key in keys]
        missing = [index for index, found in enumerate(encoded) if found is None]
        for start in range(0, len(missing), self.max_images):
            chunk = missing[start : start + self.max_images]
            for index, fresh in zip(chunk, self._encode_uncached([images[index] for index in chunk], timer)):
                encoded[index] = fresh
                if keys[index]:
                    self.cache.put(keys[index], fresh, sum(self.backend.nbytes(value) for value in fresh.features.values()))
        return encoded

    def _encode_uncached(self, images: list[np.ndarray], timer: StageTimer | None) -> list[EncodedImage]:
        if self.device_prepost is None:
            with _span(timer, "pre_processing"):  # on the host, outside the lock: CPU work
                settings = self.settings
                prepared = [
                    cpp_ops.preprocess_image(rgb, settings.image_size, settings.pixel_mean, settings.pixel_std, self.threads) for rgb in images
                ]
                pixels, sizes = np.stack([pixels for pixels, _ in prepared]), [resized for _, resized in prepared]
        with self._backend_lock:
            if self.device_prepost is not None:
                # The kernels write the encoder's input buffer on the backend's stream: they and the
                # encoder run are one step under the lock, or another thread's image could land between.
                with _span(timer, "pre_processing"):
                    pixels, sizes = self.device_prepost.preprocess(images)
            with _span(timer, "image_encoder"):
                outputs = self.backend.run("image_encoder", {"image": pixels})
                rows = {name: self.backend.rows(outputs[name], len(images)) for name in IMAGE_FEATS}
                kept = [{name: self.backend.keep(rows[name][index]) for name in IMAGE_FEATS} for index in range(len(images))]
        return [EncodedImage(features, rgb.shape[:2], resized) for features, rgb, resized in zip(kept, images, sizes)]

    def _decode(self, pairs: list[tuple[EncodedImage, list[str]]], timer: StageTimer | None) -> list[list[Prediction]]:
        results: list[list[Prediction]] = [[] for _ in pairs]
        for chunk in _chunks(pairs, self.max_expressions):
            with _span(timer, "pre_processing"):
                tokens = self.tokenize([text for _, text in chunk])
            encoded = [pairs[index][0] for index, _ in chunk]
            masks, logits = self._masks(encoded, tokens, timer)
            threshold = self.settings.threshold
            for (index, text), mask, low in zip(chunk, masks, logits):
                results[index].append(Prediction(text, mask, low[0], mask_score(low[0], threshold)))
        return results

    def _masks(self, encoded: list[EncodedImage], tokens: np.ndarray, timer: StageTimer | None) -> tuple[list[np.ndarray], np.ndarray]:
        sizes = [(image.resized, image.original) for image in encoded]
        with self._backend_lock:  # on the device path the decoder's output buffer is read before the next run reuses it
            logits = self._decoded_logits(encoded, tokens, timer)
            if self.device_prepost is not None:
                with _span(timer, "post_processing"):
                    return self.device_prepost.postprocess(logits, sizes, self.settings.threshold)
            host_logits = self.backend.to_numpy(logits)
        with _span(timer, "post_processing"):
            size, threshold = self.settings.image_size, self.settings.threshold
            masks = [
                cpp_ops.postprocess_mask(low[0], resized, original, size, threshold, threads=self.threads)
                for low, (resized, original) in zip(host_logits, sizes)
            ]
        return masks, host_logits

    def _decoded_logits(self, encoded: list[EncodedImage], tokens: np.ndarray, timer: StageTimer | None) -> Any:
        """The decoder's (B, 1, S/4, S/4) mask logits, where the backend keeps them."""
        backend = self.backend
        with _span(timer, "text_encoder"):
            text = backend.run("text_encoder", {"text_tokens": tokens})
        with _span(timer, "fusion"):
            fused = backend.run("fusion", {**self._image_features(encoded), **text})
        with _span(timer, "decoder"):
            return backend.run("decoder", {**fused, "text_mask": text["text_mask"]})["mask_logits"]

    def _image_features(self, encoded: list[EncodedImage]) -> dict[str, Any]:
        """N = 1 features when every expression reads one image, else each expression's row joined (N = B)."""
        if all(image is encoded[0] for image in encoded):
            return encoded[0].features
        return {name: self.backend.concatenate([image.features[name] for image in encoded]) for name in IMAGE_FEATS}


def _chunks(pairs: list[tuple[EncodedImage, list[str]]], size: int) -> Iterator[list[tuple[int, str]]]:
    """(item index, expression) in order, cut into runs of at most `size` expressions."""
    flat = [(index, text) for index, (_, texts) in enumerate(pairs) for text in texts]
    for start in range(0, len(flat), size):
        yield flat[start : start + size]


@contextlib.contextmanager
def _span(timer: StageTimer | None, stage: str) -> Iterator[None]:
    if timer is None:
        yield
        return
    start = timer.mark()
    yield
    timer.record(stage, start, timer.mark())
