"""A two-node Ray cluster on the loopback for tests: `ray start --head` and one worker node, each a
`ray start --block` process in its own session, stopped (SIGTERM, then SIGKILL of exactly those
process groups) on exit; `kill_worker_node` makes the worker node fail mid-test. --block makes each
`ray start` own its node's processes and stop them when it is terminated, so nothing else on the
machine (another test's Ray) is touched, unlike `ray stop`. The cluster has its own token (Ray's
token authentication), which its clients need in their environment: the context manager yields it
with the address."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from local_ports import free_port

from haris.serve.service_runner import tune_serve_environment

RAY = str(Path(sys.executable).with_name("ray"))


@contextlib.contextmanager
def two_node_cluster(cpus_per_node: int = 1, timeout_s: float = 120.0) -> Iterator[tuple[str, dict[str, str]]]:
    """(the head's address "127.0.0.1:PORT", the environment its clients need) while both nodes run;
    logs under a temporary folder."""
    root = Path(tempfile.mkdtemp(prefix="haris-ray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    environment = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    tune_serve_environment(environment)  # as docs/serving.md asks of a cluster's nodes
    address = f"127.0.0.1:{free_port()}"
    common = ["--block", "--node-ip-address=127.0.0.1", f"--num-cpus={cpus_per_node}", "--num-gpus=0", "--disable-usage-stats"]
    nodes: list[subprocess.Popen] = []
    try:
        port = address.split(":")[1]
        head = [f"--port={port}", "--include-dashboard=false", f"--temp-dir={root / 'ray'}", f"--ray-client-server-port={free_port()}"]
        nodes.append(_start([RAY, "start", "--head", *head, *_node_ports(), *common], root / "head.log", environment))
        _wait_for_nodes(address, 1, nodes, environment, timeout_s)
        nodes.append(_start([RAY, "start", f"--address={address}", *_node_ports(), *common], root / "worker.log", environment))
        _wait_for_nodes(address, 2, nodes, environment, timeout_s)
        yield address, environment
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(root, ignore_errors=True)


def kill_worker_node(address: str) -> None:
    """SIGKILL the process group of the worker node joined to `address`: its `ray start --block`, raylet
    and workers die at once, as on a machine that fails (the cluster's exit then has nothing to stop there)."""
    found = subprocess.run(["pgrep", "-f", f"ray start --address={address} "], capture_output=True, text=True).stdout.split()
    if len(found) != 1:
        raise RuntimeError(f"expected one worker node joined to {address}, found processes {found}")
    os.killpg(int(found[0]), signal.SIGKILL)


def _node_ports() -> list[str]:
    """Ports two nodes on one IP must not share (Ray's defaults are fixed numbers for some)."""
    return [f"--dashboard-agent-listen-port={free_port()}", f"--metrics-export-port={free_port()}", f"--runtime-env-agent-port={free_port()}"]


def _start(command: list[str], log: Path, environment: dict[str, str]) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env=environment)


def _wait_for_nodes(address: str, count: int, nodes: list[subprocess.Popen], environment: dict[str, str], timeout_s: float) -> None:
    """Until `ray status` lists `count` alive nodes (a node process that exits fails at once)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for node in nodes:
            if node.poll() is not None:
                raise RuntimeError(f"`{' '.join(node.args[:3])}` exited with {node.returncode}")
        status = subprocess.run([RAY, "status", f"--address={address}"], capture_output=True, text=True, env=environment)
        if status.returncode == 0 and status.stdout.count(" node_") >= count:
            return
        time.sleep(1.0)
    raise RuntimeError(f"the cluster at {address} did not reach {count} nodes in {timeout_s:.0f} s")


def _stop(node: subprocess.Popen) -> None:
    """SIGTERM to the node's `ray start --block` (it stops its raylet, workers and, on the head, GCS),
    then SIGKILL to its process group if anything is left after 60 s (the head takes longest to stop:
    docs/measurements.md)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        node.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(node.pid, signal.SIGKILL)
    node.wait(timeout=10)
