"""A page being served, and what stops it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from haris.app.answer_source import AnswerSource


class RunningApp:
    def __init__(self, page: Any, source: AnswerSource, files_root: Path, url: str) -> None:
        self.page, self.source, self.files_root, self.url = page, source, files_root, url

    def close(self) -> None:
        """Stop the web server, then close what answers and remove the downloads written."""
        try:
            self.page.close()
        finally:
            self.source.close()
            shutil.rmtree(self.files_root, ignore_errors=True)

    def __enter__(self) -> RunningApp:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
