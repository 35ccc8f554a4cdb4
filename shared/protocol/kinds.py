"""Event kinds and their priority classes.

Class 0 is attribution data and always syncs first; class 3 is bulk and syncs last. The server
keeps the same order across all devices when it is loaded.
"""

from __future__ import annotations

from enum import IntEnum

ATTRIBUTION, MARKETING, CONTACTS, BULK = 0, 1, 2, 3


class PriorityClass(IntEnum):
    ATTRIBUTION = ATTRIBUTION
    MARKETING = MARKETING
    CONTACTS = CONTACTS
    BULK = BULK


PRIORITY_CLASSES: tuple[int, ...] = tuple(int(c) for c in PriorityClass)

#: kind -> priority class. Campaign updates are class 1 too (see CAMPAIGN_UPDATE_CLASS).
EVENT_CLASSES: dict[str, int] = {
    # 0: attribution
    "conversion": ATTRIBUTION,
    "touchpoint": ATTRIBUTION,
    # 1: marketing engagement
    "lead": MARKETING,
    "send": MARKETING,
    "open": MARKETING,
    "click": MARKETING,
    "invite_sent": MARKETING,
    "invite_accepted": MARKETING,
    "health_score": MARKETING,
    "milestone": MARKETING,
    "unsubscribe": MARKETING,
    "survey": MARKETING,
    # made by the server's automation (its own device id): the contact entered a campaign
    # (payload: enrolment id, holdout, step) and a send bounced (payload: kind, smtp code)
    "enrolment": MARKETING,
    "bounce": MARKETING,
    # money paid for a channel over a period (shared.protocol.spend): the report's cost ledger
    "spend": MARKETING,
    # 2: contacts (field-by-field upserts, last writer wins on the hybrid clock)
    "contact": CONTACTS,
    # 3: bulk
    "attachment": BULK,
    "activity_log": BULK,
}

EVENT_KINDS: frozenset[str] = frozenset(EVENT_CLASSES)
CAMPAIGN_UPDATE_CLASS = MARKETING

#: Kinds added after sync protocol 2 first shipped. A server refuses a whole batch that holds a
#: kind it does not know (``bad_event``, for good), so a device sends these only to a server
#: whose WELCOME lists them (``ek``); for an older server they wait in the device's queue.
LATER_KINDS: frozenset[str] = frozenset({"spend"})
#: kinds with rules of their own beyond the common ones (``shared.protocol.spend``)
RULED_KINDS: frozenset[str] = frozenset({"spend"})
#: the syntax of a channel name (and of other short names): lowercase, digits, ``_ - .``
#: kinds that count as a touch on a contact's path to conversion (attribution, channel costs,
#: a contact's journey in the app)
TOUCH_KINDS: tuple[str, ...] = (
    "touchpoint",
    "lead",
    "send",
    "open",
    "click",
    "invite_sent",
    "invite_accepted",
)
NAME_PATTERN = r"^[a-z0-9][a-z0-9_\-.]{0,63}$"

#: Channels a touchpoint is usually captured on; other lowercase names are accepted too.
KNOWN_CHANNELS: tuple[str, ...] = (
    "wedding_fair",
    "venue_visit",
    "instagram",
    "facebook",
    "pinterest",
    "email",
    "referral",
    "paid_search",
    "organic_search",
    "direct",
    "partner",
)


def priority_of(kind: str) -> int:
    """The priority class of an event kind; KeyError for an unknown kind."""
    return EVENT_CLASSES[kind]
