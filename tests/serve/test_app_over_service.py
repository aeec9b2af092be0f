"""`haris app --server URL`: the page's answer source over a real `haris serve`, against the same bundle in process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from answer_schema import assert_valid
from runtime_samples import demo_scenes, mask_iou

from haris.app.app_launch import open_source
from haris.app.segment_page import segment_request

pytestmark = pytest.mark.serve


def test_the_page_answers_through_the_service_as_in_process(service, tiny_bundle, tmp_path):
    url, settings = service
    remote, local = open_source(None, url), open_source(str(tiny_bundle), None, precision="fp32")
    try:
        pixels, texts = demo_scenes(1)[0]
        expressions = texts[:2]
        served, here = remote.segment(pixels, expressions), local.segment(pixels, expressions)
        assert [p.expression for p in served] == expressions == [p.expression for p in here]
        for a, b in zip(served, here):
            assert mask_iou(a.mask, b.mask) >= 0.99
        assert remote.description["path"] == str(tiny_bundle) and remote.max_expressions == settings.limits.max_expressions
        assert "onnxruntime on cpu" in remote.summary() and f"through the service {url}" in remote.summary()
        image_path = tmp_path / "scene.png"
        from PIL import Image

        Image.fromarray(pixels).save(image_path)
        overlay, rows, files, timing = segment_request(remote, remote.max_expressions, tmp_path / "answers", str(image_path), "\n".join(expressions))
        assert len(rows) == 2 and overlay.width >= pixels.shape[1] and len(files) == 2 and "2 expressions answered" in timing
        assert np.asarray(overlay).std() > 0
        download = json.loads(Path(files[1]).read_text(encoding="utf-8"))
        assert download["model"]["service"] == url and [r["expression"] for r in download["results"]] == expressions
        assert_valid(download, "answer")
    finally:
        remote.close()
        local.close()
