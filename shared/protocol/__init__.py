"""The wire protocol: ids, clocks, event kinds and priorities, campaign schema, messages, codec.

Pure Python, no I/O. Both the server and the client import it; it imports neither.
"""

import importlib
from typing import Any

#: each public name and the submodule that defines it: loaded on first use (PEP 562), so a
#: command that needs ids and kinds does not load pycrdt or msgspec
_SUBMODULE = {
    "CAMPAIGN_TYPES": "campaign",
    "EVENT_CLASSES": "kinds",
    "EVENT_KINDS": "kinds",
    "ErrorCode": "errors",
    "Event": "events",
    "FIELDS": "campaign",
    "GUARDED_FIELDS": "campaign",
    "GuardedEdit": "campaign",
    "HybridClock": "hlc",
    "MAX_FRAME_BYTES": "messages",
    "MsgType": "messages",
    "PRIORITY_CLASSES": "kinds",
    "PROTOCOL_VERSION": "messages",
    "PriorityClass": "kinds",
    "ProtocolError": "errors",
    "STATUSES": "campaign",
    "decode_frame": "messages",
    "doc_from_state": "campaign",
    "event_from_wire": "events",
    "is_id": "ids",
    "iso_from_ms": "events",
    "ms_from_iso": "events",
    "new_doc": "campaign",
    "new_id": "ids",
    "parse_value": "campaign",
    "priority_of": "kinds",
    "set_field": "campaign",
    "snapshot": "campaign",
}


def __getattr__(name: str) -> Any:
    module = _SUBMODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "CAMPAIGN_TYPES",
    "EVENT_CLASSES",
    "EVENT_KINDS",
    "FIELDS",
    "GUARDED_FIELDS",
    "MAX_FRAME_BYTES",
    "PRIORITY_CLASSES",
    "PROTOCOL_VERSION",
    "STATUSES",
    "ErrorCode",
    "Event",
    "GuardedEdit",
    "HybridClock",
    "MsgType",
    "PriorityClass",
    "ProtocolError",
    "decode_frame",
    "doc_from_state",
    "event_from_wire",
    "is_id",
    "iso_from_ms",
    "ms_from_iso",
    "new_doc",
    "new_id",
    "parse_value",
    "priority_of",
    "set_field",
    "snapshot",
]
