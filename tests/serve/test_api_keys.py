"""API keys: where the service and a client read them, and the check of a request's header (no Ray)."""

from __future__ import annotations

import pytest

from haris.errors import HarisError
from haris.serve.api_keys import client_key, is_loopback, key_allowed, service_keys


def test_the_service_takes_the_keys_of_its_file_and_of_the_environment(tmp_path):
    key_file = tmp_path / "keys"
    key_file.write_text("# rotated 2026-12\nfirst-key\n\n  second-key  \n", encoding="utf-8")
    assert service_keys(key_file, {"HARIS_API_KEYS": "third, fourth ,"}) == {"first-key", "second-key", "third", "fourth"}
    assert service_keys(None, {}) == frozenset()  # no keys: the service is open


@pytest.mark.parametrize("content", ["", "# only a comment\n\n"])
def test_a_key_file_without_a_key_is_refused_not_an_open_service(tmp_path, content):
    key_file = tmp_path / "keys"
    key_file.write_text(content, encoding="utf-8")
    with pytest.raises(HarisError, match="holds no API key"):
        service_keys(key_file, {})
    with pytest.raises(HarisError, match="cannot read the API key file"):
        service_keys(tmp_path / "missing", {})


def test_a_client_sends_its_files_first_key_or_the_environments(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("the-key\nanother\n", encoding="utf-8")
    assert client_key(key_file, {"HARIS_API_KEY": "from-env"}) == "the-key"
    assert client_key(None, {"HARIS_API_KEY": " from-env "}) == "from-env"
    assert client_key(None, {}) is None


@pytest.mark.parametrize(
    ("header", "allowed"),
    [("Bearer k2", True), ("bearer k1", True), ("Bearer  k1 ", True)]
    + [("Bearer k3", False), ("Bearer k", False), ("Basic k1", False), ("k1", False), ("", False), (None, False)],
)
def test_only_a_bearer_header_with_one_of_the_keys_is_allowed(header, allowed):
    assert key_allowed(header, {"k1", "k2"}) is allowed


def test_loopback_hosts():
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.0.1.1", "localhost", "::1"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "10.0.0.5"))
