"""The automation's rows in SQLite (``AutomationStore``): enrolments, sends, suppressions, per-org
SMTP settings and tracking keys, and the engine's cursor over committed events.

Claiming, as the PostgreSQL backend will do it across several server processes:

* **Enrolments** are advanced inside one writer transaction each batch: selected (on
  PostgreSQL ``... FOR UPDATE SKIP LOCKED``, so processes share the due rows), advanced by the
  pure interpreter, and saved with their sends in that same transaction. No side effect happens
  while they are held, so they need no lease: a crash rolls the whole batch back.
* **Sends** leave the transaction (the SMTP call), so they are claimed with a lease:
  ``queued`` -> ``claimed`` (a batch, one commit) -> ``sending`` (one row at a time, committed
  with its Message-ID and bytes before the SMTP call) -> ``sent`` / ``bounced`` / ``failed`` or
  back to ``queued`` (deferred, with a later ``due_ms``). ``reclaim_sends`` takes back claims
  whose lease ran out (or, at start-up on SQLite, where one server process serves a file, every
  claim of an earlier process): a ``sending`` row goes back to the queue with its bytes, so the
  retry carries the same Message-ID.

The claim queries have the shape ``UPDATE ... WHERE id IN (SELECT id ... ORDER BY due_ms LIMIT
n [FOR UPDATE SKIP LOCKED]) RETURNING ...``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import msgpack

from ..rows import EnrolmentRow, SendRow, SmtpRow
from .connection import SQLiteHandle

#: send statuses still on their way (counted by the frequency cap, cancelled by a bounce)
PENDING_SENDS = ("queued", "claimed", "sending")

_ENROLMENT_COLUMNS = (
    "id, org_id, campaign_id, contact, status, held_out, node, due_ms, wake_on, state, "
    "entered_at_ms, exited_at_ms, exit_reason, converted_at_ms, version"
)
_SEND_COLUMNS = (
    "id, key, org_id, campaign_id, enrolment_id, contact, step, step_index, variant, held_out, "
    "status, reason, due_ms, attempts, message_id, links, raw, created_at_ms, sent_at_ms, "
    "smtp_code, opened_at_ms, proxy_opened_at_ms, clicked_at_ms, scanner_clicked_at_ms, "
    "unsubscribed_at_ms, claimed_by, lease_until_ms"
)


def _enrolment(row: Sequence[Any]) -> EnrolmentRow:
    return EnrolmentRow(
        id=row[0],
        org_id=row[1],
        campaign_id=row[2],
        contact=row[3],
        status=row[4],
        held_out=bool(row[5]),
        node=row[6],
        due_ms=row[7],
        wake_on=tuple(k for k in (row[8] or "").split(",") if k),
        state=json.loads(row[9]),
        entered_at_ms=row[10],
        exited_at_ms=row[11],
        exit_reason=row[12],
        converted_at_ms=row[13],
        version=row[14],
    )


def _send(row: Sequence[Any]) -> SendRow:
    return SendRow(
        id=row[0],
        key=row[1],
        org_id=row[2],
        campaign_id=row[3],
        enrolment_id=row[4],
        contact=row[5],
        step=row[6],
        step_index=row[7],
        variant=row[8],
        held_out=bool(row[9]),
        status=row[10],
        reason=row[11],
        due_ms=row[12],
        attempts=row[13],
        message_id=row[14],
        links=tuple(json.loads(row[15])) if row[15] else (),
        raw=bytes(row[16]) if row[16] is not None else None,
        created_at_ms=row[17],
        sent_at_ms=row[18],
        smtp_code=row[19],
        opened_at_ms=row[20],
        proxy_opened_at_ms=row[21],
        clicked_at_ms=row[22],
        scanner_clicked_at_ms=row[23],
        unsubscribed_at_ms=row[24],
        claimed_by=row[25],
        lease_until_ms=row[26],
    )


def _wake_on(kinds: Iterable[str]) -> str:
    """Stored as ``,open,click,`` so that one LIKE finds a kind."""
    kinds = sorted(set(kinds))
    return f",{','.join(kinds)}," if kinds else ""


class SQLiteAutomation(SQLiteHandle):
    # ------------------------------------------------------------------ the engine's bookmarks

    def automation_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM automation_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_automation_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO automation_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def events_after(self, seq: int, event_id: str, limit: int) -> list[tuple[str, int, list[Any]]]:
        """Committed events after the cursor ``(commit seq, event id)``, in that order, at most
        ``limit``: ``(org id, commit seq, wire array)``."""
        rows = self.db.execute(
            "SELECT org_id, commit_seq, id, kind, occurred_at_ms, hlc, contact, campaign, "
            "channel, value_cents, payload FROM events WHERE (commit_seq, id) > (?, ?) "
            "ORDER BY commit_seq, id LIMIT ?",
            (seq, event_id, limit),
        ).fetchall()
        unpackb = msgpack.unpackb
        return [(r[0], r[1], [*r[2:10], unpackb(r[10]) if r[10] else None]) for r in rows]

    def record_history(self, org_id: str, events: Sequence[Sequence[Any]]) -> int:
        """Keep events (wire arrays with a contact) in the automation's slice of history; an
        event kept before is kept once. How many were new."""
        rows = [
            (org_id, e[4], e[2], e[0], e[1], e[3], e[5], e[6], e[7],
             msgpack.packb(e[8]) if e[8] else None)
            for e in events
            if e[4]
        ]  # fmt: skip
        before = self.db.conn.total_changes
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO automation_history (org_id, contact, occurred_at_ms, id, kind, "
            "hlc, campaign, channel, value_cents, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        return self.db.conn.total_changes - before

    def contact_events(
        self,
        org_id: str,
        contact: str,
        *,
        kinds: Sequence[str] | None = None,
        since_ms: int | None = None,
        limit: int = 5_000,
    ) -> list[dict[str, Any]]:
        """The contact's events kept in the automation's history (optionally of ``kinds``,
        occurring at or after ``since_ms``), newest first, as dicts with ``occurred_at_ms``
        (``shared.automation.facts``)."""
        sql = (
            "SELECT id, kind, occurred_at_ms, hlc, contact, campaign, channel, value_cents, "
            "payload FROM automation_history WHERE org_id = ? AND contact = ? "
            "AND occurred_at_ms >= ?"
        )
        params: list[Any] = [org_id, contact, since_ms if since_ms is not None else 0]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        sql += " ORDER BY occurred_at_ms DESC, id DESC LIMIT ?"
        params.append(limit)
        unpackb = msgpack.unpackb
        return [
            {
                "id": r[0],
                "kind": r[1],
                "occurred_at_ms": r[2],
                "hlc": r[3],
                "contact": r[4],
                "campaign": r[5],
                "channel": r[6],
                "value_cents": r[7],
                "payload": unpackb(r[8]) if r[8] else {},
            }
            for r in self.db.execute(sql, params)
        ]

    def contacts_page(
        self, org_id: str, after_email: str, limit: int
    ) -> list[tuple[str, dict[str, Any]]]:
        """The org's contacts after ``after_email`` in email order (the date-trigger scan)."""
        rows = self.db.execute(
            "SELECT email, fields FROM contacts WHERE org_id = ? AND email > ? "
            "ORDER BY email LIMIT ?",
            (org_id, after_email, limit),
        )
        return [(r[0], json.loads(r[1])) for r in rows]

    # ------------------------------------------------------------------ enrolments

    def insert_enrolment(self, row: EnrolmentRow, *, at_ms: int) -> bool:
        """Store a new enrolment; False when one with its id exists (the same trigger twice)."""
        cursor = self.db.execute(
            f"INSERT OR IGNORE INTO automation_enrolments ({_ENROLMENT_COLUMNS}, updated_at_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.org_id,
                row.campaign_id,
                row.contact,
                row.status,
                int(row.held_out),
                row.node,
                row.due_ms,
                _wake_on(row.wake_on),
                json.dumps(row.state, sort_keys=True),
                row.entered_at_ms,
                row.exited_at_ms,
                row.exit_reason,
                row.converted_at_ms,
                row.version,
                at_ms,
            ),
        )
        return cursor.rowcount == 1

    def save_enrolment(self, row: EnrolmentRow, *, expected_version: int, at_ms: int) -> bool:
        """Replace an enrolment's state if it is still at ``expected_version`` (the version it
        was read at); False when something else changed it since (then nothing is written)."""
        cursor = self.db.execute(
            "UPDATE automation_enrolments SET status = ?, node = ?, due_ms = ?, wake_on = ?, "
            "state = ?, exited_at_ms = ?, exit_reason = ?, converted_at_ms = ?, version = ?, "
            "updated_at_ms = ? WHERE id = ? AND version = ?",
            (
                row.status,
                row.node,
                row.due_ms,
                _wake_on(row.wake_on),
                json.dumps(row.state, sort_keys=True),
                row.exited_at_ms,
                row.exit_reason,
                row.converted_at_ms,
                expected_version + 1,
                at_ms,
                row.id,
                expected_version,
            ),
        )
        return cursor.rowcount == 1

    def enrolment(self, enrolment_id: str) -> EnrolmentRow | None:
        row = self.db.execute(
            f"SELECT {_ENROLMENT_COLUMNS} FROM automation_enrolments WHERE id = ?",
            (enrolment_id,),
        ).fetchone()
        return _enrolment(row) if row else None

    def enrolments_of(
        self,
        org_id: str,
        contact: str,
        *,
        campaign_id: str | None = None,
        running_only: bool = False,
    ) -> list[EnrolmentRow]:
        """The contact's enrolments (in one campaign, or all; only those not exited)."""
        sql = f"SELECT {_ENROLMENT_COLUMNS} FROM automation_enrolments WHERE org_id = ? AND contact = ?"
        params: list[Any] = [org_id, contact]
        if campaign_id is not None:
            sql += " AND campaign_id = ?"
            params.append(campaign_id)
        if running_only:
            sql += " AND status != 'exited'"
        sql += " ORDER BY entered_at_ms, id"
        return [_enrolment(r) for r in self.db.execute(sql, params)]

    def due_enrolments(self, now_ms: int, limit: int) -> list[EnrolmentRow]:
        """Enrolments due at ``now_ms`` (not exited), the most overdue first. Call inside the
        transaction that advances and saves them (on PostgreSQL: ``FOR UPDATE SKIP LOCKED``)."""
        rows = self.db.execute(
            f"SELECT {_ENROLMENT_COLUMNS} FROM automation_enrolments "
            "WHERE status != 'exited' AND due_ms <= ? ORDER BY due_ms, id LIMIT ?",
            (now_ms, limit),
        )
        return [_enrolment(r) for r in rows]

    def next_due_ms(self) -> int | None:
        """When the next enrolment falls due (None: none waits on the clock)."""
        row = self.db.execute(
            "SELECT min(due_ms) FROM automation_enrolments WHERE status != 'exited' "
            "AND due_ms IS NOT NULL"
        ).fetchone()
        return row[0]

    def wake_enrolments(self, org_id: str, contact: str, kind: str, at_ms: int) -> int:
        """Make the contact's waiting enrolments that wait on events of ``kind`` due at once
        (a wait-for or a goal); how many."""
        cursor = self.db.execute(
            "UPDATE automation_enrolments SET due_ms = ?, version = version + 1, "
            "updated_at_ms = ? WHERE org_id = ? AND contact = ? AND status = 'waiting' "
            "AND wake_on LIKE ? AND (due_ms IS NULL OR due_ms > ?)",
            (at_ms, at_ms, org_id, contact, f"%,{kind},%", at_ms),
        )
        return cursor.rowcount

    def wake_campaign(self, campaign_id: str, at_ms: int) -> int:
        """Make every enrolment of a campaign that is not exited due at once, and its sends
        held by a pause due again (its status changed: a resumed campaign continues, an
        archived one exits them); how many enrolments."""
        cursor = self.db.execute(
            "UPDATE automation_enrolments SET due_ms = ?, version = version + 1, "
            "updated_at_ms = ? WHERE campaign_id = ? AND status != 'exited'",
            (at_ms, at_ms, campaign_id),
        )
        self.db.execute(
            "UPDATE automation_sends SET due_ms = ?, updated_at_ms = ? WHERE campaign_id = ? "
            "AND status = 'queued' AND due_ms IS NULL",
            (at_ms, at_ms, campaign_id),
        )
        return cursor.rowcount

    def wake_held(self, campaign_id: str, at_ms: int) -> int:
        """Make a campaign's held enrolments (and sends held by a pause) due at once: at start,
        when the engine cannot know whether the campaign was resumed while it was down."""
        cursor = self.db.execute(
            "UPDATE automation_enrolments SET due_ms = ?, version = version + 1, "
            "updated_at_ms = ? WHERE campaign_id = ? AND status = 'held'",
            (at_ms, at_ms, campaign_id),
        )
        self.db.execute(
            "UPDATE automation_sends SET due_ms = ?, updated_at_ms = ? WHERE campaign_id = ? "
            "AND status = 'queued' AND due_ms IS NULL",
            (at_ms, at_ms, campaign_id),
        )
        return cursor.rowcount

    def mark_converted(self, org_id: str, contact: str, *, at_ms: int, since_ms: int) -> int:
        """Record a conversion at ``at_ms`` on the contact's enrolments entered between
        ``since_ms`` and ``at_ms`` that have none yet (held-out ones included: the lift reads
        them); how many."""
        cursor = self.db.execute(
            "UPDATE automation_enrolments SET converted_at_ms = ? WHERE org_id = ? "
            "AND contact = ? AND converted_at_ms IS NULL AND entered_at_ms <= ? "
            "AND entered_at_ms >= ?",
            (at_ms, org_id, contact, at_ms, since_ms),
        )
        return cursor.rowcount

    # ------------------------------------------------------------------ sends

    def insert_send(self, row: SendRow) -> bool:
        """Store a send (queued, or a step passed without sending); False when its idempotency
        key is stored already (a replay), and nothing changes."""
        cursor = self.db.execute(
            f"INSERT OR IGNORE INTO automation_sends ({_SEND_COLUMNS}, updated_at_ms) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.id,
                row.key,
                row.org_id,
                row.campaign_id,
                row.enrolment_id,
                row.contact,
                row.step,
                row.step_index,
                row.variant,
                int(row.held_out),
                row.status,
                row.reason,
                row.due_ms,
                row.attempts,
                row.message_id,
                json.dumps(list(row.links)) if row.links else None,
                row.raw,
                row.created_at_ms,
                row.sent_at_ms,
                row.smtp_code,
                row.opened_at_ms,
                row.proxy_opened_at_ms,
                row.clicked_at_ms,
                row.scanner_clicked_at_ms,
                row.unsubscribed_at_ms,
                row.claimed_by,
                row.lease_until_ms,
                row.created_at_ms,
            ),
        )
        return cursor.rowcount == 1

    def send(self, send_id: str) -> SendRow | None:
        row = self.db.execute(
            f"SELECT {_SEND_COLUMNS} FROM automation_sends WHERE id = ?", (send_id,)
        ).fetchone()
        return _send(row) if row else None

    def send_by_key(self, key: str) -> SendRow | None:
        row = self.db.execute(
            f"SELECT {_SEND_COLUMNS} FROM automation_sends WHERE key = ?", (key,)
        ).fetchone()
        return _send(row) if row else None

    def send_times(self, org_id: str, contact: str, *, since_ms: int) -> list[int]:
        """When the contact's emails went (or will go: pending ones at their due time), across
        all campaigns, from ``since_ms`` on: what the frequency cap counts."""
        rows = self.db.execute(
            "SELECT coalesce(sent_at_ms, due_ms, created_at_ms) FROM automation_sends "
            "WHERE org_id = ? AND contact = ? AND created_at_ms >= ? "
            "AND status IN ('sent', 'queued', 'claimed', 'sending')",
            (org_id, contact, since_ms),
        )
        return [r[0] for r in rows]

    def sent_times(self, org_id: str, contact: str, *, since_ms: int) -> list[int]:
        """When the contact's emails were accepted by SMTP, from ``since_ms`` on."""
        rows = self.db.execute(
            "SELECT sent_at_ms FROM automation_sends WHERE org_id = ? AND contact = ? "
            "AND status = 'sent' AND sent_at_ms >= ?",
            (org_id, contact, since_ms),
        )
        return [r[0] for r in rows]

    def claim_sends(
        self, org_id: str, *, now_ms: int, limit: int, worker: str, lease_ms: int
    ) -> list[SendRow]:
        """Claim up to ``limit`` queued sends of the org that are due, oldest first."""
        rows = self.db.execute(
            "UPDATE automation_sends SET status = 'claimed', claimed_by = ?, lease_until_ms = ?, "
            "updated_at_ms = ? WHERE id IN (SELECT id FROM automation_sends WHERE org_id = ? "
            "AND status = 'queued' AND due_ms <= ? ORDER BY due_ms, id LIMIT ?) "
            f"RETURNING {_SEND_COLUMNS}",
            (worker, now_ms + lease_ms, now_ms, org_id, now_ms, limit),
        ).fetchall()
        return sorted((_send(r) for r in rows), key=lambda s: (s.due_ms or 0, s.id))

    def orgs_with_due_sends(self, now_ms: int) -> list[str]:
        rows = self.db.execute(
            "SELECT DISTINCT org_id FROM automation_sends WHERE status = 'queued' AND due_ms <= ?",
            (now_ms,),
        )
        return [r[0] for r in rows]

    def next_send_due_ms(self) -> int | None:
        row = self.db.execute(
            "SELECT min(due_ms) FROM automation_sends WHERE status = 'queued'"
        ).fetchone()
        return row[0]

    def update_send(self, send_id: str, *, at_ms: int, **changes: Any) -> None:
        """Set some of a send's columns (``status``, ``reason``, ``due_ms``, ``attempts``,
        ``message_id``, ``links``, ``raw``, ``sent_at_ms``, ``smtp_code``, ``claimed_by``,
        ``lease_until_ms``, the tracking times)."""
        allowed = set(_SEND_COLUMNS.replace(" ", "").split(",")) - {"id", "key"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"not a send column: {', '.join(sorted(unknown))}")
        if "links" in changes:
            links = changes["links"]
            changes["links"] = json.dumps(list(links)) if links else None
        names = sorted(changes)
        assignments = ", ".join(f"{n} = ?" for n in names)
        self.db.execute(
            f"UPDATE automation_sends SET {assignments}, updated_at_ms = ? WHERE id = ?",
            (*(changes[n] for n in names), at_ms, send_id),
        )

    def mark_tracked(self, send_id: str, column: str, at_ms: int) -> bool:
        """Record the first open, click or unsubscribe of a send (one of the tracking columns);
        False when one was recorded already."""
        if column not in (
            "opened_at_ms",
            "proxy_opened_at_ms",
            "clicked_at_ms",
            "scanner_clicked_at_ms",
            "unsubscribed_at_ms",
        ):
            raise ValueError(f"not a tracking column: {column}")
        cursor = self.db.execute(
            f"UPDATE automation_sends SET {column} = ? WHERE id = ? AND {column} IS NULL",
            (at_ms, send_id),
        )
        return cursor.rowcount == 1

    def reclaim_sends(self, *, now_ms: int, worker: str | None = None) -> int:
        """Put back in the queue the claims whose lease ran out, or (``worker`` given) every
        claim not made by ``worker``; a ``sending`` row keeps its Message-ID and bytes."""
        if worker is None:
            cursor = self.db.execute(
                "UPDATE automation_sends SET status = 'queued', claimed_by = NULL, "
                "lease_until_ms = NULL, due_ms = min(coalesce(due_ms, ?), ?), updated_at_ms = ? "
                "WHERE status IN ('claimed', 'sending') AND lease_until_ms < ?",
                (now_ms, now_ms, now_ms, now_ms),
            )
        else:
            cursor = self.db.execute(
                "UPDATE automation_sends SET status = 'queued', claimed_by = NULL, "
                "lease_until_ms = NULL, due_ms = min(coalesce(due_ms, ?), ?), updated_at_ms = ? "
                "WHERE status IN ('claimed', 'sending') AND coalesce(claimed_by, '') != ?",
                (now_ms, now_ms, now_ms, worker),
            )
        return cursor.rowcount

    def cancel_contact(self, org_id: str, contact: str, *, reason: str, at_ms: int) -> int:
        """Cancel the contact's queued sends everywhere (an unsubscribe, a hard bounce); how
        many. (Its enrolments are ended by the engine, which writes their exit.)"""
        cursor = self.db.execute(
            "UPDATE automation_sends SET status = 'cancelled', reason = ?, updated_at_ms = ? "
            "WHERE org_id = ? AND contact = ? AND status IN ('queued', 'claimed')",
            (reason, at_ms, org_id, contact),
        )
        return cursor.rowcount

    # ------------------------------------------------------------------ suppressions

    def suppress(self, org_id: str, contact: str, *, reason: str, at_ms: int, source: str) -> bool:
        """Add the contact to the org's suppression list; False if it was there for ``reason``."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO automation_suppressions (org_id, contact, reason, at_ms, "
            "source) VALUES (?, ?, ?, ?, ?)",
            (org_id, contact, reason, at_ms, source),
        )
        return cursor.rowcount == 1

    def suppressions(self, org_id: str, contact: str) -> list[str]:
        rows = self.db.execute(
            "SELECT reason FROM automation_suppressions WHERE org_id = ? AND contact = ? "
            "ORDER BY reason",
            (org_id, contact),
        )
        return [r[0] for r in rows]

    def suppressed_since(self, org_id: str, contact: str) -> int | None:
        """When the contact was first suppressed (None: it is not)."""
        row = self.db.execute(
            "SELECT min(at_ms) FROM automation_suppressions WHERE org_id = ? AND contact = ?",
            (org_id, contact),
        ).fetchone()
        return row[0]

    # ------------------------------------------------------------------ per-org settings

    def smtp_settings(self, org_id: str) -> SmtpRow | None:
        row = self.db.execute(
            "SELECT org_id, host, port, security, username, password_sealed, from_address, "
            "updated_at_ms FROM automation_smtp WHERE org_id = ?",
            (org_id,),
        ).fetchone()
        if row is None:
            return None
        sealed = bytes(row[5]) if row[5] is not None else None
        return SmtpRow(row[0], row[1], row[2], row[3], row[4], sealed, row[6], row[7])

    def save_smtp_settings(self, row: SmtpRow) -> None:
        self.db.execute(
            "INSERT INTO automation_smtp (org_id, host, port, security, username, "
            "password_sealed, from_address, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(org_id) DO UPDATE SET host = excluded.host, port = excluded.port, "
            "security = excluded.security, username = excluded.username, "
            "password_sealed = excluded.password_sealed, from_address = excluded.from_address, "
            "updated_at_ms = excluded.updated_at_ms",
            (
                row.org_id,
                row.host,
                row.port,
                row.security,
                row.username,
                row.password_sealed,
                row.from_address,
                row.updated_at_ms,
            ),
        )

    def tracking_keys(self, org_id: str) -> list[bytes]:
        """The org's sealed tracking keys, newest first."""
        rows = self.db.execute(
            "SELECT key_sealed FROM automation_tracking_keys WHERE org_id = ? "
            "ORDER BY created_at_ms DESC, key_id DESC",
            (org_id,),
        )
        return [bytes(r[0]) for r in rows]

    def add_tracking_key(self, org_id: str, sealed: bytes, *, at_ms: int) -> None:
        self.db.execute(
            "INSERT INTO automation_tracking_keys (org_id, key_sealed, created_at_ms) "
            "VALUES (?, ?, ?)",
            (org_id, sealed, at_ms),
        )

    # ------------------------------------------------------------------ the run view

    def campaign_run_rows(
        self, campaign_id: str
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """What the run view counts: per enrolment (status, held out, node, exit reason,
        converted) and per send (step, step index, variant, status, reason, held out, opened,
        clicked, the enrolment's conversion time, sent time)."""
        enrolments = self.db.execute(
            "SELECT status, held_out, node, exit_reason, converted_at_ms IS NOT NULL "
            "FROM automation_enrolments WHERE campaign_id = ?",
            (campaign_id,),
        ).fetchall()
        sends = self.db.execute(
            "SELECT s.step, s.step_index, s.variant, s.status, s.reason, s.held_out, "
            "s.opened_at_ms IS NOT NULL, s.clicked_at_ms IS NOT NULL, e.converted_at_ms, "
            "s.sent_at_ms FROM automation_sends s LEFT JOIN automation_enrolments e "
            "ON e.id = s.enrolment_id WHERE s.campaign_id = ?",
            (campaign_id,),
        ).fetchall()
        return enrolments, sends

    def variant_counts(self, campaign_id: str) -> list[tuple[str, str, int, int, int]]:
        """Per send step and variant of the campaign: (step, variant, sends accepted, sends
        clicked by a person, sends followed by their enrolment's conversion); the control
        group's skipped steps have no variant and are not counted."""
        return self.db.execute(
            "SELECT s.step, s.variant, count(*), count(s.clicked_at_ms), "
            "count(CASE WHEN e.converted_at_ms >= s.sent_at_ms THEN 1 END) "
            "FROM automation_sends s LEFT JOIN automation_enrolments e ON e.id = s.enrolment_id "
            "WHERE s.campaign_id = ? AND s.status = 'sent' AND s.variant IS NOT NULL "
            "AND s.held_out = 0 GROUP BY s.step, s.variant",
            (campaign_id,),
        ).fetchall()
