"""A deployment without torch: the Predictor and `haris predict` (the engine it chooses) run in an interpreter where
torch, torchvision, open_clip and segment_anything cannot be imported, and none of them is ever loaded;
a folder that is not a bundle gets a one-line error there, not an ImportError traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from runtime_samples import demo_scenes, encode_image

from haris.runtime.predictor import Predictor

EXPRESSIONS = ["the big shape on the left", "the red circle", "a"]

SCRIPT = """
import json, sys
import numpy as np

BLOCKED = {"torch", "torchvision", "open_clip", "segment_anything"}

class BlockHeavyImports:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed in this deployment")
        return None

sys.meta_path.insert(0, BlockHeavyImports())

from haris.cli import main
from haris.runtime.predictor import Predictor

bundle, image, out, expressions = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
predictions = Predictor.from_bundle(bundle, "auto", precision="auto").segment(image, expressions)  # as the CLI's default
np.save(f"{out}/masks.npy", np.stack([p.mask for p in predictions]))
args = ["predict", bundle, image, "--out", f"{out}/cli", *[f"--expression={text}" for text in expressions]]
code = main(args)
not_a_bundle = main(["predict", out, image, "--out", f"{out}/cli2", "--expression=the red circle"])  # needs torch
print(json.dumps({"cli_exit": code, "not_a_bundle_exit": not_a_bundle,
                  "loaded": sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)}))
"""


def test_predictor_and_cli_run_without_torch(tmp_path, tiny_bundle):
    pixels, _ = demo_scenes(1)[0]
    image = tmp_path / "scene.png"
    image.write_bytes(encode_image(pixels, "PNG"))
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_bundle), str(image), str(tmp_path), json.dumps(EXPRESSIONS)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"cli_exit": 0, "not_a_bundle_exit": 2, "loaded": []}, result.stderr
    assert "Traceback" not in result.stderr
    assert f"haris: error: {tmp_path} is not a bundle (no manifest.json), and running a checkpoint needs PyTorch" in result.stderr

    auto = Predictor.from_bundle(tiny_bundle, "auto", precision="auto")
    expected = [p.mask for p in auto.segment(pixels, EXPRESSIONS)]
    np.testing.assert_array_equal(np.load(tmp_path / "masks.npy"), np.stack(expected))
    written = json.loads((tmp_path / "cli" / "predictions.json").read_text())
    assert [p["area"] for p in written["images"][0]["results"]] == [int(mask.sum()) for mask in expected]
    assert written["model"]["choice"] == auto.description["choice"]  # the engine chosen, and why, recorded
