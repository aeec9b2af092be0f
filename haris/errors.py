"""Errors the CLI turns into one clear line instead of a traceback."""


class HarisError(Exception):
    """Base class of every error that names a user's mistake (bad config, file, input)."""


class ConfigError(HarisError, ValueError):
    """A config key, value or preset that does not exist or has the wrong type."""


class CheckpointError(HarisError):
    """A checkpoint or weights file that is missing, unreadable or does not fit the config."""


class DataError(HarisError):
    """A dataset file, image or annotation that is missing, corrupt or inconsistent."""
