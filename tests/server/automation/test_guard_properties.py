"""Property: across random campaigns, contacts (time zones), trigger events and unsubscribes,
the engine — its rounds and its mailer's checks at the moment of sending, on a real SQLite store
and a clock of the test's — never sends to a suppressed contact, never sends in the contact's
quiet hours, never breaks a frequency cap in any window, and never sends a step before its
time."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.automation.index import CampaignIndex
from server.automation.mailer import Mailer
from server.automation.rounds import Rounds
from server.automation.secrets import SecretBox
from server.delivery.smtp import SendResult, SendStatus
from server.storage import open_storage
from shared.automation.guards import parse_quiet_hours
from shared.protocol.hlc import COUNTER_BITS

START = 1_780_000_000_000  # 2026-05-28
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
ZONES = ("Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC")
QUIET = ("", "21:00-08:00", "12:00-14:00", "00:30-01:30")


@dataclass
class Clock:
    now: int = START

    def __call__(self) -> int:
        return self.now


def _campaign(draw, index: int) -> dict:  # noqa: ANN001
    steps = []
    for n in range(draw(st.integers(1, 4))):
        if steps and draw(st.booleans()):
            steps.append({"id": f"w{n}", "kind": "wait",
                          "config": {"duration_s": draw(st.integers(0, 3 * 86_400))}})  # fmt: skip
        steps.append({"id": f"s{n}", "kind": "send_email", "config": {"variant": "auto"}})
    cap = draw(st.sampled_from([None, {"max_sends": 1, "per_days": 1}, {"max_sends": 2,
                                                                      "per_days": 3}]))  # fmt: skip
    return {
        "name": f"C{index}",
        "type": "nurture",
        "status": "active",
        "trigger": {"event": "lead"},
        "reentry": draw(st.sampled_from(["once", "every_time"])),
        "holdout_pct": draw(st.sampled_from([0, 30])),
        "quiet_hours": draw(st.sampled_from(QUIET)),
        "frequency_cap": cap,
        "steps": steps,
        "variants": [{"id": "v1", "label": "A", "subject": "Hi", "body": "Hello"}],
    }


@st.composite
def worlds(draw):  # noqa: ANN001, ANN201
    campaigns = [_campaign(draw, i) for i in range(draw(st.integers(1, 3)))]
    contacts = {
        f"c{i}@x.test": draw(st.sampled_from(ZONES)) for i in range(draw(st.integers(1, 4)))
    }
    names = sorted(contacts)
    happenings = draw(
        st.lists(
            st.tuples(
                st.integers(0, 10 * 24),  # hour of the run
                st.sampled_from(["lead", "lead", "lead", "unsubscribe"]),
                st.sampled_from(names),
            ),
            min_size=1,
            max_size=12,
        )
    )
    return campaigns, contacts, sorted(happenings)


class World:
    """A store, the engine's rounds and its mailer's checks, driven by the test's clock."""

    def __init__(self, path: str, campaigns: list[dict], contacts: dict[str, str]) -> None:
        self.clock = Clock()
        self.storage = open_storage(path)
        self.org = self.storage.ensure_org("Org")
        self.rounds = Rounds(CampaignIndex())
        self.mailer = Mailer(
            submit=None,  # type: ignore[arg-type]  (its jobs are called directly here)
            rounds=self.rounds,
            box=SecretBox(b"k" * 32),
            public_url="https://t.example",
            now_ms=self.clock,
            worker="w",
        )
        self.seq = 0
        self.quiet = {}
        self.caps = {}
        with self.storage.transaction():
            self.storage.set_automation_meta("event_cursor", "0:")
            for n, campaign in enumerate(campaigns):
                campaign_id = f"01J0CAMPA1GN000000000000{n:02d}"
                self.storage.save_campaign(
                    campaign_id=campaign_id, org_id=self.org, state=b"\x00\x00",
                    snapshot=campaign, at_ms=START,
                )  # fmt: skip
                self.storage.log_update(
                    campaign_id=campaign_id, org_id=self.org, device_id=None, user_id="u",
                    update=b"\x00\x00", meta={}, at_ms=START,
                )  # fmt: skip
                self.quiet[campaign_id] = parse_quiet_hours(campaign["quiet_hours"])
                self.caps[campaign_id] = campaign["frequency_cap"]
            for contact, zone in contacts.items():
                self.storage.merge_contact(
                    org_id=self.org, email=contact, fields={"time_zone": zone}, hlc=1,
                    device_id="d",
                )  # fmt: skip
        self.sent: list[tuple[int, str, str, str]] = []  # (at, contact, campaign, key)
        self.unsubscribed: dict[str, int] = {}
        self.due_at: dict[str, int] = {}  # send key -> when it was queued

    def event(self, kind: str, contact: str) -> None:
        self.seq += 1
        wire = [f"01J0EVENT{self.seq:017d}", kind, self.clock.now, self.clock.now << COUNTER_BITS,
                contact, None, None, None, None]  # fmt: skip
        with self.storage.transaction():
            self.storage.insert_events(
                org_id=self.org, device_id="d", events=[wire], priority=1, commit_seq=self.seq
            )
        if kind == "unsubscribe":
            self.unsubscribed.setdefault(contact, self.clock.now)

    def settle(self) -> None:
        """Run rounds and deliveries until nothing is left to do at this moment."""
        for _ in range(200):
            with self.storage.transaction():
                done = self.rounds.events(self.storage, self.seq, self.clock.now)
                due = self.rounds.due(self.storage, self.clock.now)
                lane = self.mailer._claim(self.storage, 0, org_id=self.org, now_ms=self.clock.now)
                for claimed in lane.sends:
                    send = claimed.send
                    self.due_at.setdefault(send.key, send.created_at_ms)
                    if self.mailer._mark_sending(
                        self.storage, 0, send=send, message_id="<m@x>", links=(), raw=b"x"
                    ):
                        self.sent.append((self.clock.now, send.contact, send.campaign_id, send.key))
                        self.mailer._record(
                            self.storage, 0, send=send, message_id="<m@x>",
                            result=SendResult(SendStatus.SENT, 250, "ok", 1, "<m@x>"),
                        )  # fmt: skip
            if not (done.more or due.more or done.read or due.advanced or lane.sends):
                return
        raise AssertionError("the engine never settled")

    def next_moment(self) -> int | None:
        times = [t for t in (self.storage.next_due_ms(), self.storage.next_send_due_ms()) if t]
        return min(times) if times else None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_no_send_breaks_a_guard_or_comes_early(world):
    campaigns, contacts, happenings = world
    with tempfile.TemporaryDirectory(prefix="wedsync-guards-") as path:
        w = World(path, campaigns, contacts)
        try:
            horizon = START + 14 * DAY_MS
            pending = [(START + hour * HOUR_MS, kind, who) for hour, kind, who in happenings]
            while True:
                w.settle()
                upcoming = [t for t, _, _ in pending[:1]]
                moment = w.next_moment()
                if moment is not None and moment > w.clock.now:
                    upcoming.append(moment)
                if not upcoming or min(upcoming) > horizon:
                    break
                w.clock.now = max(w.clock.now, min(upcoming))
                while pending and pending[0][0] <= w.clock.now:
                    _, kind, who = pending.pop(0)
                    w.event(kind, who)
            check(w, contacts)
        finally:
            w.storage.close()


def check(w: World, contacts: dict[str, str]) -> None:
    keys = [key for _, _, _, key in w.sent]
    assert len(keys) == len(set(keys)), "a send went twice"
    for position, (at, contact, campaign, key) in enumerate(w.sent):
        stopped = w.unsubscribed.get(contact)
        assert stopped is None or at < stopped, f"{key} went to {contact} after it unsubscribed"
        quiet = w.quiet[campaign]
        if quiet is not None:
            local = datetime.fromtimestamp(at / 1000, ZoneInfo(contacts[contact])).time()
            assert not quiet.covers(local), f"{key} went at {local} in quiet hours {quiet}"
        assert at >= w.due_at[key], f"{key} went before it was due"
        cap = w.caps[campaign]
        if cap:  # a campaign's cap counts the contact's earlier sends of every campaign
            window = cap["per_days"] * DAY_MS
            earlier = [t for t, c, _, _ in w.sent[:position] if c == contact and at - window < t]
            assert len(earlier) < cap["max_sends"], (
                f"{key}: {len(earlier)} earlier sends to {contact} in its cap's window"
            )
