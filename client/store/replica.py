"""The local replica: one SQLite file per profile holding events, the outbox, campaign docs,
contacts, settings and sync history.

Every write is one transaction and returns a ``Changes`` value saying what changed; subscribers
(the desktop app's models) refresh only for what concerns them. The replica is safe to call from
several threads: one connection, serialised by a lock. It has no Qt and no network.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import msgpack

from shared.protocol.contacts import merge_fields
from shared.protocol.errors import ProtocolError
from shared.protocol.events import Event, event_from_wire
from shared.protocol.hlc import HybridClock
from shared.protocol.ids import is_id, new_id
from shared.protocol.kinds import CAMPAIGN_UPDATE_CLASS

from . import outbox
from .db import open_database
from .errors import InvalidInput, NotFound

if TYPE_CHECKING:
    import pycrdt


def _lazy(name: str) -> ModuleType:
    """``name``, executed on first attribute access: campaign docs need pycrdt (~0.1 s to
    import), which commands that only read the queue or capture events never touch."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


schema = _lazy("shared.protocol.campaign")
docs = _lazy("client.store.campaigns")

DB_FILENAME = "replica.sqlite"
PULL_CURSOR = "pull_cursor"  # settings key of the change cursor (see ``SyncEngine.pull``)
PULL_EPOCH = "pull_epoch"  # the epoch of the server's log that cursor counts in
SERVER_TIME_MAX_LEAD_MS = 86_400_000  # a server clock further ahead than this is not taken in


@dataclass(frozen=True)
class Changes:
    """What one write changed."""

    events: int = 0
    campaigns: frozenset[str] = frozenset()
    contacts: bool = False
    outbox: bool = False
    settings: bool = False
    sync: bool = False


@dataclass(frozen=True)
class CaptureResult:
    events: tuple[Event, ...]
    changes: Changes


@dataclass
class _Listeners:
    callbacks: list[Callable[[Changes], None]] = field(default_factory=list)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Replica:
    def __init__(self, profile_dir: Path | str) -> None:
        self.profile_dir = Path(profile_dir)
        self.path = self.profile_dir / DB_FILENAME
        self.db = open_database(self.path)
        self._lock = threading.RLock()
        self._listeners = _Listeners()
        self._client_id = random.getrandbits(52)  # pycrdt client id of this process's edits
        if self.get_setting("device_id") is None:
            self.set_setting("device_id", new_id())
        self.clock = HybridClock(int(self.get_setting("hlc") or 0))

    # ------------------------------------------------------------------ plumbing

    def close(self) -> None:
        with self._lock:
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock, self.db.atomic():
            yield

    def subscribe(self, callback: Callable[[Changes], None]) -> Callable[[], None]:
        self._listeners.callbacks.append(callback)
        return lambda: self._listeners.callbacks.remove(callback)

    def _emit(self, changes: Changes) -> Changes:
        for callback in list(self._listeners.callbacks):
            callback(changes)
        return changes

    @property
    def device_id(self) -> str:
        return self.get_setting("device_id") or ""

    # ------------------------------------------------------------------ settings

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self._lock:
            row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str | None) -> Changes:
        with self.transaction():
            self._put_setting(key, value)
        return self._emit(Changes(settings=True))

    def _put_setting(self, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute("DELETE FROM settings WHERE key = ?", (key,))
        else:
            self.db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    @property
    def offline(self) -> bool:
        return self.get_setting("offline") == "1"

    def set_offline(self, offline: bool) -> Changes:
        return self.set_setting("offline", "1" if offline else "0")

    # ------------------------------------------------------------------ events

    def make_event(
        self,
        *,
        kind: str,
        contact: str | None = None,
        campaign: str | None = None,
        channel: str | None = None,
        value_cents: int | None = None,
        occurred_at_ms: int | None = None,
        payload: dict[str, Any] | None = None,
        event_id: str | None = None,
    ) -> Event:
        """Build and validate an event (the same validation the server applies)."""
        stamp = self.clock.now()
        wire = [
            event_id or new_id(),
            kind,
            occurred_at_ms if occurred_at_ms is not None else _now_ms(),
            stamp,
            contact,
            campaign,
            channel,
            value_cents,
            payload or None,
        ]
        try:
            return event_from_wire(wire)
        except ProtocolError as exc:
            raise InvalidInput(exc.message) from None

    def capture(self, **fields: Any) -> CaptureResult:
        """Write one event and queue it for sync, in one local transaction."""
        return self.capture_many([self.make_event(**fields)])

    def capture_many(self, events: Iterable[Event]) -> CaptureResult:
        """Write events and queue them, all in one transaction: all or nothing."""
        events = tuple(events)
        now = _now_ms()
        rows = []
        queue = []
        for ev in events:
            rows.append(
                [
                    ev.id,
                    ev.kind,
                    ev.priority,
                    ev.occurred_at_ms,
                    ev.hlc,
                    ev.contact,
                    ev.campaign,
                    ev.channel,
                    ev.value_cents,
                    json.dumps(ev.payload) if ev.payload else None,
                    now,
                    None,  # outbox_seq, set below
                ]
            )
            queue.append(
                [
                    ev.priority,
                    None,
                    ev.id,
                    msgpack.packb(ev.to_wire(), use_bin_type=True),
                    outbox.event_item_type(ev.kind),
                ]
            )
        with self.transaction():
            # Ids already present (a re-import of the same file) are neither stored nor queued twice.
            present = self._present_ids([r[0] for r in rows])
            if present:
                rows = [r for r in rows if r[0] not in present]
                queue = [q for q in queue if q[2] not in present]
            if queue:
                first = outbox.reserve_seqs(self.db, len(queue))
                for seq, row, item in zip(
                    range(first, first + len(queue)), rows, queue, strict=True
                ):
                    row[11] = item[1] = seq
            self.db.conn.executemany(
                "INSERT INTO events (id, kind, priority, occurred_at_ms, hlc, contact, "
                "campaign, channel, value_cents, payload, captured_at_ms, outbox_seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            outbox.enqueue_events(self.db, queue)
            self._put_setting("hlc", str(self.clock.last))
        return CaptureResult(events, self._emit(Changes(events=len(queue), outbox=True)))

    def _present_ids(self, ids: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in self.db.execute(f"SELECT id FROM events WHERE id IN ({marks})", chunk)
            )
        return found

    def recent_events(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.db.execute(
                "SELECT id, kind, occurred_at_ms, contact, campaign, channel, value_cents, payload, "
                "NOT EXISTS (SELECT 1 FROM outbox o WHERE o.priority = e.priority "
                "AND o.seq = e.outbox_seq) AND NOT EXISTS "
                "(SELECT 1 FROM rejected j WHERE j.seq = e.outbox_seq) "
                "FROM events e ORDER BY captured_at_ms DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("id", "kind", "occurred_at_ms", "contact", "campaign", "channel", "value_cents")
        out = []
        for r in rows:
            item = dict(zip(keys, r[:7], strict=True))
            item["payload"] = json.loads(r[7]) if r[7] else {}
            item["synced"] = bool(r[8])
            out.append(item)
        return out

    def contact_events(self, contact: str, limit: int = 500) -> list[dict[str, Any]]:
        """This device's events of ``contact`` in the order they happened (the latest
        ``limit``), each with ``synced`` (False: still waiting to reach the server)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT * FROM (SELECT id, kind, occurred_at_ms, contact, campaign, channel, "
                "value_cents, NOT EXISTS (SELECT 1 FROM outbox o WHERE o.priority = e.priority "
                "AND o.seq = e.outbox_seq) AND NOT EXISTS "
                "(SELECT 1 FROM rejected j WHERE j.seq = e.outbox_seq) "
                "FROM events e WHERE contact = ? ORDER BY occurred_at_ms DESC, id DESC LIMIT ?) "
                "ORDER BY occurred_at_ms, id",
                (contact, limit),
            ).fetchall()
        keys = ("id", "kind", "occurred_at_ms", "contact", "campaign", "channel", "value_cents")
        return [{**dict(zip(keys, r[:7], strict=True)), "synced": bool(r[7])} for r in rows]

    def event_rows(self) -> Iterator[tuple]:
        """Every local event as (id, kind, occurred_at_ms, contact, campaign, channel,
        value_cents, payload) — the analytics row shape."""
        with self._lock:
            rows = self.db.execute(
                "SELECT id, kind, occurred_at_ms, contact, campaign, channel, value_cents, payload "
                "FROM events ORDER BY occurred_at_ms"
            ).fetchall()
        for r in rows:
            yield (*r[:7], json.loads(r[7]) if r[7] else {})

    def event_count(self) -> int:
        with self._lock:
            return self.db.execute("SELECT count(*) FROM events").fetchone()[0]

    # ------------------------------------------------------------------ campaigns

    def create_campaign(
        self,
        *,
        name: str,
        campaign_type: str = "nurture",
        owner: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> tuple[str, Changes]:
        campaign_id = new_id()

        def build(doc: pycrdt.Doc) -> list[schema.GuardedEdit | None]:
            edits = [
                schema.set_field(doc, "name", name),
                schema.set_field(doc, "type", campaign_type),
                schema.set_field(doc, "status", "draft"),
            ]
            if owner:
                edits.append(schema.set_field(doc, "owner", owner))
            for key, value in (fields or {}).items():
                edits.append(schema.set_field(doc, key, value))
            return edits

        doc = schema.new_doc(client_id=self._client_id)
        changes = self._write_campaign(campaign_id, doc, build)
        return campaign_id, changes

    def edit_campaign(
        self, campaign_id: str, edit: Callable[[pycrdt.Doc], list[schema.GuardedEdit | None] | None]
    ) -> Changes:
        """Apply ``edit`` to the campaign's doc; the update is stored and queued atomically."""
        with self._lock:
            doc = docs.load_doc(self.db, campaign_id, client_id=self._client_id)
            return self._write_campaign(campaign_id, doc, edit)

    def apply_local_update(
        self, campaign_id: str, update: bytes, guards: Iterable[schema.GuardedEdit] = ()
    ) -> Changes:
        """Store and queue an update this user made on a working copy of the campaign's doc (the
        desktop builder), with the guarded edits it carries: state and outbox in one transaction,
        like any local edit."""
        guards = list(guards)

        def merge(doc: pycrdt.Doc) -> list[schema.GuardedEdit]:
            doc.apply_update(bytes(update))
            return guards

        return self.edit_campaign(campaign_id, merge)

    def set_campaign_field(self, campaign_id: str, field_name: str, value: Any) -> Changes:
        return self.edit_campaign(
            campaign_id, lambda doc: [schema.set_field(doc, field_name, value)]
        )

    def add_campaign_note(self, campaign_id: str, text: str) -> Changes:
        """Add a note by this profile's user, stamped now: an entry of its own, which a note
        added meanwhile on another device never runs into."""
        author = self.get_setting("user_email")

        def add(doc: pycrdt.Doc) -> None:
            schema.add_note(doc, text=text, author=author, at_ms=_now_ms())  # not guarded

        return self.edit_campaign(campaign_id, add)

    def _write_campaign(self, campaign_id: str, doc: pycrdt.Doc, edit: Callable) -> Changes:
        try:
            update, guarded = docs.edit_doc(doc, edit)
        except ProtocolError as exc:
            raise InvalidInput(exc.message) from None
        if update == b"\x00\x00":
            return Changes()
        meta = {
            "hlc": self.clock.now(),
            "device": self.device_id,
            "author": self.get_setting("user_email"),
            "guards": [g.to_meta() for g in guarded],
        }
        with self.transaction():
            docs.save_doc(self.db, campaign_id, doc)
            outbox.enqueue_update(self.db, CAMPAIGN_UPDATE_CLASS, campaign_id, update, meta)
            self._put_setting("hlc", str(self.clock.last))
        return self._emit(Changes(campaigns=frozenset({campaign_id}), outbox=True))

    def campaign_doc(self, campaign_id: str) -> pycrdt.Doc:
        with self._lock:
            return docs.load_doc(self.db, campaign_id)

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        if not is_id(campaign_id):
            raise InvalidInput(f"{campaign_id!r} is not a campaign id")
        with self._lock:
            row = self.db.execute(
                "SELECT snapshot, updated_at_ms FROM campaigns WHERE id = ?", (campaign_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no campaign {campaign_id} in this profile")
        return {"id": campaign_id, **json.loads(row[0]), "updated_at_ms": row[1]}

    def campaign_state(self, campaign_id: str) -> bytes:
        with self._lock:
            row = self.db.execute(
                "SELECT state FROM campaigns WHERE id = ?", (campaign_id,)
            ).fetchone()
        if row is None:
            raise NotFound(f"no campaign {campaign_id} in this profile")
        return bytes(row[0])

    def campaigns(self) -> list[dict[str, Any]]:
        with self._lock:
            return docs.snapshots(self.db)

    def state_vectors(self) -> dict[str, bytes]:
        with self._lock:
            return docs.state_vectors(self.db)

    def apply_remote_updates(
        self,
        updates: Iterable[tuple[str, bytes]],
        *,
        cursor: int | None | bool = False,
        epoch: str | None = None,
    ) -> Changes:
        """Merge updates from the server. ``cursor``: the change cursor the server gave with the
        last frame of a pull's answer, stored in the same transaction as the updates with the
        ``epoch`` of the log it counts in (None forgets the cursor; False, the default, leaves
        it as it is)."""
        changed = set()
        with self.transaction():
            for campaign_id, update in updates:
                if docs.apply_update(self.db, campaign_id, bytes(update)):
                    changed.add(campaign_id)
            if cursor is not False:
                self._put_setting(PULL_CURSOR, None if cursor is None else str(cursor))
                self._put_setting(PULL_EPOCH, None if cursor is None else epoch)
        if not changed:
            return Changes()
        return self._emit(Changes(campaigns=frozenset(changed)))

    def pull_cursor(self) -> int | None:
        """The server's last change seq this replica has every update up to, if any."""
        value = self.get_setting(PULL_CURSOR)
        return int(value) if value is not None else None

    def pull_epoch(self) -> str | None:
        """The epoch of the server's log the change cursor counts in (None: not told)."""
        return self.get_setting(PULL_EPOCH)

    # ------------------------------------------------------------------ contacts

    def upsert_contact(self, email: str, fields: dict[str, Any]) -> CaptureResult:
        """Set contact fields locally (last writer wins per field) and queue the change."""
        event = self.make_event(kind="contact", contact=email, payload={"fields": fields})
        with self.transaction():
            self._merge_contact(email, fields, event.hlc, self.device_id)
            result = self.capture_many([event])
        return CaptureResult(
            result.events, self._emit(Changes(contacts=True, outbox=True, events=1))
        )

    def observe_server_time(self, server_ms: object) -> bool:
        """Move the hybrid clock up to the server's time at connect, so a device whose clock runs
        slow stamps its later edits no earlier than the server's now (contacts merge on these
        stamps). A time more than a day ahead of this device's clock is not taken."""
        if not isinstance(server_ms, int) or isinstance(server_ms, bool) or server_ms <= 0:
            return False
        before = self.clock.last
        if not self.clock.observe_time(server_ms, max_lead_ms=SERVER_TIME_MAX_LEAD_MS):
            return False
        if self.clock.last != before:
            with self.transaction():
                self._put_setting("hlc", str(self.clock.last))
        return True

    def _merge_contact(self, email: str, fields: dict[str, Any], hlc: int, device: str) -> None:
        row = self.db.execute(
            "SELECT fields, clocks FROM contacts WHERE email = ?", (email,)
        ).fetchone()
        current, clocks = (json.loads(row[0]), json.loads(row[1])) if row else ({}, {})
        merge_fields(current, clocks, fields, hlc=hlc, device_id=device)
        self.db.execute(
            "INSERT INTO contacts (email, fields, clocks) VALUES (?, ?, ?) ON CONFLICT(email) "
            "DO UPDATE SET fields = excluded.fields, clocks = excluded.clocks",
            (email, json.dumps(current, sort_keys=True), json.dumps(clocks, sort_keys=True)),
        )

    def contact(self, email: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.db.execute(
                "SELECT fields FROM contacts WHERE email = ?", (email,)
            ).fetchone()
        return json.loads(row[0]) if row else None

    # ------------------------------------------------------------------ outbox, sync

    def next_event_batch(
        self, priority: int, after_seq: int, limit: int, item_type: str = "event"
    ) -> outbox.EventBatch | None:
        with self._lock:
            return outbox.next_events(self.db, priority, after_seq, limit, item_type)

    def next_update_batch(self, after_seq: int, limit: int) -> outbox.UpdateBatch | None:
        with self._lock:
            return outbox.next_updates(self.db, CAMPAIGN_UPDATE_CLASS, after_seq, limit)

    def ack(self, priority: int, item_type: str, first_seq: int, last_seq: int) -> int:
        with self.transaction():
            removed = outbox.ack(self.db, priority, item_type, first_seq, last_seq)
        self._emit(Changes(outbox=True))
        return removed

    def reject(
        self,
        priority: int,
        item_type: str,
        first_seq: int,
        last_seq: int,
        *,
        code: str,
        reason: str,
    ) -> int:
        with self.transaction():
            moved = outbox.reject(
                self.db,
                priority,
                item_type,
                first_seq,
                last_seq,
                code=code,
                reason=reason,
                at_ms=_now_ms(),
            )
        self._emit(Changes(outbox=True))
        return moved

    def rejected_count(self) -> int:
        with self._lock:
            return self.db.execute("SELECT count(*) FROM rejected").fetchone()[0]

    def queued(self, priority: int, item_type: str) -> int:
        """Items of one class and outbox item type waiting to be sent."""
        with self._lock:
            return outbox.count(self.db, priority, item_type)

    def queue_depths(self) -> dict[int, int]:
        with self._lock:
            return outbox.depths(self.db)

    def record_sync(
        self,
        *,
        ok: bool,
        summary: dict[str, Any],
        reached: bool | None = None,
        log_repeat: bool = True,
    ) -> Changes:
        """Record one attempt to sync: a row of the sync log, and whether the server was
        reachable (``reached``, default ``ok``), when, and what failed.

        ``log_repeat=False`` (the live loop's reconnects) writes no log row for a failure that
        repeats the last one: the attempt's time is kept, the log is not filled with it."""
        now = _now_ms()
        reached = ok if reached is None else reached
        error = None if ok else str(summary.get("error") or "unknown error")
        repeat = (
            not ok
            and self.get_setting("last_error") == error
            and self.get_setting("server_reachable") == ("1" if reached else "0")
        )
        with self.transaction():
            if log_repeat or not repeat:
                self.db.execute(
                    "INSERT INTO sync_log (at_ms, ok, summary) VALUES (?, ?, ?)",
                    (now, int(ok), json.dumps(summary, sort_keys=True)),
                )
                self.db.execute(
                    "DELETE FROM sync_log WHERE id <= (SELECT max(id) FROM sync_log) - 200"
                )
            if ok:
                self._put_setting("last_sync_ms", str(now))
            if reached:
                self._put_setting("last_reached_ms", str(now))
            self._put_setting("last_attempt_ms", str(now))
            self._put_setting("server_reachable", "1" if reached else "0")
            self._put_setting("last_error", error)
        return self._emit(Changes(sync=True))

    def sync_history(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.db.execute(
                "SELECT at_ms, ok, summary FROM sync_log ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [{"at_ms": r[0], "ok": bool(r[1]), **json.loads(r[2])} for r in rows]

    def status(self) -> dict[str, Any]:
        """The profile's state: whether the user works offline, the server and whether it was
        reachable at the last attempt to sync (None: never tried), when it was last reached,
        what failed, the queue per priority class and the last complete sync (epoch ms)."""

        def ms(key: str) -> int | None:
            value = self.get_setting(key)
            return int(value) if value else None

        reachable = self.get_setting("server_reachable")
        return {
            "work_offline": self.offline,
            "server": self.get_setting("server_url"),
            "user": self.get_setting("user_email"),
            "role": self.get_setting("role"),
            "device_id": self.device_id,
            "server_reachable": None if reachable is None else reachable == "1",
            "last_attempt_ms": ms("last_attempt_ms"),
            "last_reached_ms": ms("last_reached_ms"),
            "last_error": self.get_setting("last_error"),
            "last_sync_ms": ms("last_sync_ms"),
            "queue": {str(k): v for k, v in self.queue_depths().items()},
            "rejected": self.rejected_count(),
            "tester_mode": self.get_setting("tester_mode") == "1",
        }
