"""A service started as a command (`haris serve ...`, `serve run FILE`) in its own process group,
for the serve tests that stop it with a signal; raw requests that report, rather than raise, how
the service answered, or that it could not be reached."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def service_process(command: list[str], log: Path, cwd: Path, environment: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """The running command; on exit, SIGINT to its group if it still runs, then SIGKILL after 60 s."""
    with log.open("wb") as output:
        # cwd: not the checkout, whose folders Ray would put first on its workers' path
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd, env=environment)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def raw_request(url: str, body: bytes | None = None, headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int | str, bytes, dict]:
    """(HTTP status, or the name of the connection error; body; headers) of one request, never retried."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), {name.lower(): value for name, value in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, error.read(), {name.lower(): value for name, value in error.headers.items()}
    except urllib.error.URLError as error:
        return type(error.reason).__name__, b"", {}
    except OSError as error:  # reset or cut off mid-answer
        return type(error).__name__, b"", {}
