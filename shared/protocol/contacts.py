"""Contacts merge field by field: last writer wins, per field, on (hybrid clock, device id).

A contact is a map of fields and, beside it, the stamp of the write that set each field (a
``[hlc, device_id]`` pair, a list because that is how JSON keeps it). A write carries fields and
one stamp; a field takes the write's value only when the write's stamp is later than the
field's. Stamps are totally ordered (the device id breaks ties of the clock), so replicas that
take in the same writes in any order, any number of times, hold the same contact: a CRDT.

Pure: the device's replica and the server's store both call ``merge_fields`` on what they read
and write back what it leaves.
"""

from __future__ import annotations

from typing import Any

#: The stamp of a field never written: earlier than any write's.
NEVER: tuple[int, str] = (0, "")


def merge_fields(
    current: dict[str, Any],
    clocks: dict[str, Any],
    fields: dict[str, Any],
    *,
    hlc: int,
    device_id: str,
) -> bool:
    """Merge one write (``fields`` stamped ``(hlc, device_id)``) into ``current`` and ``clocks``,
    in place; True if any field took the write's value."""
    stamp = (hlc, device_id)
    changed = False
    for key, value in fields.items():
        if tuple(clocks.get(key, NEVER)) < stamp:
            current[key] = value
            clocks[key] = [hlc, device_id]
            changed = True
    return changed
