"""Serving the page (no browser): it answers HTTP on its port, a taken port is a clear error, and
closing stops the server and closes what answers."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from app_answers import band_source
from local_ports import free_port

from haris.app.app_launch import read_logins, start_app
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


def test_with_logins_the_page_answers_only_after_a_login(tmp_path):
    logins = tmp_path / "logins"
    logins.write_text("# the page's users\nann:s3cret:with-colon\n", encoding="utf-8")
    app = start_app(band_source(), port=free_port(), logins=read_logins(logins))
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(app.url + "config", timeout=10)
        assert refused.value.code == 401
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with pytest.raises(urllib.error.HTTPError) as wrong:
            browser.open(app.url + "login", data=urllib.parse.urlencode({"username": "ann", "password": "s3cret"}).encode(), timeout=10)
        assert wrong.value.code == 400
        form = urllib.parse.urlencode({"username": "ann", "password": "s3cret:with-colon"}).encode()
        with browser.open(app.url + "login", data=form, timeout=10) as response, browser.open(app.url + "config", timeout=10) as config:
            assert response.status == 200 and config.status == 200
    finally:
        app.close()


@pytest.mark.parametrize("content", ["", "ann\n", ":pw\n", "ann:\n"])
def test_a_login_file_without_user_and_password_on_each_line_is_refused(tmp_path, content):
    (tmp_path / "logins").write_text(content, encoding="utf-8")
    with pytest.raises(HarisError, match="one `user:password` per line"):
        read_logins(tmp_path / "logins")
