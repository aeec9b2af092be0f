"""An LRU cache of encoded images, sized in bytes, shared by the threads of one Predictor.

Keyed by the image's content (a digest of its pixels and shape), so the same picture handed in
twice, from a path or an array, is encoded once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import numpy as np


class FeatureCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used_bytes = 0
        self._entries: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def key(image: np.ndarray) -> str:
        digest = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16)
        digest.update(repr(image.shape).encode())
        return digest.hexdigest()

    def get(self, key: str) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def put(self, key: str, value: Any, nbytes: int) -> None:
        """Store `value`; the least recently used entries make room. Larger than the cache: not kept."""
        if nbytes > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self.used_bytes -= self._entries.pop(key)[1]
            while self._entries and self.used_bytes + nbytes > self.max_bytes:
                self.used_bytes -= self._entries.popitem(last=False)[1][1]
            self._entries[key] = (value, nbytes)
            self.used_bytes += nbytes

    def __len__(self) -> int:
        return len(self._entries)
