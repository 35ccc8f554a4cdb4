"""Checkers over a finished simulation: each returns pass/fail (or skipped) and a counter-example.

They compare the simulation's own history (what devices captured and edited, what each replica
had seen, what went over the network) with what the server and the replicas hold at the end:

* ``exactly_once``: every captured event is on the server once, from its device, and the server
  holds nothing that was not captured;
* ``convergence``: every replica's campaigns equal the server's, field by field;
* ``conflicts``: the server flagged a concurrent-edit conflict for a campaign field iff two
  guarded edits of it were concurrent (neither replica had seen the other's edit, directly or
  through later edits), and each candidate it names is concurrent with another candidate;
* ``priority``: no device sent a class-3 batch while a class-0 event queued before that push
  pass was still unacked;
* ``no_unexpected_errors``: no error frame, logged error or dead sync loop that the injected
  faults do not explain, and nothing rejected;
* ``automation`` (the engine, sending through the simulated SMTP server): no email accepted
  twice unless a server crash cut off the reply of the first acceptance (the documented
  in-flight duplicate, same Message-ID), every email the server recorded as sent was accepted,
  none was handed over to a contact already suppressed on the server, in quiet hours, or before
  its step's time (the second email of an enrolment no sooner than the wait after the first),
  and none to a held-out contact.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .history import concurrent_pairs

#: a running ``devtools.simulate.world.Simulation`` (not imported: the world imports the checkers)
Simulation = Any

MAX_EXAMPLES = 5
CONCURRENT_KINDS = ("concurrent_edit", "status_race")


def _result(name: str, failures: list[Any], *, checked: int, detail: str) -> dict[str, Any]:
    return {
        "name": name,
        "status": "fail" if failures else "pass",
        "checked": checked,
        "detail": detail,
        "counterexample": failures[:MAX_EXAMPLES],
        "failures": len(failures),
    }


def _server_device(sim: Simulation) -> str | None:
    """The server's own device id: the events it makes (sends, enrolments, tracking) are the
    automation checker's, not captures."""
    return sim.server.ctx.storage.automation_meta("server_device_id")


def _server_events(sim: Simulation) -> list[tuple[str, str, str, int]]:
    storage = sim.server.ctx.storage
    devices = storage.device_names()
    own = _server_device(sim)
    copies: Counter[str] = Counter()
    first: dict[str, tuple[str, str]] = {}
    for event_id, device_id, kind, _seq in storage.stored_events():
        if device_id == own:
            continue
        copies[event_id] += 1
        first.setdefault(event_id, (devices.get(device_id, device_id), kind))
    return [(i, *first[i], n) for i, n in copies.items()]


def exactly_once(sim: Simulation) -> dict[str, Any]:
    depths = {d.name: d.replica.queue_depths() for d in sim.devices}
    return check_exactly_once(sim.history.captured, _server_events(sim), depths)


def check_exactly_once(
    captured: dict[str, tuple[str, str]],
    server_rows: list[tuple[str, str, str, int]],
    outbox_depths: dict[str, dict[int, int]],
) -> dict[str, Any]:
    """``captured``: event id -> (device, kind); ``server_rows``: (id, device, kind, copies)."""
    on_server = {r[0]: r for r in server_rows}
    failures = []
    for event_id in sorted(captured):
        device, kind = captured[event_id]
        row = on_server.get(event_id)
        if row is None:
            failures.append(
                {
                    "event": event_id,
                    "device": device,
                    "kind": kind,
                    "problem": "captured but not on the server",
                }
            )
        elif row[3] != 1 or row[1] != device:
            failures.append(
                {
                    "event": event_id,
                    "device": device,
                    "kind": kind,
                    "problem": f"stored {row[3]} times, from {row[1]}",
                }
            )
    for event_id in sorted(set(on_server) - set(captured)):
        failures.append({"event": event_id, "problem": "on the server but never captured"})
    for device, depths in sorted(outbox_depths.items()):
        if any(depths.values()):
            failures.append({"device": device, "problem": f"outbox not empty: {depths}"})
    return _result(
        "exactly_once",
        failures,
        checked=len(captured),
        detail=f"{len(captured)} events captured, {len(on_server)} on the server",
    )


def _comparable(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in ("id", "updated_at_ms")}


def convergence(sim: Simulation) -> dict[str, Any]:
    server = {row.id: row.snapshot for row in sim.server.ctx.storage.campaigns(sim.org_id)}
    return check_convergence(server, {d.name: d.replica.campaigns() for d in sim.devices})


def check_convergence(
    server_campaigns: dict[str, dict[str, Any]], replicas: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """``server_campaigns``: id -> snapshot; ``replicas``: device -> its campaign snapshots."""
    server = {cid: _comparable(snap) for cid, snap in server_campaigns.items()}
    failures = []
    for device_name, campaigns in sorted(replicas.items()):
        local = {c["id"]: _comparable(c) for c in campaigns}
        for campaign_id in sorted(set(server) | set(local)):
            mine, theirs = local.get(campaign_id), server.get(campaign_id)
            if mine == theirs:
                continue
            if mine is None or theirs is None:
                diff = {"missing_on": "device" if mine is None else "server"}
            else:
                diff = {
                    k: {"device": mine.get(k), "server": theirs.get(k)}
                    for k in sorted(set(mine) | set(theirs))
                    if mine.get(k) != theirs.get(k)
                }
            failures.append(
                {
                    "device": device_name,
                    "campaign": campaign_id,
                    "diff": json.loads(json.dumps(diff, default=str)),
                }
            )
    return _result(
        "convergence",
        failures,
        checked=len(server) * len(replicas),
        detail=f"{len(server)} campaigns on {len(replicas)} replicas and the server",
    )


def skipped(name: str, reason: str) -> dict[str, Any]:
    return {
        "name": name,
        "status": "skipped",
        "checked": 0,
        "detail": f"skipped: {reason}",
        "counterexample": [],
        "failures": 0,
    }


def conflicts(sim: Simulation) -> dict[str, Any]:
    if not sim.server.conflicts_available:
        return skipped("conflicts", "conflicts not available")
    return check_conflicts(sim.history.guarded, sim.server.ctx.storage.conflicts(sim.org_id))


def check_conflicts(guarded: list[Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """``guarded``: the run's own ``GuardedRecord``s; ``records``: the server's conflicts."""
    pairs = concurrent_pairs(guarded)
    field_of = {g.edit: (g.campaign, g.field) for g in guarded}
    expected: dict[tuple[str, str], set[frozenset[str]]] = {}
    for a, b in pairs:
        expected.setdefault(field_of[a], set()).add(frozenset((a, b)))
    concurrent_with: dict[str, set[str]] = {}
    for a, b in pairs:
        concurrent_with.setdefault(a, set()).add(b)
        concurrent_with.setdefault(b, set()).add(a)
    flagged: dict[tuple[str, str], set[str]] = {}
    for record in records:
        if record.get("kind") not in CONCURRENT_KINDS:
            continue
        key = (record["campaign_id"], record["field"])
        flagged.setdefault(key, set()).update(c.get("edit") for c in record.get("candidates", []))
    failures = []
    for key in sorted(expected):  # a concurrent pair on a field: that field has a conflict
        if not flagged.get(key):
            pair = sorted(sorted(expected[key], key=sorted)[0])
            failures.append(
                {
                    "campaign": key[0],
                    "field": key[1],
                    "edits": pair,
                    "problem": "concurrent guarded edits, no conflict flagged",
                }
            )
    for key in sorted(flagged):  # every candidate was concurrent with another candidate
        for edit in sorted(flagged[key]):
            if not concurrent_with.get(edit, set()) & flagged[key]:
                failures.append(
                    {
                        "campaign": key[0],
                        "field": key[1],
                        "edit": edit,
                        "problem": "flagged, but concurrent with no other candidate",
                    }
                )
    return _result(
        "conflicts",
        failures,
        checked=len(guarded),
        detail=f"{len(pairs)} concurrent pairs, {len(flagged)} fields flagged",
    )


def priority(sim: Simulation) -> dict[str, Any]:
    violations = sim.history.priority_violations
    checks = sim.priority_checks
    return _result(
        "priority",
        violations,
        checked=checks["class3_batches"],
        detail=f"{checks['class3_batches']} class-3 batches sent, "
        f"{checks['with_class0_queued_at_pass_start']} of them in a pass that "
        "began with class-0 events queued",
    )


def no_unexpected_errors(sim: Simulation) -> dict[str, Any]:
    failures = list(sim.history.errors) + list(sim.history.step_failures)
    for device in sim.devices:
        rejected = device.replica.rejected_count()
        if rejected:
            failures.append({"device": device.name, "problem": f"{rejected} items rejected"})
    explained = sum(sim.history.explained_errors.values())
    return _result(
        "no_unexpected_errors",
        failures,
        checked=len(failures) + explained,
        detail=f"{explained} errors explained by injected faults",
    )


def safety(sim: Simulation) -> dict[str, Any] | None:
    """Cheap checks valid at any moment, over the events committed since the last call: none is
    stored twice and none was never captured. None when they hold."""
    if not sim.server_up:
        return None
    copies: Counter[str] = Counter()
    newest = sim.safety_seq
    own = _server_device(sim)
    for event_id, device, _kind, seq in sim.server.ctx.storage.stored_events(
        after_commit_seq=sim.safety_seq
    ):
        newest = max(newest, seq)
        if device == own:
            continue
        copies[event_id] += 1
        newest = max(newest, seq)
    sim.safety_seq = newest
    for event_id, n in copies.items():
        if n != 1 or event_id not in sim.history.captured:
            return {"event": event_id, "problem": "duplicate or never captured"}
    return None


def automation(sim: Simulation) -> dict[str, Any]:
    from shared.automation.guards import parse_quiet_hours
    from shared.automation.localtime import contact_zone, local_datetime

    storage = sim.server.ctx.storage
    mail = sim.mail
    failures: list[dict[str, Any]] = []
    accepted = Counter(d.message_id for d in mail.delivered)
    for message_id, n in sorted(accepted.items(), key=lambda i: str(i[0])):
        if n > 1 + mail.interrupted.get(message_id or "", 0):
            failures.append(
                {"message_id": message_id, "problem": f"accepted {n} times", "crashes_in_flight":
                 mail.interrupted.get(message_id or "", 0)}
            )  # fmt: skip
    handed = {}
    for d in mail.delivered:
        handed.setdefault(d.message_id, d)
    contacts = sorted({d.recipient for d in mail.delivered} | _contacts(sim))
    sent = 0
    for contact in contacts:
        fields = storage.contact(sim.org_id, contact) or {}
        suppressed = storage.suppressed_since(sim.org_id, contact)
        for enrolment in storage.enrolments_of(sim.org_id, contact):
            snapshot = storage_campaign(storage, enrolment.campaign_id, sim.org_id)
            quiet = parse_quiet_hours(snapshot.get("quiet_hours")) if snapshot else None
            times = []
            for step in enrolment.state.get("done", []):
                row = storage.send_by_key(f"{enrolment.id}/{step}")
                if row is None or row.status != "sent":
                    continue
                sent += 1
                delivery = handed.get(row.message_id)
                where = {"contact": contact, "send": row.key}
                if delivery is None:
                    failures.append({**where, "problem": "recorded as sent, never accepted"})
                    continue
                if enrolment.held_out:
                    failures.append({**where, "problem": "sent to a held-out contact"})
                if suppressed is not None and suppressed <= delivery.handed_at_ms:
                    failures.append({**where, "problem": "handed over after the suppression"})
                local = local_datetime(delivery.handed_at_ms, contact_zone(fields)).time()
                if quiet is not None and quiet.covers(local):
                    failures.append({**where, "problem": f"handed over at {local} (quiet)"})
                if delivery.handed_at_ms < row.created_at_ms:
                    failures.append({**where, "problem": "handed over before its step ran"})
                times.append(row.created_at_ms)
            wait_s = sim.running.get(enrolment.campaign_id)
            if wait_s is not None and len(times) == 2 and times[1] - times[0] < wait_s * 1000:
                failures.append(
                    {"contact": contact, "enrolment": enrolment.id,
                     "problem": f"second email {times[1] - times[0]} ms after the first, "
                     f"the wait is {wait_s} s"}
                )  # fmt: skip
    duplicates = sum(n - 1 for n in accepted.values() if n > 1)
    return _result(
        "automation",
        failures,
        checked=len(mail.delivered),
        detail=f"{len(mail.delivered)} emails accepted ({sent} recorded sent, {duplicates} "
        f"in-flight repeats after {sum(mail.interrupted.values())} crashes mid-reply)",
    )


def _contacts(sim: Simulation) -> set[str]:
    return {f"couple{i}@example.com" for i in range(50)}


def storage_campaign(storage: Any, campaign_id: str, org_id: str) -> dict[str, Any] | None:
    from server.automation.index import campaign_row

    row = campaign_row(storage, campaign_id, org_id)
    return row.snapshot if row is not None else None


def run_all(sim: Simulation) -> list[dict[str, Any]]:
    return [
        exactly_once(sim),
        convergence(sim),
        conflicts(sim),
        priority(sim),
        no_unexpected_errors(sim),
        automation(sim),
    ]
