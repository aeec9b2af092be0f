"""API keys of `haris serve`: where they come from, and the constant-time check of a request's key.

The service reads its keys from a file (`--api-key-file`, one key per line; blank lines and lines
starting with # are skipped) and from `HARIS_API_KEYS` (comma-separated), both together. A client
(SegmentClient, `haris predict --server`, `haris app --server`) reads its one key from
`--api-key-file` (the first key in the file) or `HARIS_API_KEY`. The standard library only: the
client side imports this without the serve extra.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from pathlib import Path

from haris.errors import HarisError

SERVICE_KEYS_VARIABLE = "HARIS_API_KEYS"
CLIENT_KEY_VARIABLE = "HARIS_API_KEY"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def service_keys(key_file: str | Path | None, environment: Mapping[str, str]) -> frozenset[str]:
    """The keys the service accepts: those of `key_file` and of HARIS_API_KEYS (empty: no key needed)."""
    keys = {key.strip() for key in environment.get(SERVICE_KEYS_VARIABLE, "").split(",") if key.strip()}
    if key_file is not None:
        from_file = _file_keys(key_file)
        if not from_file:
            raise HarisError(f"{key_file} holds no API key: write one key per line (e.g. `openssl rand -hex 24 > {key_file}`)")
        keys |= set(from_file)
    return frozenset(keys)


def client_key(key_file: str | Path | None, environment: Mapping[str, str]) -> str | None:
    """The key a client sends: the first of `key_file`, else HARIS_API_KEY, else None (no header)."""
    if key_file is not None:
        keys = _file_keys(key_file)
        if not keys:
            raise HarisError(f"{key_file} holds no API key: write the service's key on its first line")
        return keys[0]
    return environment.get(CLIENT_KEY_VARIABLE, "").strip() or None


def key_allowed(authorization: str | None, keys: Iterable[str]) -> bool:
    """Whether an `Authorization: Bearer KEY` header names one of `keys`. Every key is compared, in
    constant time each, so the time taken says nothing about how much of a key matched."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return False
    given = presented.strip().encode("utf-8")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given, key.encode("utf-8"))
    return matched


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _file_keys(key_file: str | Path) -> list[str]:
    try:
        lines = Path(key_file).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise HarisError(f"{key_file}: cannot read the API key file: {error.strerror or error}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
