"""How an event's payload is kept by every backend: msgpack bytes, or NULL when empty.

Payloads arrive decoded by msgspec; its extension and timestamp values are turned back into
msgpack's so that a payload reads back as it was sent, whichever backend stored it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgpack
import msgspec


def _msgpack_default(value: Any) -> Any:
    """Payload values decoded by msgspec that msgpack cannot pack as they are."""
    if isinstance(value, msgspec.msgpack.Ext):
        return msgpack.ExtType(value.code, value.data)
    if isinstance(value, datetime):
        return msgpack.Timestamp.from_datetime(value)
    raise TypeError(f"cannot store a payload value of type {type(value).__name__}")


def pack_payload(payload: dict[str, Any] | None) -> bytes | None:
    return msgpack.packb(payload, default=_msgpack_default) if payload else None


def unpack_payload(blob: bytes | None) -> dict[str, Any]:
    return msgpack.unpackb(blob) if blob else {}
