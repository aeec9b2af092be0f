"""`haris label` on a local Ray (started once in this process, 2 CPUs): the tiny bundle labels 40
images with 3 expressions into masks equal to `haris predict`'s, lists the unreadable files, does
nothing when rerun, refuses other settings in the same folder, and labels every image exactly once
when an actor is killed mid-run."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from label_samples import EXPRESSIONS, SCENES, UNREADABLE
from pycocotools.coco import COCO
from pycocotools.mask import decode

from haris.errors import HarisError
from haris.label.label_progress import LabelProgress
from haris.label.label_run import label_images
from haris.label.label_settings import LabelSettings
from haris.runtime.predict_run import find_images, predict_images
from haris.runtime.predictor_factory import open_predictor

pytestmark = pytest.mark.label


@pytest.fixture(scope="module")
def local_ray():
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def labelled(local_ray, tiny_bundle, collection, tmp_path_factory):
    """(settings, summary) of one run: onnxruntime FP32, shards of 8, two actors of 0.25 GiB reserved memory."""
    images, expressions = collection
    out = tmp_path_factory.mktemp("labelled")
    options = {"backend": "onnxruntime", "precision": "fp32", "actors": (2, 2), "shard_size": 8, "batch_size": 4, "memory_gib": 0.25}
    settings = LabelSettings(str(tiny_bundle), str(images), str(expressions), str(out), **options)
    return settings, label_images(settings)


def test_labels_decode_to_the_masks_of_haris_predict(labelled, tiny_bundle, collection, tmp_path):
    settings, summary = labelled
    assert summary == {**summary, "images": SCENES + 2, "labelled": SCENES, "unreadable": 2, "shards": 6, "shards_labelled": 6}
    coco = COCO(summary["merged"])
    merged = json.loads(Path(summary["merged"]).read_text())
    reasons = {Path(entry["file_name"]).name: entry["reason"] for entry in merged["unreadable"]}
    assert reasons.keys() == set(UNREADABLE) and "empty" in reasons["empty.png"] and "not an image" in reasons["notes.jpg"]
    assert [category["name"] for category in merged["categories"]] == EXPRESSIONS
    manifest = json.loads(Path(settings.out, "manifest.json").read_text())
    assert {engine for shard in manifest["shards"] for engine in shard["engines"]} == {"onnxruntime:fp32 on cpu"}
    with open_predictor(tiny_bundle, "onnxruntime", "cpu", "fp32") as predictor:
        images = [path for path in find_images([str(collection[0])], recursive=True) if path.name.startswith("scene")]
        report = predict_images(predictor, images, EXPRESSIONS, tmp_path / "predict", progress=False)
    by_file = {image["file_name"]: image for image in merged["images"]}
    compared = 0
    for predicted in report["images"]:
        image = by_file[str(Path(predicted["path"]).absolute())]
        assert (image["height"], image["width"]) == (predicted["image"]["height"], predicted["image"]["width"])
        annotations = {coco.cats[a["category_id"]]["name"]: a for a in coco.imgToAnns[image["id"]]}
        for result in predicted["results"]:
            mask = decode(result["rle"]).astype(bool)
            if not mask.any():
                assert result["expression"] not in annotations  # an empty mask gets no annotation
                continue
            annotation = annotations[result["expression"]]
            assert np.array_equal(decode(annotation["segmentation"]).astype(bool), mask)
            assert annotation["bbox"] == result["box"] and annotation["area"] == result["area"] and annotation["score"] == result["score"]
            compared += 1
    assert compared > SCENES  # most masks have pixels: the comparison is of real masks


def test_a_rerun_does_nothing_and_other_settings_are_refused(labelled):
    settings, _ = labelled
    shards = sorted(Path(settings.out, "shards").iterdir())
    before = [(path.stat().st_ino, path.stat().st_mtime_ns) for path in [*shards, Path(settings.out, "annotations.json")]]
    again = label_images(settings)
    assert again["shards_labelled"] == 0 and again["labelled"] == SCENES
    assert [(path.stat().st_ino, path.stat().st_mtime_ns) for path in [*shards, Path(settings.out, "annotations.json")]] == before
    with pytest.raises(HarisError, match="precision: 'fp32' there, 'fp16' now"):
        label_images(replace(settings, precision="fp16"))


class KillFirstWorker(LabelProgress):
    """Kills (SIGKILL) the actor process that returned the first rows, while shards remain to label."""

    def __init__(self) -> None:
        super().__init__()
        self.killed: int | None = None
        self.remaining_when_killed = 0

    def advance(self, batch) -> None:
        super().advance(batch)
        if self.killed is None:
            self.killed = int(batch["process"][0])
            self.remaining_when_killed = self.total - self.done
            os.kill(self.killed, signal.SIGKILL)


def test_a_killed_actor_loses_no_image_and_labels_none_twice(labelled, tmp_path):
    settings, summary = labelled
    progress = KillFirstWorker()
    killed_run = replace(settings, out=str(tmp_path / "killed"), shard_size=4)
    result = label_images(killed_run, progress)
    assert progress.remaining_when_killed >= 30  # killed at the first shard: the others still to label
    with pytest.raises(ProcessLookupError):
        os.kill(progress.killed, 0)
    assert result["labelled"] == SCENES and result["unreadable"] == 2
    merged, reference = (json.loads(Path(path).read_text()) for path in (result["merged"], summary["merged"]))
    assert [image["id"] for image in merged["images"]] == [image["id"] for image in reference["images"]]
    assert merged["annotations"] == reference["annotations"]  # each image once, with the same masks
