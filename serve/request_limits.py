"""What the service accepts in one request; anything over a limit is refused before model work."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from haris.errors import HarisError


@dataclass(frozen=True)
class RequestLimits:
    max_expressions: int = 64  # per request; the Predictor chunks them into the bundle's batch size
    max_expression_chars: int = 500  # CLIP reads 77 tokens: longer text is cut anyway, this refuses abuse
    max_payload_bytes: int = 20 << 20  # the HTTP body, multipart or JSON (base64 adds a third)
    max_image_pixels: int = 40_000_000  # width x height, checked from the header before decoding

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or value < 1:
                raise HarisError(f"request limit {name} must be a positive integer, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
