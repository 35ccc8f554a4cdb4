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
    # 2: contacts (field-by-field upserts, last writer wins on the hybrid clock)
    "contact": CONTACTS,
    # 3: bulk
    "attachment": BULK,
    "activity_log": BULK,
}

EVENT_KINDS: frozenset[str] = frozenset(EVENT_CLASSES)
CAMPAIGN_UPDATE_CLASS = MARKETING

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
