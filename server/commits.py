"""What a commit changed, and the contract of those who follow commits.

Writer jobs declare what they changed: a job returns ``Outcome(value, changes)``, its value for
the caller (the ack) and a ``Changes`` saying, for one org, which events it stored and which
campaign updates and notices it made. After each commit the writer folds its jobs' changes into
one ``Commit`` (per org) and hands it to every listener; nothing else looks into the writer's
jobs.

Listener contract (``CommitListener.committed``):

* it is called on the event loop's thread, after the commit is durable and before any of the
  commit's jobs is acked, once per commit, in commit order;
* it must not block: it takes in what it needs and leaves slow work to its own thread or task
  (reports only note the events; live fan-out only queues frames per connection);
* an exception it raises is logged with the commit's seq and never keeps the acks back or stops
  the other listeners.

Events of a commit are known exactly when every job that stored events declared them all: a job
that met duplicates declares its org's events unknown (``events=None``: which ones were new only
the store knows), and events stored without a declaration (a job that does not say what it
stored) make the whole commit's events unknown (``Commit.events_known``). A reader that follows
events rebuilds from the store when they are unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from .campaigns import AppliedUpdate

T = TypeVar("T")


@dataclass(frozen=True)
class CampaignChange:
    """A change to a campaign doc, as logged: the update other devices lack."""

    campaign_id: str
    update: bytes
    #: the device the change came from (it has it already); None: made by the server
    device_id: str | None


@dataclass(frozen=True)
class Notice:
    """A message for an org's connected devices (a new conflict, a resolution)."""

    kind: str
    body: dict[str, Any]
    roles: tuple[str, ...] | None = None  # None: every role


@dataclass(frozen=True)
class Changes:
    """What one job, or one org's share of a commit, changed."""

    org_id: str
    #: new events (validated wire arrays) in the order stored; None: some, but which is unknown
    events: tuple[list[Any], ...] | None = ()
    campaigns: tuple[CampaignChange, ...] = ()
    notices: tuple[Notice, ...] = ()

    def __add__(self, other: Changes) -> Changes:
        """This org's changes followed by ``other``'s (same org)."""
        if other.org_id != self.org_id:
            raise ValueError(f"changes of org {other.org_id} added to org {self.org_id}'s")
        events = None if self.events is None or other.events is None else self.events + other.events
        return Changes(
            self.org_id, events, self.campaigns + other.campaigns, self.notices + other.notices
        )


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a writer job returns when it changed something listeners follow."""

    value: T  # what the job's caller receives
    changes: Changes


@dataclass(frozen=True)
class Commit:
    """One committed transaction of the writer."""

    seq: int
    orgs: Mapping[str, Changes]  # per org, its jobs' changes in commit order
    #: False: events were stored that no job declared; every org's events are unknown
    events_known: bool = True
    #: made by another server process sharing the store (``server.remote``): its events are
    #: never known, and this process's writer did not make it (its stats are not this one's)
    remote: bool = False

    def new_events(self, org_id: str) -> tuple[list[Any], ...] | None:
        """The org's new events of this commit; None if not known (rebuild from the store)."""
        if not self.events_known:
            return None
        changes = self.orgs.get(org_id)
        return changes.events if changes is not None else ()


class CommitListener(Protocol):
    def committed(self, commit: Commit) -> None:
        """Take in a commit (see the module's contract: loop thread, before acks, no blocking)."""
        ...


def campaign_changes(
    org_id: str, applied: Sequence[AppliedUpdate], *, device_id: str | None
) -> Changes:
    """The changes of merged campaign updates (``CampaignDocs.apply``/``edit``): the changed
    docs' updates from ``device_id`` (None: made by the server) and the notices their hooks
    raised."""
    return Changes(
        org_id,
        campaigns=tuple(
            CampaignChange(a.campaign_id, a.update, device_id) for a in applied if a.changed
        ),
        notices=tuple(
            Notice(n["kind"], n, tuple(n["roles"]) if n.get("roles") is not None else None)
            for a in applied
            for n in a.notices
        ),
    )


def fold(changes: Sequence[Changes], *, seq: int, events_known: bool = True) -> Commit:
    """A commit of jobs' changes, in commit order, by org."""
    orgs: dict[str, Changes] = {}
    for c in changes:
        orgs[c.org_id] = orgs[c.org_id] + c if c.org_id in orgs else c
    return Commit(seq, orgs, events_known)
