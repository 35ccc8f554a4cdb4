"""Structured logs: one JSON object per line, through the standard library's ``logging``.

Opt-in (``[logs] format = "json"`` in the monitoring file, or ``WEDSYNC_LOG_FORMAT=json``):
the default stays the one-line text a person reads in a terminal. Each line holds ``time``
(UTC, ISO 8601 with milliseconds), ``level``, ``logger``, ``event`` (the call's
``extra={"event": …}`` name, ``http_request`` for aiohttp's access log, else the message's
format string, which stays the same whatever its arguments, so lines group by it),
``message`` (formatted), ``org_id`` and ``request_id`` when the line was logged while serving
a request, the call's other ``extra`` fields, and ``exc`` for a traceback.

What never reaches a line: a field whose name says it holds a secret or a mail body
(``token``, ``password``, ``secret``, ``authorization``, ``body``, … — replaced by
``[redacted]``), and, inside messages, bearer tokens and ``password=``/``token=`` values.

The request id comes from the request's ``X-Request-Id`` header when it is a short safe
string, else it is made up; either way the response carries it back.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from ..fair import TURN

LOG_FORMAT_ENV = "WEDSYNC_LOG_FORMAT"
REQUEST_ID_HEADER = "X-Request-Id"
#: aiohttp's access log formats its line before logging it: one event name for all of them
ACCESS_EVENT = "http_request"
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("wedsync_request", default="")

_SECRET_KEY = re.compile(
    r"token|password|passwd|secret|authorization|cookie|body|content|raw", re.I
)
_SECRET_TEXT = re.compile(
    r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+|((?:password|passwd|token|secret)\s*[=:]\s*)\S+"
)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: LogRecord's own attributes: everything else on a record came from ``extra``
_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def redact(text: str) -> str:
    return _SECRET_TEXT.sub(lambda m: (m.group(1) or m.group(2)) + "[redacted]", text)


def _clean(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): _clean(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(key, v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": str(
                getattr(record, "event", None)
                or (ACCESS_EVENT if record.name == "aiohttp.access" else record.msg)
            ),
            "message": redact(record.getMessage()),
        }
        org = getattr(record, "org_id", None) or TURN.get()
        if org:
            out["org_id"] = org
        request = REQUEST_ID.get()
        if request:
            out["request_id"] = request
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key not in out and key != "event":
                out[key] = _clean(key, value)
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def use_json_logs(stream: Any = None) -> logging.Handler:
    """Log JSON lines: the root logger's handlers get the JSON formatter (a handler on
    ``stream``, stderr by default, is added when it has none)."""
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(stream or sys.stderr))
        if root.level == logging.WARNING:
            root.setLevel(logging.INFO)
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter())
    return root.handlers[0]


@web.middleware
async def request_id_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]
) -> Any:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _SAFE_ID.match(given) else secrets.token_hex(8)
    REQUEST_ID.set(request_id)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    if not response.prepared:  # a websocket's headers went out at the upgrade
        response.headers[REQUEST_ID_HEADER] = request_id
    return response
