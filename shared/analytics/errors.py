"""Errors raised by the analytics package, each with a stable code."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class: ``code`` is stable, the message says what is wrong and where."""

    code = "analytics_error"


class PathFileError(AnalyticsError):
    """An aggregated path file is malformed (bad header, bad number, …)."""

    code = "bad_path_file"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class UnknownModelError(AnalyticsError):
    code = "unknown_model"
