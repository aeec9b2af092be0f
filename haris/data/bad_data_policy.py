"""What a loader does with a bad ref: stop with a clear error, or skip it and count why."""

from __future__ import annotations

from haris.errors import DataError


class BadDataPolicy:
    """Raises DataError for each problem, or, when skipping, counts it under its reason.

    Stopping is the default because a silently smaller split changes the numbers a paper reports;
    skipping is for a user who knows the data has holes and wants to train anyway.
    """

    def __init__(self, skip_bad: bool) -> None:
        self.skip_bad = skip_bad
        self.skipped: dict[str, int] = {}

    def reject(self, reason: str, message: str) -> None:
        """Raise DataError(message), or count one case of `reason` when skipping."""
        if not self.skip_bad:
            raise DataError(f"{message} (`--skip-bad`, or train.skip_bad_data=true, skips such data)")
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def summary(self) -> str:
        """The skipped counts as one phrase, empty when nothing was skipped."""
        return ", ".join(f"{reason} {count}" for reason, count in sorted(self.skipped.items()))
