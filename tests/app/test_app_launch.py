"""Serving the page (no browser): it answers HTTP on its port, a taken port is a clear error, and
closing stops the server and closes what answers."""

from __future__ import annotations

import json
import urllib.request

import pytest
from app_answers import band_source
from local_ports import free_port

from haris.app.app_launch import start_app
from haris.errors import HarisError


def test_the_page_is_served_then_stopped_and_a_taken_port_is_an_error():
    port = free_port()
    closed, closed_second = [], []
    app = start_app(band_source(closed=closed), port=port)
    try:
        with urllib.request.urlopen(app.url, timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(app.url + "config", timeout=10) as response:  # what the page's script builds the page from
            config = json.loads(response.read())
        assert config["title"] == "HARIS" and any(part.get("props", {}).get("elem_id") == "segment" for part in config["components"])
        assert app.files_root.is_dir()
        with pytest.raises(HarisError, match=f"cannot serve the page on 127.0.0.1:{port}"):
            start_app(band_source(closed=closed_second), port=port)
        assert closed_second == [True]  # a failed start closes its source too
    finally:
        app.close()
    assert closed == [True] and not app.files_root.exists()
    with pytest.raises(OSError), urllib.request.urlopen(app.url, timeout=5):
        pass
