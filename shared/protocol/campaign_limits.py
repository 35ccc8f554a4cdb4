"""Hard size limits of a campaign document, the same on both sides of the wire.

The campaign rules (``campaign_rules``) say what a campaign may hold to run; a campaign that
breaks one still merges and is held as a draft. These limits are different: they bound what a
document may cost to store, merge and send, so the server refuses an update that takes a
document beyond them (``too_large``), whoever sent it. The client refuses the same edits before
they are made (``campaign.parse_value``'s 100,000 characters).
"""

from __future__ import annotations

from typing import Any

#: any one text in a campaign: a text field (name, description), a field's value, a variant's
#: subject or body, a step's setting
MAX_TEXT_CHARS = 100_000
#: the whole document, canonically encoded (its content and its CRDT metadata)
MAX_DOC_BYTES = 4 * 1024 * 1024
#: items of any one list (steps, variants, notes, a rule's values)
MAX_ITEMS = 10_000
#: nesting of lists and maps inside the document
MAX_DEPTH = 16


def oversized(snapshot: dict[str, Any], doc_bytes: int) -> str | None:
    """What in the campaign (a ``campaign.snapshot``, and its encoded size) is beyond a hard
    limit, in words; None when nothing is."""
    if doc_bytes > MAX_DOC_BYTES:
        return f"the campaign is {doc_bytes:,} bytes; at most {MAX_DOC_BYTES:,}"
    stack: list[tuple[str, Any, int]] = [("campaign", snapshot, 0)]
    while stack:
        where, value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > MAX_TEXT_CHARS:
                return f"{where} has {len(value):,} characters; at most {MAX_TEXT_CHARS:,}"
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                return f"{where} is nested deeper than {MAX_DEPTH} levels"
            if len(value) > MAX_ITEMS:
                return f"{where} has {len(value):,} items; at most {MAX_ITEMS:,}"
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = key if where == "campaign" else f"{where}.{key}"
                stack.append((str(name), item, depth + 1))
    return None
