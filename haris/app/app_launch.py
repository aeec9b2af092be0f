"""Starting the page: over a Predictor in this process, or over a `haris serve` service."""

from __future__ import annotations

import logging
import signal
import tempfile
import threading
from pathlib import Path

from haris.app.answer_source import AnswerSource
from haris.app.example_scenes import load_example_scenes
from haris.app.running_app import RunningApp
from haris.errors import HarisError
from haris.runtime.engine_choice import choice_line
from haris.serve.api_keys import is_loopback
from haris.serve.remote_predictor import RemotePredictor

log = logging.getLogger(__name__)

DEFAULT_PORT = 7860
FALLBACK_MAX_EXPRESSIONS = 16  # when what answers does not say its own limit
MAX_UPLOAD = "50mb"


def open_source(
    model: str | None,
    server_url: str | None,
    backend: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    threads: int | None = None,
    api_key: str | None = None,
) -> AnswerSource:
    """A bundle (or checkpoint) run here, or the service at `server_url` (asked with `api_key`, if
    it needs one): exactly one of the two."""
    if bool(model) == bool(server_url):
        raise HarisError("give either a bundle directory or --server URL (a running `haris serve`), not both and not neither")
    if server_url:
        if backend or device or precision or threads:
            raise HarisError("--backend, --device, --precision and --threads choose a local model; with --server the service decides")
        return AnswerSource(RemotePredictor(server_url, api_key=api_key))
    from haris.runtime.backend_registry import AUTO
    from haris.runtime.predictor_factory import open_predictor

    return AnswerSource(open_predictor(model, backend or AUTO, device, precision or AUTO, threads))


def start_app(
    source: AnswerSource,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    max_expressions: int | None = None,
    logins: list[tuple[str, str]] | None = None,
) -> RunningApp:
    """Serve the page on http://host:port/ in background threads; the caller closes the RunningApp
    (which closes `source` too, also when starting fails). With `logins` ((user, password) pairs),
    the page asks for one first (Gradio's login)."""
    from haris.app.segment_page import build_page  # gradio: only when a page is built

    limit = max_expressions or source.max_expressions or FALLBACK_MAX_EXPRESSIONS
    files_root = Path(tempfile.mkdtemp(prefix="haris-app-"))
    page = build_page(source, load_example_scenes(), limit, files_root)
    app = RunningApp(page, source, files_root, f"http://{host}:{port}/")
    try:
        page.launch(
            server_name=host,
            server_port=port,
            prevent_thread_lock=True,
            quiet=True,
            show_error=False,
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            max_file_size=MAX_UPLOAD,
            auth=logins or None,
        )
    except OSError as error:  # Gradio's "Cannot find empty port in range: P-P. You can ..." (its advice names its own settings)
        app.close()
        raise HarisError(f"cannot serve the page on {host}:{port} ({str(error).split('.')[0]}): pass another --port or --host") from None
    except BaseException:
        app.close()
        raise
    return app


def run_app(
    model: str | None,
    server_url: str | None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    backend: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    threads: int | None = None,
    max_expressions: int | None = None,
    api_key: str | None = None,
    login_file: str | None = None,
) -> None:
    """`haris app`: serve the page until Ctrl-C or SIGTERM, then stop everything it started.
    `api_key`: the service's key (with `server_url`); `login_file`: `user:password` lines, the page's logins."""
    logins = read_logins(login_file) if login_file else None
    if not logins and not is_loopback(host):
        log.warning("serving the page on %s without --login-file: anyone who reaches the port may use it", host)
    source = open_source(model, server_url, backend, device, precision, threads, api_key)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with start_app(source, host, port, max_expressions, logins) as app:
            log.info("haris app: serving %s (%s); Ctrl-C stops it", app.url, source.summary())
            if "choice" in source.description:
                log.info("haris app: %s", choice_line(source.description))
            while not stop.wait(0.5):
                pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def read_logins(path: str | Path) -> list[tuple[str, str]]:
    """(user, password) pairs of a file of `user:password` lines (blank lines and # comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise HarisError(f"{path}: cannot read the login file: {error.strerror or error}") from None
    logins = [tuple(line.strip().split(":", 1)) for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not logins or any(len(login) != 2 or not all(login) for login in logins):
        raise HarisError(f"{path}: write one `user:password` per line (no empty user or password)")
    return logins
