"""Sync message types, frame builders and the msgpack codec with validation.

A frame is a msgpack map with an integer ``t`` (the message type). ``decode_frame`` checks size,
encoding, type and every required field before anything else looks at a frame, so a handler never
meets a malformed one; every refusal is a ``ProtocolError`` with a code from ``ErrorCode``.

Conversation: the device sends HELLO (version, token); the server answers WELCOME or ERROR and
closes. Then the device sends PUSH batches (events of one priority class, or campaign updates) and
the server answers each with ACK after the batch is committed. PULL carries the device's change
cursor ``k`` (the server's last change seq the device has fully received) when it has one, and
otherwise its state vector per campaign (``s``); the server answers with DOCS: the campaign
updates logged after the cursor, or, without a usable cursor, the updates the device lacks and
whole docs it has never seen. The last DOCS frame of the answer has ``done``, the new cursor ``k``
and ``n``, the number of items of the whole answer (a device stores the cursor only if it got them
all). The server also sends DOCS unprompted when another device's update is committed (live
fan-out, ``live``; no cursor).

Versions. HELLO carries the device's protocol version ``v``; a server speaks every version from
``OLDEST_PROTOCOL_VERSION`` to ``PROTOCOL_VERSION`` and answers WELCOME with the version of the
conversation (the lower of the two), or refuses with ERROR ``bad_version`` whose ``vr`` is the
range it speaks, so an app can tell "update the app" from "the server is older". A refused
device keeps its queue: nothing was sent. What each version adds:

1. the conversation above (cursor ``k`` in PULL and DOCS);
2. the change log's epoch ``e`` beside the cursor: DOCS tells the epoch of the log its cursor
   counts in, PULL sends it back with the cursor. A server whose log was restored from a backup
   starts a new epoch, and answers a cursor of another epoch by state vector, so a device whose
   cursor is ahead of the restored log is re-pulled instead of silently missing the changes
   logged under the same numbers since. A version 1 device sends no epoch: its cursor is
   honoured only while the log was never restored.

Event kinds added since (``kinds.LATER_KINDS``, e.g. ``spend``) need no new version: WELCOME's
``ek`` lists the ones the server accepts, and a device sends an event of such a kind only to a
server that lists it (an older server, which would refuse the whole batch, never sees one; the
events wait in the device's queue until the server is upgraded). Devices ignore fields of
WELCOME they do not know, so an older app is not disturbed by ``ek``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

import msgpack
import msgspec

from .errors import ErrorCode, ProtocolError
from .events import WireEvent, decoded_batch_ok, validate_batch
from .ids import is_id
from .kinds import LATER_KINDS, PRIORITY_CLASSES

PROTOCOL_VERSION = 2
OLDEST_PROTOCOL_VERSION = 1  # the oldest a server still speaks (the previous app's)
MAX_EPOCH_CHARS = 64
MAX_FRAME_BYTES = 8 * 1024 * 1024
MAX_BATCH_EVENTS = 5_000
MAX_UPDATE_BYTES = 2 * 1024 * 1024
MAX_CURSOR = 2**63 - 1  # a SQLite integer


class MsgType(IntEnum):
    HELLO = 1
    WELCOME = 2
    PUSH = 3
    ACK = 4
    PULL = 5
    DOCS = 6
    ERROR = 7
    NOTICE = 8  # server -> device: something the user should know (e.g. a new conflict)


def encode(frame: dict[str, Any]) -> bytes:
    return msgpack.packb(frame, use_bin_type=True)


def hello(*, token: str, device_id: str, version: int = PROTOCOL_VERSION) -> bytes:
    return encode({"t": MsgType.HELLO, "v": version, "token": token, "device": device_id})


def welcome(
    *,
    device_id: str,
    org: str,
    role: str,
    user: str,
    server_time_ms: int,
    version: int = PROTOCOL_VERSION,
    later_kinds: frozenset[str] = LATER_KINDS,
) -> bytes:
    """``version``: the conversation's, the lower of the device's and the server's;
    ``later_kinds``: the event kinds added since the version shipped that this server accepts
    (``ek``)."""
    return encode(
        {
            "t": MsgType.WELCOME,
            "v": version,
            "device": device_id,
            "org": org,
            "role": role,
            "user": user,
            "now": server_time_ms,
            "ek": sorted(later_kinds),
        }
    )


def later_kinds_of(welcome_frame: dict[str, Any]) -> frozenset[str]:
    """The later event kinds a server's WELCOME says it accepts (none from an older server)."""
    given = welcome_frame.get("ek")
    if not isinstance(given, list):
        return frozenset()
    return frozenset(k for k in given if isinstance(k, str)) & LATER_KINDS


def push_events_raw(batch: int, priority: int, packed_events: list[bytes]) -> bytes:
    """A PUSH frame from events already msgpack-packed (the outbox stores them packed)."""
    packer = msgpack.Packer(use_bin_type=True)
    head = packer.pack_map_header(4)
    head += packer.pack("t") + packer.pack(int(MsgType.PUSH))
    head += packer.pack("b") + packer.pack(batch)
    head += packer.pack("c") + packer.pack(priority)
    head += packer.pack("e") + packer.pack_array_header(len(packed_events))
    return head + b"".join(packed_events)


def push_updates(batch: int, updates: list[tuple[str, bytes, dict[str, Any]]]) -> bytes:
    """A PUSH frame of campaign updates: (campaign id, pycrdt update, edit metadata)."""
    return encode({"t": MsgType.PUSH, "b": batch, "c": 1, "u": [[c, u, m] for c, u, m in updates]})


def ack(batch: int, *, stored: int, duplicates: int) -> bytes:
    return encode({"t": MsgType.ACK, "b": batch, "n": stored, "d": duplicates})


def pull(
    state_vectors: dict[str, bytes], *, cursor: int | None = None, epoch: str | None = None
) -> bytes:
    """A PULL: by change cursor when the device has one (``s`` is then empty but still sent, as
    servers before the cursor require it), with the epoch of the log it counts in (version 2),
    else by state vector per campaign."""
    frame: dict[str, Any] = {"t": MsgType.PULL, "s": state_vectors}
    if cursor is not None:
        frame["k"] = cursor
        if epoch is not None:
            frame["e"] = epoch
    return encode(frame)


def docs(
    updates: list[tuple[str, bytes]],
    *,
    done: bool,
    live: bool = False,
    cursor: int | None = None,
    items: int | None = None,
    epoch: str | None = None,
) -> bytes:
    """A DOCS frame. The last frame of a pull's answer (``done``) carries the new ``cursor``,
    the ``epoch`` of the log it counts in, and ``items``, the number of updates in the whole
    answer."""
    frame: dict[str, Any] = {
        "t": MsgType.DOCS,
        "u": [[c, u] for c, u in updates],
        "done": done,
        "live": live,
    }
    if cursor is not None:
        frame["k"] = cursor
    if items is not None:
        frame["n"] = items
    if epoch is not None:
        frame["e"] = epoch
    return encode(frame)


def error(
    code: ErrorCode,
    message: str,
    *,
    batch: int | None = None,
    versions: tuple[int, int] | None = None,
) -> bytes:
    """An ERROR; a ``bad_version`` refusal carries the range of ``versions`` the server speaks."""
    frame: dict[str, Any] = {"t": MsgType.ERROR, "code": str(code), "msg": message}
    if batch is not None:
        frame["b"] = batch
    if versions is not None:
        frame["vr"] = list(versions)
    return encode(frame)


def notice(kind: str, body: dict[str, Any]) -> bytes:
    return encode({"t": MsgType.NOTICE, "kind": kind, "body": body})


# --------------------------------------------------------------------------- decoding


def _need(frame: dict[str, Any], key: str, kinds: type | tuple[type, ...], what: str) -> Any:
    value = frame.get(key)
    if not isinstance(value, kinds) or isinstance(value, bool):
        raise ProtocolError(ErrorCode.BAD_FRAME, f"{what} frame needs {key!r} ({_names(kinds)})")
    return value


def _names(kinds: type | tuple[type, ...]) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(k.__name__ for k in kinds)


class _PushEvents(msgspec.Struct, forbid_unknown_fields=True):
    """A well-formed PUSH of events: the one frame that carries volume."""

    t: Literal[3]  # MsgType.PUSH
    b: int
    c: Annotated[int, msgspec.Meta(ge=min(PRIORITY_CLASSES), le=max(PRIORITY_CLASSES))]
    e: Annotated[list[WireEvent], msgspec.Meta(max_length=MAX_BATCH_EVENTS)]


_decode_push_events = msgspec.msgpack.Decoder(_PushEvents).decode


def decode_push_events(data: bytes | bytearray) -> dict[str, Any] | None:
    """The fast path of ``decode_frame``: a valid PUSH of events decodes and validates in one
    typed pass. None for anything else (another message type, or any fault), which the general
    path then names precisely."""
    try:
        push = _decode_push_events(data)
    except msgspec.MsgspecError:
        return None
    if not decoded_batch_ok(push.e, push.c):
        return None
    return {"t": MsgType.PUSH, "b": push.b, "c": push.c, "e": push.e, "events": push.e}


def decode_frame(
    data: bytes | bytearray | str, *, max_bytes: int = MAX_FRAME_BYTES
) -> dict[str, Any]:
    """Decode and validate one frame. PUSH frames come back with ``events`` as Event objects."""
    if isinstance(data, str):
        raise ProtocolError(ErrorCode.BAD_FRAME, "text frame: frames must be binary msgpack")
    if len(data) > max_bytes:
        raise ProtocolError(
            ErrorCode.TOO_LARGE, f"frame of {len(data)} bytes exceeds the limit of {max_bytes}"
        )
    push = decode_push_events(data)
    if push is not None:
        return push
    try:
        frame = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError) as exc:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"not a msgpack frame ({exc})") from exc
    if not isinstance(frame, dict):
        raise ProtocolError(ErrorCode.BAD_FRAME, "a frame must be a msgpack map")
    raw_type = frame.get("t")
    try:
        mtype = MsgType(raw_type)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"unknown message type {raw_type!r}") from None
    frame["t"] = mtype
    validator = _VALIDATORS.get(mtype)
    if validator is not None:
        validator(frame)
    return frame


def _check_hello(frame: dict[str, Any]) -> None:
    version = _need(frame, "v", int, "HELLO")
    if not OLDEST_PROTOCOL_VERSION <= version <= PROTOCOL_VERSION:
        newer = "newer" if version > PROTOCOL_VERSION else "older"
        raise ProtocolError(
            ErrorCode.BAD_VERSION,
            f"sync protocol {version} is {newer} than this server speaks "
            f"({OLDEST_PROTOCOL_VERSION} to {PROTOCOL_VERSION})",
        )
    _need(frame, "token", str, "HELLO")
    _need(frame, "device", str, "HELLO")


def _check_push(frame: dict[str, Any]) -> None:
    _need(frame, "b", int, "PUSH")
    priority = _need(frame, "c", int, "PUSH")
    if priority not in PRIORITY_CLASSES:
        raise ProtocolError(ErrorCode.BAD_FRAME, f"priority class {priority} is not 0..3")
    if "e" in frame:
        items = _need(frame, "e", list, "PUSH")
        if len(items) > MAX_BATCH_EVENTS:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"{len(items)} events in one batch; at most {MAX_BATCH_EVENTS}"
            )
        frame["events"] = validate_batch(items, priority)  # wire arrays, validated
    elif "u" in frame:
        items = _need(frame, "u", list, "PUSH")
        updates = []
        for i, item in enumerate(items):
            if not isinstance(item, list) or len(item) != 3:
                raise ProtocolError(
                    ErrorCode.BAD_FRAME, f"update {i}: must be [campaign, update, meta]"
                )
            campaign, update, meta = item
            if not is_id(campaign):
                raise ProtocolError(
                    ErrorCode.BAD_FRAME, f"update {i}: campaign {campaign!r} is not an id"
                )
            if not isinstance(update, bytes) or not 0 < len(update) <= MAX_UPDATE_BYTES:
                raise ProtocolError(ErrorCode.BAD_UPDATE, f"update {i}: must be non-empty bytes")
            if not isinstance(meta, dict):
                raise ProtocolError(ErrorCode.BAD_FRAME, f"update {i}: meta must be a map")
            updates.append((campaign, update, meta))
        frame["updates"] = updates
    else:
        raise ProtocolError(ErrorCode.BAD_FRAME, "PUSH frame needs 'e' (events) or 'u' (updates)")


def _check_ack(frame: dict[str, Any]) -> None:
    _need(frame, "b", int, "ACK")


def _check_pull(frame: dict[str, Any]) -> None:
    vectors = _need(frame, "s", dict, "PULL")
    for campaign, vector in vectors.items():
        if not is_id(campaign) or not isinstance(vector, bytes):
            raise ProtocolError(
                ErrorCode.BAD_FRAME, f"PULL state vector for {campaign!r} is invalid"
            )
    _check_count(frame, "k", "PULL", "cursor")
    _check_epoch(frame, "PULL")


def _check_epoch(frame: dict[str, Any], what: str) -> None:
    """An optional log epoch: a short string."""
    if "e" in frame and not (isinstance(frame["e"], str) and len(frame["e"]) <= MAX_EPOCH_CHARS):
        raise ProtocolError(
            ErrorCode.BAD_FRAME, f"{what} epoch 'e' must be a string of at most {MAX_EPOCH_CHARS}"
        )


def _check_count(frame: dict[str, Any], key: str, what: str, name: str) -> None:
    """An optional non-negative integer field (a change cursor, an item count)."""
    if key not in frame:
        return
    value = frame[key]
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_CURSOR:
        raise ProtocolError(
            ErrorCode.BAD_FRAME,
            f"{what} {name} {key!r} must be an integer from 0 to {MAX_CURSOR}, not {value!r}",
        )


def _check_docs(frame: dict[str, Any]) -> None:
    for item in _need(frame, "u", list, "DOCS"):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], bytes)):
            raise ProtocolError(ErrorCode.BAD_FRAME, "DOCS items must be [campaign, update]")
    _check_count(frame, "k", "DOCS", "cursor")
    _check_count(frame, "n", "DOCS", "item count")
    _check_epoch(frame, "DOCS")


def _check_error(frame: dict[str, Any]) -> None:
    _need(frame, "code", str, "ERROR")
    _need(frame, "msg", str, "ERROR")


_VALIDATORS = {
    MsgType.HELLO: _check_hello,
    MsgType.PUSH: _check_push,
    MsgType.ACK: _check_ack,
    MsgType.PULL: _check_pull,
    MsgType.DOCS: _check_docs,
    MsgType.ERROR: _check_error,
}
