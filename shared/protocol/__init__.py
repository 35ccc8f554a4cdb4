"""The wire protocol: ids, clocks, event kinds and priorities, campaign schema, messages, codec.

Pure Python, no I/O. Both the server and the client import it; it imports neither.
"""

from .campaign import (
    CAMPAIGN_TYPES,
    FIELDS,
    GUARDED_FIELDS,
    STATUSES,
    GuardedEdit,
    doc_from_state,
    new_doc,
    parse_value,
    set_field,
    snapshot,
)
from .errors import ErrorCode, ProtocolError
from .events import Event, event_from_wire, iso_from_ms, ms_from_iso
from .hlc import HybridClock
from .ids import is_id, new_id
from .kinds import EVENT_CLASSES, EVENT_KINDS, PRIORITY_CLASSES, PriorityClass, priority_of
from .messages import MAX_FRAME_BYTES, PROTOCOL_VERSION, MsgType, decode_frame

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
