"""What a labelling run reads: the image list (folder, glob, text and Parquet lists) and the
expressions (one list, or per image as JSON Lines, a JSON object or Parquet), with their refusals."""

from __future__ import annotations

import json

import pyarrow
import pyarrow.parquet
import pytest

from haris.errors import HarisError
from haris.label.expression_table import ExpressionTable
from haris.label.image_list import list_images
from haris.label.label_settings import LabelSettings, parse_actors


@pytest.fixture
def collection(tmp_path):
    """b.png and a.jpg in the folder, c.png in a subfolder, and a file that is not an image."""
    for name in ("b.png", "a.jpg", "sub/c.png"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"pixels")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_a_folder_lists_its_images_recursively_sorted_and_absolute(collection, monkeypatch):
    monkeypatch.chdir(collection.parent)
    images = list_images(collection.name)
    assert images == [collection / "a.jpg", collection / "b.png", collection / "sub" / "c.png"]


def test_a_glob_and_lists_give_the_same_sorted_paths(collection):
    (collection / "list.txt").write_text("# the images\nsub/c.png\n\nb.png\n/" + str(collection / "a.jpg").lstrip("/") + "\nb.png\n")
    pyarrow.parquet.write_table(pyarrow.table({"path": ["b.png", "sub/c.png", "a.jpg"]}), collection / "list.parquet")
    expected = [collection / "a.jpg", collection / "b.png", collection / "sub" / "c.png"]
    assert list_images(str(collection / "list.txt")) == expected  # relative to the list's folder, duplicates once
    assert list_images(str(collection / "list.parquet")) == expected
    assert list_images(str(collection / "**" / "*.png")) == expected[1:]


def test_no_image_is_refused_by_name(tmp_path):
    with pytest.raises(HarisError, match="no such file"):
        list_images(str(tmp_path / "missing" / "*.png"))
    with pytest.raises(HarisError, match="no images there"):
        list_images(str(tmp_path))


def test_one_list_of_expressions_serves_every_image_and_numbers_categories(collection):
    images = list_images(str(collection))
    (collection / "expressions.txt").write_text("the red circle\n\nthe blue square\n")
    table = ExpressionTable.read(collection / "expressions.txt", images)
    assert table.per_image == [["the red circle", "the blue square"]] * 3
    assert table.categories == {"the red circle": 1, "the blue square": 2}
    assert table.first_annotation.tolist() == [1, 3, 5]  # two annotation ids per image, fixed before labelling
    (collection / "expressions.json").write_text(json.dumps(["the red circle"]))
    assert ExpressionTable.read(collection / "expressions.json", images).per_image == [["the red circle"]] * 3


def test_per_image_expressions_from_json_lines_parquet_and_a_json_object(collection):
    images = list_images(str(collection))
    entries = {"sub/c.png": ["the cat"], "a.jpg": ["the dog", "the cat"], str(collection / "b.png"): ["the bird"], "other.png": ["x"]}
    (collection / "e.jsonl").write_text("\n".join(json.dumps({"image": key, "expressions": value}) for key, value in entries.items()))
    (collection / "e.json").write_text(json.dumps(entries))
    pyarrow.parquet.write_table(pyarrow.table({"image": list(entries), "expressions": list(entries.values())}), collection / "e.parquet")
    for name in ("e.jsonl", "e.json", "e.parquet"):
        table = ExpressionTable.read(collection / name, images)
        assert table.per_image == [["the dog", "the cat"], ["the bird"], ["the cat"]], name
        assert table.categories == {"the dog": 1, "the cat": 2, "the bird": 3}  # first use in the sorted images
        assert table.first_annotation.tolist() == [1, 3, 4]


def test_missing_or_bad_expressions_are_refused_with_the_file(collection):
    images = list_images(str(collection))
    (collection / "e.jsonl").write_text(json.dumps({"image": "a.jpg", "expressions": ["the dog"]}))
    with pytest.raises(HarisError, match="2 of 3 images have no expressions"):
        ExpressionTable.read(collection / "e.jsonl", images)
    (collection / "blank.json").write_text(json.dumps(["the dog", "  "]))
    with pytest.raises(HarisError, match="blank.json: expression 1 is empty"):
        ExpressionTable.read(collection / "blank.json", images)
    (collection / "e.csv").write_text("a.jpg,the dog")
    with pytest.raises(HarisError, match="not .csv"):
        ExpressionTable.read(collection / "e.csv", images)


def test_actors_are_a_fixed_pool_or_autoscaling_bounds():
    assert parse_actors("3") == (3, 3) and parse_actors("2,8") == (2, 8)
    for text in ("two", "1,2,3"):
        with pytest.raises(HarisError, match="--actors takes N or MIN,MAX"):
            parse_actors(text)
    with pytest.raises(HarisError, match="1 <= MIN <= MAX"):
        LabelSettings("bundle", "images", "expressions.txt", "out", actors=(4, 2))
    assert LabelSettings("b", "i", "e", "o", num_gpus=1).actor_device == "cuda:0"


def test_the_default_pool_is_what_the_cluster_cpus_gpus_and_memory_hold(monkeypatch):
    """Without --actors: one actor per CPU (or GPU with --num-gpus), fewer when --memory GiB each
    would not fit the cluster's memory, never more than the shards to do."""
    import ray

    from haris.label.label_pipeline import pool_bounds

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 16.0, "GPU": 2.0, "memory": 64.0 * 2**30})
    settings = LabelSettings("b", "i", "e", "o")
    assert pool_bounds(settings, blocks=100) == (16, 16)
    assert pool_bounds(LabelSettings("b", "i", "e", "o", memory_gib=8), blocks=100) == (8, 8)
    assert pool_bounds(LabelSettings("b", "i", "e", "o", memory_gib=100), blocks=100) == (1, 1)
    assert pool_bounds(LabelSettings("b", "i", "e", "o", num_gpus=1, memory_gib=8), blocks=100) == (2, 2)
    assert pool_bounds(settings, blocks=5) == (5, 5)
    assert LabelSettings("b", "i", "e", "o", memory_gib=0.5).actor_memory_bytes == 2**29 and settings.actor_memory_bytes is None
    with pytest.raises(HarisError, match="--memory must not be negative"):
        LabelSettings("b", "i", "e", "o", memory_gib=-1)
