"""Where the `haris` loggers write: stderr, in one format for a person at a terminal and another for a log file.

Library modules only call `logging.getLogger(__name__)`; a program decides where records go. The
`haris` command calls `configure_logging` once (`-v` DEBUG, `-q` WARNING, INFO otherwise), and so
does each Ray Serve replica, whose stderr Serve keeps in its replica log. At a terminal a record is
its message (a warning or an error is prefixed with its level); written to a file or a pipe, each
line carries the time, the level and the logger, for a log read later.
"""

from __future__ import annotations

import logging
import os
import sys

HARIS = "haris"  # the parent of every library logger
TIMESTAMPED = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal: a person watching, who gets progress bars and plain lines."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


class StderrHandler(logging.StreamHandler):
    """A handler on whatever sys.stderr is when a record comes (a test's capture, a replica's redirect),
    not on the stream of the moment it was made."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - a text stream, as StreamHandler's
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001 - StreamHandler.__init__ assigns it
        pass


class TerminalFormatter(logging.Formatter):
    """The message alone for INFO and DEBUG, `warning: message` / `error: message` above."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        return message if record.levelno <= logging.INFO else f"{record.levelname.lower()}: {message}"


def configure_logging(level: int = logging.INFO, terminal: bool | None = None) -> None:
    """Send the `haris` loggers' records at `level` and above to stderr, and there only. Calling it again
    replaces the handler it added before. In a torchrun process other than rank 0 only warnings and errors are
    written, so an INFO line appears once, not once per process. `terminal` (default: whether stderr
    is one) picks the format."""
    logger = logging.getLogger(HARIS)
    for handler in [handler for handler in logger.handlers if isinstance(handler, StderrHandler)]:
        logger.removeHandler(handler)
    handler = StderrHandler()
    terminal = stderr_is_terminal() if terminal is None else terminal
    handler.setFormatter(TerminalFormatter() if terminal else logging.Formatter(TIMESTAMPED))
    logger.addHandler(handler)
    logger.propagate = False  # a root handler some library adds (logging.basicConfig) would write each line twice
    if os.environ.get("RANK", "0") != "0":
        level = max(level, logging.WARNING)
    logger.setLevel(level)
