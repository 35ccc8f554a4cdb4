"""Errors of content generation and allocation, each with a stable code.

The CLI prints them as one line (``wedsync: error [code]: message``); the app shows the message;
the generation recorder keeps the code of every fallback.
"""

from __future__ import annotations

from enum import StrEnum


class ContentCode(StrEnum):
    REQUEST_INVALID = "content_request_invalid"  # an unknown type, audience, tone, or bad context
    LLM_UNREACHABLE = "llm_unreachable"  # refused connection, DNS, reset
    LLM_TIMEOUT = "llm_timeout"  # no complete answer within the timeout
    LLM_HTTP_ERROR = "llm_http_error"  # a non-2xx status
    LLM_ANSWER_INVALID = "llm_answer_invalid"  # not JSON, not five variants, too long, unfilled
    LLM_NOT_CONFIGURED = "llm_not_configured"  # --source llm without an endpoint
    HISTORY_INVALID = "history_invalid"  # a send-history record that cannot be read
    BANDIT_INVALID = "bandit_invalid"  # bad arms, counts or settings


class ContentError(ValueError):
    """A content request, answer or setting that cannot be used."""

    def __init__(self, code: ContentCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
