"""An independent reading of every synthetic expression finds exactly the annotated object.

The checker below shares no code with the generator: it parses the sentences with its own grammar
and works only from instances.json (each annotation's attributes and bounding box). Its meaning of
the words is the one documented in haris/data/synthetic/expression_writer.py.
"""

from __future__ import annotations

import json
import math
import re

from haris.data.refer_dataset import ReferDataset

# pycocotools (not HARIS) trips this numpy 2 warning on each decode.

SIZES = "small|big"
COLOURS = "red|green|blue|yellow|purple|orange"
NOUNS = "circle|square|triangle|star|hexagon|cross|shape"
PHRASE = rf"the (?:(?P<{{0}}size>{SIZES}) )?(?:(?P<{{0}}colour>{COLOURS}) )?(?P<{{0}}noun>{NOUNS})"
EXPRESSION = re.compile(
    "^"
    + PHRASE.format("")
    + r"(?: (?P<position>on the left|on the right|at the top|at the bottom|in the middle)"
    + r"| (?P<relation>left of|right of|above|below) "
    + PHRASE.format("landmark_")
    + ")?$"
)


def objects_of(folder) -> tuple[dict[int, list[dict]], dict[int, int]]:
    """Per image: its objects as {id, size, colour, shape, x, y}; and each image's size."""
    instances = json.loads((folder / "instances.json").read_text())
    scenes: dict[int, list[dict]] = {image["id"]: [] for image in instances["images"]}
    for annotation in instances["annotations"]:
        x, y, w, h = annotation["bbox"]
        centre = {"x": x + w / 2, "y": y + h / 2}
        scenes[annotation["image_id"]].append({"id": annotation["id"], **annotation["attributes"], **centre})
    return scenes, {image["id"]: image["width"] for image in instances["images"]}


def having(objects: list[dict], match: re.Match, prefix: str = "") -> list[dict]:
    size, colour, noun = (match.group(prefix + name) for name in ("size", "colour", "noun"))
    return [o for o in objects if size in (None, o["size"]) and colour in (None, o["colour"]) and noun in ("shape", o["shape"])]


def extremes(candidates: list[dict], position: str, image_size: int) -> list[dict]:
    def key(o):
        return {
            "on the left": o["x"],
            "on the right": -o["x"],
            "at the top": o["y"],
            "at the bottom": -o["y"],
            "in the middle": math.dist((o["x"], o["y"]), (image_size / 2, image_size / 2)),
        }[position]

    best = min(map(key, candidates))
    return [o for o in candidates if key(o) == best]


def in_cone(o: dict, landmark: dict, relation: str) -> bool:
    dx, dy = o["x"] - landmark["x"], o["y"] - landmark["y"]
    along = {"left of": -dx, "right of": dx, "above": -dy, "below": dy}[relation]
    return along > (abs(dy) if relation in ("left of", "right of") else abs(dx))


def referents(text: str, objects: list[dict], image_size: int) -> list[int]:
    match = EXPRESSION.match(text)
    assert match, f"not in the grammar: {text!r}"
    candidates = having(objects, match)
    if match.group("position"):
        candidates = extremes(candidates, match.group("position"), image_size)
    elif match.group("relation"):
        landmarks = having(objects, match, "landmark_")
        assert len(landmarks) == 1, f"the landmark of {text!r} is not unique"
        pool = [o for o in candidates if o is not landmarks[0]]
        candidates = [o for o in pool if in_cone(o, landmarks[0], match.group("relation"))]
    return [o["id"] for o in candidates]


def test_every_expression_picks_exactly_its_object(synthetic_folder):
    scenes, sizes = objects_of(synthetic_folder)
    kinds, needs_more_than_attributes, checked = set(), 0, 0
    for split in ("train", "val", "testA", "testB"):
        for record in ReferDataset(synthetic_folder, split).records:
            objects = scenes[record.image_id]
            for text in record.sentences:
                assert referents(text, objects, sizes[record.image_id]) == [record.ann_id], text
                match = EXPRESSION.match(text)
                kinds.add(next((k for k in ("position", "relation") if match.group(k)), "attributes"))
                needs_more_than_attributes += len(having(objects, match)) > 1
                checked += 1
    assert checked > 100
    assert kinds == {"attributes", "position", "relation"}
    assert needs_more_than_attributes > checked / 3  # distractors share the target's stated attributes


def test_scenes_hold_two_to_six_objects_of_varied_looks(synthetic_folder):
    scenes, _ = objects_of(synthetic_folder)
    assert {len(objects) for objects in scenes.values()} <= set(range(2, 7))
    everything = [o for objects in scenes.values() for o in objects]
    assert {o["shape"] for o in everything} == set(NOUNS.split("|")) - {"shape"}
    assert {o["colour"] for o in everything} == set(COLOURS.split("|"))
    assert {o["size"] for o in everything} == {"small", "big"}
