"""`haris serve --write-config`: the Serve config YAML (checked against Serve's schema), its
application args read back into the same settings, and the application builder (no Ray started)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from haris.cli import main
from haris.errors import HarisError
from haris.serve.request_limits import RequestLimits
from haris.serve.service_settings import ServiceSettings


def test_the_written_config_holds_the_settings_and_names_the_key_file_not_a_key(tiny_bundle, tmp_path, monkeypatch):
    (tmp_path / "keys").write_text("never-in-the-config\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    arguments = ["serve", str(tiny_bundle), "--replicas", "3", "--port", "9123", "--host", "0.0.0.0", "--api-key-file", "keys"]
    arguments += ["--max-queued-requests", "12", "--request-timeout-s", "7.5", "--max-expressions", "8", "--write-config", "serve.yaml"]
    assert main(arguments) == 0
    text = (tmp_path / "serve.yaml").read_text(encoding="utf-8")
    assert "never-in-the-config" not in text and "RAY_SERVE_USE_GRPC_BY_DEFAULT=1" in text  # the environment, as a comment
    config = yaml.safe_load(text)
    assert config["http_options"] == {"host": "0.0.0.0", "port": 9123} and config["proxy_location"] == "HeadOnly"
    (application,) = config["applications"]
    assert application["import_path"] == "haris.serve.service_app:build_app" and application["route_prefix"] == "/"
    settings = ServiceSettings.from_args(application["args"])
    assert settings.bundle == str(Path(tiny_bundle).resolve()) and settings.api_key_file == str(tmp_path / "keys")
    assert (settings.replicas, settings.max_queued_requests, settings.request_timeout_s) == (3, 12, 7.5)
    assert settings.limits == RequestLimits(max_expressions=8) and settings.host == "127.0.0.1"  # HTTP is Serve's, not an arg


def test_the_builder_takes_serves_args_dict_and_refuses_unknown_ones(tiny_bundle):
    from ray.serve import Application

    from haris.serve.service_app import build_app

    app = build_app({"bundle": str(tiny_bundle), "replicas": 2, "limits": {"max_expressions": 8}})
    assert isinstance(app, Application)
    with pytest.raises(HarisError, match="unknown \\['port'\\]"):
        build_app({"bundle": str(tiny_bundle), "port": 8000})
    assert ServiceSettings.from_args(ServiceSettings(str(tiny_bundle), replicas=2).to_args()) == ServiceSettings(str(tiny_bundle), replicas=2)
    # `serve run haris.serve.service_app:build_app bundle=... replicas=2 ...` passes every value as a string
    typed = ServiceSettings.from_args({"bundle": "b", "replicas": "2", "num_cpus": "1.5", "threads": "3", "request_timeout_s": "9"})
    assert (typed.replicas, typed.num_cpus, typed.threads, typed.request_timeout_s) == (2, 1.5, 3, 9.0)
    with pytest.raises(HarisError, match="'two': expected int"):
        ServiceSettings.from_args({"bundle": "b", "replicas": "two"})


def test_a_folder_that_is_no_bundle_is_refused_before_any_config_is_written(tmp_path):
    assert main(["serve", str(tmp_path), "--write-config", str(tmp_path / "serve.yaml")]) == 2
    assert not (tmp_path / "serve.yaml").exists()
