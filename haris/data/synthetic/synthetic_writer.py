"""Writing the synthetic default dataset in the refer format, so that ReferDataset reads it as is.

    out_dir/images/img_000001.png ...   the scenes
    out_dir/instances.json               COCO images, annotations (+ "attributes": shape, colour, size)
    out_dir/refs(unc).p                  the refs, pickled at protocol 2 as refer's files are

Every image is made from its own random stream, seeded by (seed, image index), so the files are
byte-identical for a seed whatever the number of worker processes.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import pickle
from pathlib import Path

import numpy as np
from PIL import Image

from haris.data.synthetic.demo_scene import render_scene
from haris.data.synthetic.vocabulary import SHAPES
from haris.errors import ConfigError
from haris.progress import Progress

log = logging.getLogger(__name__)
SPLITS = {"train": 0.8, "val": 0.1, "testA": 0.05, "testB": 0.05}  # fractions of the images


def write_synthetic_dataset(
    out_dir: str | Path,
    num_images: int = 2000,
    image_size: int = 256,
    seed: int = 0,
    workers: int = 1,
    progress: bool = True,
) -> dict:
    """Write the dataset; return {split: {"images": n, "refs": n, "sentences": n}}."""
    if num_images < len(SPLITS):
        raise ConfigError(f"num_images must be at least {len(SPLITS)} (one image per split), not {num_images}")
    if image_size < 64:
        raise ConfigError(f"image_size must be at least 64 pixels, not {image_size}")
    if seed < 0:
        raise ConfigError(f"seed must be 0 or more, not {seed}")
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    out_dir = Path(out_dir)
    (out_dir / "images").mkdir(parents=True, exist_ok=True)
    jobs = [(index, seed, image_size, str(out_dir / "images")) for index in range(num_images)]
    scenes = _run(jobs, workers, progress)
    splits = _assign_splits(num_images, seed)
    instances, refs = _assemble(scenes, splits, image_size, seed)
    (out_dir / "instances.json").write_text(json.dumps(instances, separators=(",", ":")), encoding="utf-8")
    with open(out_dir / "refs(unc).p", "wb") as handle:
        # The JSON round trip gives every run the same object sharing, so pickle's memo (and so the
        # bytes) depends on the content only, not on which process built which string.
        pickle.dump(json.loads(json.dumps(refs)), handle, protocol=2)
    return _summary(splits, refs)


def _run(jobs: list[tuple], workers: int, progress: bool) -> list[dict]:
    log.debug("synthetic images: %d to draw in %d process(es)", len(jobs), workers)
    if workers == 1:
        return [_make_image(job) for job in Progress(jobs, "synthetic images", unit="img", enabled=progress)]
    # fork, where there is one: spawn re-imports the caller's main module in each worker, which fails
    # (and leaves Pool restarting workers forever) for a script without a main guard or read from stdin.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers) as pool:
        return list(Progress(pool.imap(_make_image, jobs, chunksize=16), "synthetic images", len(jobs), "img", progress))


def _make_image(job: tuple[int, int, int, str]) -> dict:
    """Render, save and describe one scene."""
    index, seed, image_size, images_dir = job
    scene = render_scene(index, seed, image_size)
    file_name = f"img_{index + 1:06d}.png"
    # PNG level 3: faster to write than the default 6, for somewhat larger files (docs/measurements.md).
    Image.fromarray(scene.pixels).save(Path(images_dir) / file_name, compress_level=3)
    for annotation, scene_object in zip(scene.annotations, scene.objects):
        annotation["attributes"] = {name: scene_object.attribute(name) for name in ("shape", "colour", "size")}
    return {"file_name": file_name, "annotations": scene.annotations, "expressions": scene.expressions}


def _assign_splits(num_images: int, seed: int) -> list[str]:
    """The split of each image: a seeded shuffle cut by SPLITS' fractions, each split at least one image."""
    sizes = {name: max(1, round(num_images * fraction)) for name, fraction in SPLITS.items() if name != "train"}
    sizes["train"] = num_images - sum(sizes.values())
    order = np.random.default_rng(seed).permutation(num_images)
    names = [name for name in SPLITS for _ in range(sizes[name])]
    splits = [""] * num_images
    for position, image in enumerate(order):
        splits[image] = names[position]
    return splits


def _assemble(scenes: list[dict], splits: list[str], image_size: int, seed: int) -> tuple[dict, list[dict]]:
    images, annotations, refs = [], [], []
    next_sent_id = 1
    for index, scene in enumerate(scenes):
        image_id = index + 1
        images.append({"id": image_id, "file_name": scene["file_name"], "height": image_size, "width": image_size})
        for annotation, expressions in zip(scene["annotations"], scene["expressions"]):
            ann_id = len(annotations) + 1
            category_id = SHAPES.index(annotation["attributes"]["shape"]) + 1
            ids = {"id": ann_id, "image_id": image_id, "category_id": category_id}
            annotations.append({**ids, "iscrowd": 0, **annotation})
            if expressions:
                refs.append(_ref(len(refs) + 1, ids, splits[index], expressions, next_sent_id))
                next_sent_id += len(expressions)
    categories = [{"id": i + 1, "name": shape, "supercategory": "shape"} for i, shape in enumerate(SHAPES)]
    info = {"description": "HARIS synthetic referring dataset", "seed": seed, "image_size": image_size}
    return {"info": info, "images": images, "annotations": annotations, "categories": categories}, refs


def _ref(ref_id: int, ids: dict, split: str, expressions: list[str], first_sent_id: int) -> dict:
    """A ref as refer writes it; `ids` holds its annotation's id, image_id and category_id."""
    sentences = [
        {"sent": text, "raw": text[0].upper() + text[1:] + ".", "tokens": text.split(), "sent_id": first_sent_id + i}
        for i, text in enumerate(expressions)
    ]
    return {
        "ref_id": ref_id,
        "ann_id": ids["id"],
        "image_id": ids["image_id"],
        "split": split,
        "sentences": sentences,
        "sent_ids": [sentence["sent_id"] for sentence in sentences],
        "category_id": ids["category_id"],
        # As in RefCOCO, the ref's own file name is not the image's: readers must use instances.json.
        "file_name": f"SYNTH_{ids['image_id']:06d}_{ref_id}.jpg",
    }


def _summary(splits: list[str], refs: list[dict]) -> dict:
    summary = {name: {"images": splits.count(name), "refs": 0, "sentences": 0} for name in SPLITS}
    for ref in refs:
        summary[ref["split"]]["refs"] += 1
        summary[ref["split"]]["sentences"] += len(ref["sentences"])
    return summary
