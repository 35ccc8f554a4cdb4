"""Random interleavings of edits, syncs and offline periods across three replicas: every replica
converges, and a conflict is flagged iff two guarded edits of one field were concurrent.

The replicas are real stores and the server side is the real merge and detection code on a real
SQLite file; only the socket is left out, so that hypothesis can run many interleavings."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.store import Replica
from server.auth import Principal
from server.campaigns import CampaignDocs, updates_for
from server.conflicts import ConflictDetector
from server.storage.sqlite import SQLiteStorage
from shared.protocol import campaign as schema

GUARDED = ("budget_cents", "status", "schedule_start")
VALUES = {
    "budget_cents": st.integers(0, 5).map(lambda i: i * 10_000),
    "status": st.sampled_from(["draft", "scheduled", "active", "paused"]),
    "schedule_start": st.sampled_from(["2027-05-01", "2027-06-01"]),
    "description": st.text(alphabet="abc ", max_size=6),
}
ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("edit"), st.integers(0, 2), st.sampled_from([*GUARDED, "description"])
        ).flatmap(lambda t: st.tuples(st.just(t[0]), st.just(t[1]), st.just(t[2]), VALUES[t[2]])),
        st.tuples(st.just("sync"), st.integers(0, 2)),
    ),
    max_size=25,
)


class Harness:
    def __init__(self, root: Path) -> None:
        self.storage = SQLiteStorage(root / "server")
        self.org = self.storage.ensure_org("A")
        self.docs = CampaignDocs()
        self.docs.hooks.append(ConflictDetector())
        self.replicas = [Replica(root / f"r{i}") for i in range(3)]
        self.principals = [
            Principal(
                user_id=f"u{i}",
                email=f"m{i}@a.test",
                org_id=self.org,
                role="marketer",
                device_id=r.device_id,
            )
            for i, r in enumerate(self.replicas)
        ]
        self.seen: dict[str, tuple[str, set[str]]] = {}  # edit -> (field, edits it had seen)

    def sync(self, i: int) -> None:
        replica, principal = self.replicas[i], self.principals[i]
        while (batch := replica.next_update_batch(0, 100)) is not None:
            with self.storage.transaction():
                for campaign_id, update, meta in batch.updates:
                    self.docs.apply(self.storage, principal, campaign_id, update, meta)
            replica.ack(1, "campaign", batch.first_seq, batch.last_seq)
        replica.apply_remote_updates(updates_for(self.storage, self.org, replica.state_vectors()))

    def edit(self, i: int, cid: str, field: str, value) -> None:
        replica = self.replicas[i]
        before = set(schema.revisions(replica.campaign_doc(cid)))
        replica.set_campaign_field(cid, field, value)
        revs = schema.revisions(replica.campaign_doc(cid))
        for edit in set(revs) - before:
            self.seen[edit] = (revs[edit]["f"], schema.ancestors(revs, revs[edit]["b"]))

    def concurrent_fields(self) -> set[str]:
        fields = set()
        for (e1, (f1, s1)), (e2, (f2, s2)) in itertools.combinations(self.seen.items(), 2):
            if f1 == f2 and e1 not in s2 and e2 not in s1:
                fields.add(f1)
        return fields

    def close(self) -> None:
        for r in self.replicas:
            r.close()
        self.storage.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_interleavings_converge_and_flag_exactly_the_concurrent_edits(script):
    with tempfile.TemporaryDirectory() as d:
        h = Harness(Path(d))
        try:
            cid, _ = h.replicas[0].create_campaign(name="Spring")
            for i in range(3):
                h.sync(i)
            h.seen.clear()  # the creation's status edit is the common starting point
            for op in script:
                if op[0] == "edit":
                    h.edit(op[1], cid, op[2], op[3])
                else:
                    h.sync(op[1])
            for _ in range(2):
                for i in range(3):
                    h.sync(i)
            server_state = h.storage.campaign(cid, org_id=h.org).state
            assert {r.campaign_state(cid) for r in h.replicas} == {server_state}
            flagged = {
                c["field"]
                for c in h.storage.conflicts(h.org)
                if c["kind"] in ("concurrent_edit", "status_race")
            }
            assert flagged == h.concurrent_fields()
        finally:
            h.close()
