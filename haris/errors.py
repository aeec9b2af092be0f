"""Errors the CLI turns into one clear line instead of a traceback."""


class HarisError(Exception):
    """Base class of every error that names a user's mistake (bad config, file, input)."""


class ConfigError(HarisError, ValueError):
    """A config key, value or preset that does not exist or has the wrong type."""


class CheckpointError(HarisError):
    """A checkpoint or weights file that is missing, unreadable or does not fit the config."""


class DataError(HarisError):
    """A dataset file, image or annotation that is missing, corrupt or inconsistent."""


class ExpressionError(HarisError, ValueError):
    """Referring expressions that are not a list of strings, none, blank, too many or too long."""


class ExportError(HarisError):
    """An export whose graph fails its check, or an output path that would be overwritten."""


class PrecisionsRefused(ExportError):
    """An export that wrote its bundle (or, with --add, left it as it was) without the precisions
    whose graphs failed their check; `refused` maps each to the graph, the reason and the command to retry."""

    def __init__(self, message: str, refused: dict[str, dict[str, str]]) -> None:
        super().__init__(message)
        self.refused = refused


class BundleError(HarisError):
    """A bundle or engine that is missing files, altered, or made for another TensorRT or GPU."""


class TrainingInterrupted(HarisError):
    """A training run stopped by Ctrl-C or SIGTERM, after its checkpoint was saved: not finished."""


class ServiceError(HarisError):
    """A `haris serve` service that refused a request (its HTTP status and message), or that could
    not be reached (status None); `retry_after_s`: the wait its Retry-After header asked for."""

    def __init__(self, status: int | None, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(f"the service answered {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s
