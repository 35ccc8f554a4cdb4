"""The live allocation on a real SQLite store: sends drawn by the shares, clicks (not opens, not
scanners, not the control group) moving them, the shares and a declared winner kept across a
restart, and a round at most once per interval of the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.automation.allocation import Allocator, ab_steps, saved_state
from server.automation.index import CampaignIndex, load_campaign
from server.automation.rounds import Rounds
from server.storage import open_storage
from shared.content.bandit import Settings
from shared.protocol.hlc import COUNTER_BITS

NOW = int(datetime(2026, 6, 10, 9, 30, tzinfo=UTC).timestamp() * 1000)
CAMPAIGN = {
    "name": "Nurture",
    "type": "nurture",
    "status": "active",
    "trigger": {"event": "lead"},
    "holdout_pct": 20,
    "steps": [
        {"id": "s1", "kind": "send_email", "config": {"variant": "auto"}},
        {"id": "s2", "kind": "send_email", "config": {"variant": "v1"}},
    ],
    "variants": [
        {"id": "v1", "label": "A", "subject": "Hi", "body": "Hello"},
        {"id": "v2", "label": "B", "subject": "Hey", "body": "Hello there"},
    ],
}


class Store:
    def __init__(self, path, settings: Settings) -> None:  # noqa: ANN001
        self.path = path
        self.storage = open_storage(path)
        self.org = self.storage.ensure_org("Org")
        self.seq = 0
        self.allocator = Allocator(settings)
        self.rounds = Rounds(CampaignIndex(), allocator=self.allocator)
        with self.storage.transaction():
            self.storage.set_automation_meta("event_cursor", "0:")
            self.storage.save_campaign(
                campaign_id="c1", org_id=self.org, state=b"\x00\x00", snapshot=CAMPAIGN,
                at_ms=NOW,
            )  # fmt: skip
            self.storage.log_update(
                campaign_id="c1", org_id=self.org, device_id=None, user_id="u",
                update=b"\x00\x00", meta={}, at_ms=NOW,
            )  # fmt: skip

    def leads(self, first: int, count: int) -> None:
        """``count`` new contacts each send a lead (one sync), and the engine's rounds run."""
        self.seq += 1
        wires = [
            [f"01J0EVENT{self.seq:08d}{n:09d}", "lead", NOW, NOW << COUNTER_BITS,
             f"c{n}@x.test", None, None, None, {}]
            for n in range(first, first + count)
        ]  # fmt: skip
        with self.storage.transaction():
            self.storage.insert_events(
                org_id=self.org, device_id="d", events=wires, priority=1, commit_seq=self.seq
            )
            while self.rounds.events(self.storage, self.seq, NOW).read:
                pass

    def first_sends(self) -> list[tuple[str, str, int, str]]:
        """(send id, variant, held out, status) of step s1, oldest first."""
        return self.storage.db.execute(
            "SELECT id, variant, held_out, status FROM automation_sends WHERE step = 's1' "
            "ORDER BY rowid"
        ).fetchall()

    def deliver(self, clicks: dict[str, float], at_ms: int) -> None:
        """Every queued send of s1 accepted; the n-th send of a variant clicked by a person
        when ``n * rate`` crosses a whole number (a rate, exactly); v1's also opened."""
        seen: dict[str, int] = {}
        with self.storage.transaction():
            for send_id, variant, _held, status in self.first_sends():
                if status != "queued":
                    continue
                n = seen[variant] = seen.get(variant, 0) + 1
                self.storage.update_send(send_id, at_ms=at_ms, status="sent", sent_at_ms=at_ms)
                if int(n * clicks[variant]) > int((n - 1) * clicks[variant]):
                    self.storage.mark_tracked(send_id, "clicked_at_ms", at_ms + 60_000)
                elif variant == "v1":  # opens (a privacy proxy's too) never count
                    self.storage.mark_tracked(send_id, "opened_at_ms", at_ms + 60_000)
                    self.storage.mark_tracked(send_id, "scanner_clicked_at_ms", at_ms + 1_000)

    def reallocate(self, now_ms: int):  # noqa: ANN201
        campaign = load_campaign("c1", CAMPAIGN)
        with self.storage.transaction():
            return self.allocator.reallocate(self.storage, [("c1", campaign.journey)], now_ms)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path, Settings(min_sends=60))
    yield s
    s.storage.close()


def test_only_steps_that_draw_among_variants_are_tests():
    journey = load_campaign("c1", CAMPAIGN).journey
    assert ab_steps(journey) == {"s1": ("v1", "v2")}  # s2 always sends v1


def test_clicks_move_the_shares_and_the_next_sends_follow_them(store):
    store.leads(0, 100)
    first = store.first_sends()
    held = [s for s in first if s[2]]
    assert len(first) == 100 and 10 <= len(held) <= 30  # the control group: 20 %
    assert all(s[3] == "skipped" for s in held)
    even = [s[1] for s in first if not s[2]]
    assert 0.3 < even.count("v2") / len(even) < 0.7  # no counts yet: even shares

    store.deliver({"v1": 0.05, "v2": 0.5}, NOW)
    done = store.reallocate(NOW + 60_000)
    assert done.tests == 1 and done.moved == 1 and done.winners == 0  # too few sends to stop
    saved = saved_state(store.storage, "c1", "s1")
    v1, v2 = saved["variants"]["v1"], saved["variants"]["v2"]
    # the control group is not counted; clicks count, opens and scanner clicks do not
    assert v1["sends"] + v2["sends"] == len(first) - len(held)
    assert v1["successes"] == int(v1["sends"] * 0.05) and v2["successes"] == int(v2["sends"] * 0.5)
    assert v2["share"] > 0.9 and v1["share"] == pytest.approx(0.05)  # the exploration floor
    assert v2["p_best"] > 0.99

    store.leads(100, 100)
    later = [s for s in store.first_sends()[100:] if not s[2]]
    assert sum(s[1] == "v2" for s in later) / len(later) > 0.85
    # the control group is drawn before the variant and still held out at its share
    assert 10 <= sum(s[2] for s in store.first_sends()[100:]) <= 30

    # the same counts a minute later: nothing moves, nothing is written
    assert store.reallocate(NOW + 120_000).moved == 0


def test_the_stop_rule_declares_a_winner_kept_across_a_restart(store, tmp_path):
    store.leads(0, 200)
    store.deliver({"v1": 0.02, "v2": 0.3}, NOW)
    done = store.reallocate(NOW + 60_000)
    assert done.winners == 1
    saved = saved_state(store.storage, "c1", "s1")
    assert saved["winner"] == "v2" and saved["variants"]["v2"]["share"] == 1.0
    assert saved["variants"]["v2"]["p_best"] > 0.95
    assert min(v["sends"] for v in saved["variants"].values()) >= 60

    store.storage.close()
    again = Store(tmp_path, Settings(min_sends=60))  # a restart: a new allocator, same store
    try:
        journey = load_campaign("c1", CAMPAIGN).journey
        with again.storage.transaction():
            shares = again.allocator.shares(again.storage, "c1", journey)
        assert shares == {"s1": {"v1": 0.0, "v2": 1.0}}
        again.leads(200, 50)
        assert {s[1] for s in again.first_sends()[200:] if not s[2]} == {"v2"}
    finally:
        again.storage.close()
        store.storage = open_storage(tmp_path)


def test_a_round_is_due_once_per_interval_of_the_clock():
    allocator = Allocator(interval_s=60)
    assert allocator.due(NOW) and allocator.next_in_s(NOW) == 0
    allocator.last_round_ms = NOW
    assert not allocator.due(NOW + 59_999) and allocator.next_in_s(NOW + 30_000) == 30
    assert allocator.due(NOW + 60_000)
