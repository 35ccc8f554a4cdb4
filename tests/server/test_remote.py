"""The messages by which server processes sharing a database tell each other of their commits."""

from __future__ import annotations

from server.commits import CampaignChange, Changes, Commit, Notice
from server.remote import MAX_MESSAGE_BYTES, decode, encode, origin_of


def commit(update: bytes = b"\x01\x02") -> Commit:
    return Commit(
        7,
        {
            "o1": Changes(
                "o1",
                events=None,
                campaigns=(CampaignChange("c1", update, "d1"),),
                notices=(Notice("conflict", {"field": "budget_cents"}, ("admin",)),),
            ),
            "o2": Changes("o2", events=()),
        },
    )


def test_a_commit_crosses_with_its_updates_and_notices_and_is_marked_remote():
    message = encode(commit(), "proc-a")
    assert origin_of(message) == "proc-a"
    origin, back = decode(message, lambda campaign_id: None)
    assert origin == "proc-a" and back.seq == 7 and back.remote
    assert back.orgs["o1"].campaigns == (CampaignChange("c1", b"\x01\x02", "d1"),)
    assert back.orgs["o1"].notices == (Notice("conflict", {"field": "budget_cents"}, ("admin",)),)
    # which events were stored only the store knows: reports rebuild, nothing is guessed
    assert back.orgs["o1"].events is None and not back.events_known
    assert back.orgs["o2"].events == ()


def test_without_its_updates_the_receiver_reads_each_changed_campaigns_state():
    big = commit(update=bytes(MAX_MESSAGE_BYTES))
    assert len(encode(big, "proc-a").encode()) > MAX_MESSAGE_BYTES
    small = encode(big, "proc-a", with_updates=False)
    assert len(small.encode()) < 1_000
    read: list[str] = []
    _, back = decode(small, lambda campaign_id: read.append(campaign_id) or b"whole state")
    assert read == ["c1"] and back.orgs["o1"].campaigns[0].update == b"whole state"
