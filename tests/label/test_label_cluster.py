"""`haris label --address` on a two-node Ray cluster on the loopback (one CPU per node, an actor on
each): both nodes label; the driver killed once shards are written and the command rerun gives the
uninterrupted run's annotations, without labelling the finished shards again; on a cluster of its
own, the worker node killed mid-run: the run still ends with the uninterrupted run's annotations.
The commands, then the clusters, are stopped at the end."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from label_samples import SCENES, UNREADABLE
from ray_cluster import kill_worker_node, two_node_cluster

pytestmark = pytest.mark.label

HARIS = str(Path(sys.executable).with_name("haris"))


@pytest.fixture(scope="module")
def cluster():
    with two_node_cluster(cpus_per_node=1) as running:
        yield running


def label_command(bundle: Path, collection: tuple[Path, Path], out: Path, address: str) -> list[str]:
    images, expressions = collection
    command = [HARIS, "label", str(bundle), str(images), "--expressions", str(expressions), "--out", str(out), "--address", address]
    return command + ["--backend", "onnxruntime", "--precision", "fp32", "--actors", "2", "--shard-size", "4", "--batch-size", "2"]


def run_label(command: list[str], environment: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # cwd: not the checkout, whose folders Ray would put first on its workers' path
    result = subprocess.run(command, capture_output=True, text=True, env=environment, cwd=cwd, timeout=400)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def uninterrupted(cluster, tiny_bundle, collection, tmp_path_factory):
    """The output folder of a run that nothing disturbed, and its command's output."""
    address, environment = cluster
    out = tmp_path_factory.mktemp("uninterrupted") / "out"
    return out, run_label(label_command(tiny_bundle, collection, out, address), environment, out.parent)


def test_both_nodes_label(uninterrupted):
    out, result = uninterrupted
    assert f"labelled {SCENES} images, {len(UNREADABLE)} unreadable" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    labelled_on = {node for shard in manifest["shards"] for node in shard["nodes"]}
    assert len(labelled_on) == 2, manifest["shards"]


def test_a_killed_driver_resumes_without_labelling_finished_shards_again(cluster, uninterrupted, tiny_bundle, collection, tmp_path):
    address, environment = cluster
    out = tmp_path / "out"
    command = label_command(tiny_bundle, collection, out, address)
    with (tmp_path / "first.log").open("wb") as log:
        driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=tmp_path, start_new_session=True)
    try:
        done = _wait_for_a_written_shard(out / "manifest.json", driver)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver alone: the cluster's nodes run in sessions of their own
        driver.wait(timeout=30)
    shards = json.loads((out / "manifest.json").read_text())["shards"]
    done = [shard for shard in shards if shard["done"]]
    assert 0 < len(done) < len(shards), "the run finished before the driver was killed: nothing left to resume"
    written = {shard["file"]: _identity(out / shard["file"]) for shard in done}
    result = run_label(command, environment, tmp_path)
    before = sum(shard["count"] for shard in done)
    assert re.search(rf"labelling {SCENES + len(UNREADABLE) - before} images \({before} done before\)", result.stderr), result.stderr[-2000:]
    assert {name: _identity(out / name) for name in written} == written  # the same files, never rewritten
    reference = json.loads((uninterrupted[0] / "annotations.json").read_text())
    assert json.loads((out / "annotations.json").read_text()) == reference


def test_a_failed_node_loses_no_image_and_labels_none_twice(uninterrupted, tiny_bundle, collection, tmp_path):
    """The worker node's processes killed once a shard is written: its actor's shards go to the head's
    actor (Ray Data retries the task of a dead actor), and every image is in the output once."""
    out = tmp_path / "out"
    with two_node_cluster(cpus_per_node=1) as (address, environment):
        command = label_command(tiny_bundle, collection, out, address)
        with (tmp_path / "driver.log").open("wb") as log:
            driver = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, cwd=tmp_path, start_new_session=True)
        try:
            _wait_for_a_written_shard(out / "manifest.json", driver)
            kill_worker_node(address)
            done_at_failure = sum(shard["done"] for shard in json.loads((out / "manifest.json").read_text())["shards"])
            assert driver.wait(timeout=400) == 0, (tmp_path / "driver.log").read_text()[-3000:]
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(driver.pid, signal.SIGKILL)
            driver.wait(timeout=30)
    shards = json.loads((out / "manifest.json").read_text())["shards"]
    assert done_at_failure < len(shards), "the run finished before the node failed"
    assert all(shard["done"] for shard in shards)
    reference = json.loads((uninterrupted[0] / "annotations.json").read_text())
    assert json.loads((out / "annotations.json").read_text()) == reference  # each image once, with its masks


def _wait_for_a_written_shard(manifest: Path, driver: subprocess.Popen, timeout_s: float = 300.0) -> None:
    """Until the manifest marks a shard done (polled often: the tiny model labels a shard in a second)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the labelling command ended before any shard was seen written"
        if manifest.is_file() and any(shard["done"] for shard in json.loads(manifest.read_text())["shards"]):
            return
        time.sleep(0.05)
    raise AssertionError(f"no shard written in {timeout_s:.0f} s")


def _identity(path: Path) -> tuple[int, int]:
    """(inode, modification time in ns): a file renamed into place again, or rewritten, changes both or one."""
    status = path.stat()
    return status.st_ino, status.st_mtime_ns
