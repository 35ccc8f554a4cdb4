"""The mailer: drains each org's queue of sends through its SMTP server, exactly once but for the
one in flight at a crash.

For each org, one lane (one task, one SMTP connection, one message at a time):

1. **claim** a batch of due sends (writer job; ``queued`` -> ``claimed`` with a lease), with what
   rendering needs: the campaign, the contact's fields, the org's settings and tracking key;
2. **render** each message off the loop (sandboxed templates, tracked links, Message-ID from the
   idempotency key) — or reuse the bytes a send kept from an attempt cut short;
3. **mark it sending** (writer job; the same commit records the outcome of the message before
   it, and the next message renders meanwhile), checking at that moment: the contact
   is not suppressed, the campaign is active (paused: the send waits for the resume; archived:
   cancelled), the contact's quiet hours are over (else it waits until they are), and the
   frequency cap over sends actually accepted still allows it (else skipped, the contact moves
   on). The row commits as ``sending`` with its Message-ID, links and bytes **before** the SMTP
   call;
4. **send** (``SmtpSender``: per-org rate limit, retries with backoff on 4xx);
5. **record** the outcome (writer job): ``sent`` with a ``send`` event; ``bounced`` with a
   ``bounce`` event, the contact suppressed, its queued sends cancelled and its enrolments ended
   everywhere; ``deferred`` back to the queue with a longer wait (after ``MAX_DEFERRALS`` it
   fails, with a soft ``bounce`` event); ``failed`` (the org's settings) back to the queue and
   the lane rests (``SETTINGS_PAUSE_S``; also while the org has no settings at all), until an
   admin changes them.

**What is guaranteed.** A send's row and its idempotency key are committed with the enrolment
state that made it, so no replay makes a second row. A message is handed to SMTP only after its
row says ``sending``; it becomes ``sent`` after SMTP accepted it. If the process dies between
the acceptance and that commit, the row is still ``sending``: at the next start (or when its
lease runs out) it goes back to the queue with the same bytes and is sent again with the same
Message-ID. That is the one duplicate possible, at most one message per org lane per crash,
and receivers that honour Message-ID see the same message twice. Nothing is sent twice
otherwise, and nothing that was due is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from email.utils import parseaddr
from functools import partial
from typing import Any

from shared.automation import capped_by, next_allowed_ms, suppression_reason
from shared.automation.guards import parse_frequency_cap, parse_quiet_hours
from shared.automation.localtime import contact_zone

from ..commits import Changes, Outcome
from ..delivery.errors import DeliveryCode, DeliveryError
from ..delivery.message import build_message
from ..delivery.render import render_variant
from ..delivery.smtp import RetryPolicy, SendResult, SendStatus, SmtpSender
from ..delivery.tracking import TrackingUrls
from ..storage import SendRow, Storage
from . import records
from .index import campaign_row
from .rounds import Rounds
from .secrets import SecretBox
from .settings import OrgSmtp, load_smtp, org_tracking_keys

log = logging.getLogger(__name__)

MAX_DEFERRALS = 8  # deferred this many times (about a day and a half of waits): it fails
DEFERRAL_WAITS_S = (60, 300, 900, 3_600, 3 * 3_600, 6 * 3_600, 12 * 3_600)
SETTINGS_PAUSE_S = 300  # the org's SMTP refused its settings: try its queue again this later
UNCONFIGURED_WAIT_S = 300  # no SMTP settings yet: look again this later
DEFAULT_FALLBACKS = {"first_name": "there", "name": "there"}

Now = Callable[[], int]
#: runs a writer job ``job(storage, commit_seq)`` and returns its value
Submit = Callable[[Callable[[Storage, int], Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Claimed:
    """A claimed send and what rendering it needs (read in the claiming transaction)."""

    send: SendRow
    variant: dict[str, Any] | None
    fields: dict[str, Any]


@dataclass(frozen=True)
class Lane:
    """One org's claim: its sends, its settings (None: not configured) and signing key."""

    org_id: str
    sends: tuple[Claimed, ...]
    smtp: OrgSmtp | None
    key: bytes | None


def personal_fields(contact: str, fields: dict[str, Any]) -> dict[str, Any]:
    """What templates may name: the contact's fields and its ``email``."""
    return {**fields, "email": contact}


def variant_of(snapshot: dict[str, Any], variant_id: str | None) -> dict[str, Any] | None:
    for variant in snapshot.get("variants") or []:
        if isinstance(variant, dict) and variant.get("id") == variant_id:
            return variant
    return None


class Mailer:
    """Delivery of queued sends (see the module rules). ``submit`` runs a writer job."""

    def __init__(
        self,
        *,
        submit: Submit,
        rounds: Rounds,
        box: SecretBox,
        public_url: str,
        now_ms: Now,
        worker: str,
        batch: int = 50,
        lease_s: int = 600,
        rate_per_s: float | None = None,
        retry: RetryPolicy | None = None,
        render_timeout_s: float = 5.0,
        sender_factory: Callable[..., SmtpSender] = SmtpSender,
        render_executor: Any = None,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self._submit = submit
        self._on_progress = on_progress or (lambda: None)
        self._rounds = rounds
        self._box = box
        self.public_url = public_url.rstrip("/")
        self._now = now_ms
        self.worker = worker
        self.batch = batch
        self.lease_ms = lease_s * 1000
        self.rate_per_s = rate_per_s
        self.retry = retry or RetryPolicy()
        self.render_timeout_s = render_timeout_s
        self.sender_factory = sender_factory
        self._senders: dict[str, tuple[int, SmtpSender]] = {}
        self._render = render_executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="wedsync-render"
        )
        self.stats = {"sent": 0, "bounced": 0, "deferred": 0, "failed": 0, "held": 0}
        #: org -> until when its lane rests (no settings, or settings refused); cleared when
        #: an admin changes settings (``AutomationEngine.nudge``)
        self.resting: dict[str, int] = {}

    def set_clock(self, now_ms: Now) -> None:
        """Time sends and rests by ``now_ms`` from here on (the engine's clock)."""
        self._now = now_ms

    async def close(self) -> None:
        for _, sender in self._senders.values():
            await sender.close()
        self._senders.clear()
        if isinstance(self._render, ThreadPoolExecutor):
            self._render.shutdown(wait=False, cancel_futures=True)

    def sender(self, org_id: str, smtp: OrgSmtp) -> SmtpSender:
        cached = self._senders.get(org_id)
        if cached is not None and cached[0] == smtp.updated_at_ms:
            return cached[1]
        sender = self.sender_factory(smtp.settings, rate_per_s=self.rate_per_s, retry=self.retry)
        self._senders[org_id] = (smtp.updated_at_ms, sender)
        if cached is not None:
            asyncio.get_running_loop().create_task(cached[1].close())
        return sender

    # ------------------------------------------------------------------ one org's lane

    async def drain(self, org_id: str) -> int:
        """Send the org's due sends until none is due; how many were handled."""
        handled = 0
        while True:
            now = self._now()
            lane: Lane = await self._submit(partial(self._claim, org_id=org_id, now_ms=now))
            if not lane.sends:
                return handled
            if lane.smtp is None:
                await self._submit(partial(self._unclaim, lane=lane))
                self.resting[org_id] = now + UNCONFIGURED_WAIT_S * 1000
                log.warning("org %s has sends queued but no SMTP settings", org_id)
                return handled
            done, refused = await self._lane(lane, self.sender(org_id, lane.smtp))
            handled += done
            if refused:  # the settings were refused: the rest went back; the lane rests
                self.resting[org_id] = self._now() + SETTINGS_PAUSE_S * 1000
                return handled

    async def _lane(self, lane: Lane, sender: SmtpSender) -> tuple[int, bool]:
        """Send a claimed batch one message at a time, pipelined: the next message renders
        while one is with the SMTP server, and the outcome of one is recorded in the same
        commit that marks the next ``sending`` (each still before its own SMTP call). Returns
        how many were handled and whether the org's settings were refused."""
        assert lane.smtp is not None
        envelope_from = parseaddr(lane.smtp.from_address)[1]
        sends = list(lane.sends)
        pending: tuple[SendRow, str | None, SendResult] | None = None
        ahead = asyncio.ensure_future(self._prepare(lane, sends[0]))
        handled = 0
        try:
            for position in range(len(sends)):
                send, raw, message_id, links, problem = await ahead
                if position + 1 < len(sends):
                    ahead = asyncio.ensure_future(self._prepare(lane, sends[position + 1]))
                handled += 1
                if problem is not None:
                    recorded = await self._submit(
                        partial(self._record_then, record=pending, fail=(send, problem))
                    )
                    pending = None
                    self._on_progress()
                    if recorded == SendStatus.FAILED:
                        return handled, await self._give_back(lane, sends[position + 1 :])
                    continue
                recorded, go = await self._submit(
                    partial(self._record_then, record=pending, mark=(send, message_id, links, raw))
                )
                pending = None
                if recorded is not None:
                    self._on_progress()
                if recorded == SendStatus.FAILED:
                    return handled, await self._give_back(lane, sends[position:])
                if not go:
                    self._on_progress()
                    continue
                assert raw is not None
                result = await sender.send_raw(
                    raw, sender=envelope_from, recipient=send.contact, message_id=message_id
                )
                pending = (send, message_id, result)
            if pending is not None:
                recorded = await self._submit(partial(self._record_then, record=pending))
                self._on_progress()
                if recorded == SendStatus.FAILED:
                    return handled, True
            return handled, False
        finally:
            ahead.cancel()

    async def _give_back(self, lane: Lane, rest: list[Claimed]) -> bool:
        await self._submit(partial(self._unclaim, lane=replace(lane, sends=tuple(rest))))
        return True

    async def _prepare(
        self, lane: Lane, claimed: Claimed
    ) -> tuple[SendRow, bytes | None, str | None, tuple[str, ...], str | None]:
        """The message's bytes (kept ones after an attempt cut short: same Message-ID), or
        why it cannot be built."""
        send = claimed.send
        if send.raw is not None:
            return send, send.raw, send.message_id, send.links, None
        try:
            raw, message_id, links = await self._render_message(lane, claimed)
        except DeliveryError as exc:
            return send, None, None, (), f"{exc.code}: {exc.message}"
        except TimeoutError:
            took = f"template_render_failed: rendering took over {self.render_timeout_s} s"
            return send, None, None, (), took
        return send, raw, message_id, links, None

    async def _render_message(
        self, lane: Lane, claimed: Claimed
    ) -> tuple[bytes, str, tuple[str, ...]]:
        assert lane.smtp is not None and lane.key is not None
        send, smtp, key = claimed.send, lane.smtp, lane.key
        now = self._now()

        def build() -> tuple[bytes, str, tuple[str, ...]]:
            if claimed.variant is None:
                raise DeliveryError(
                    DeliveryCode.TEMPLATE_INVALID, f"variant {send.variant} of the campaign is gone"
                )
            content = render_variant(
                claimed.variant,
                personal_fields(send.contact, claimed.fields),
                fallbacks=DEFAULT_FALLBACKS,
            )
            built = build_message(
                sender=smtp.from_address,
                recipient=send.contact,
                content=content,
                idempotency_key=send.key,
                tracking=TrackingUrls(
                    base_url=self.public_url,
                    org=lane.org_id,
                    send_id=send.id,
                    contact=send.contact,
                    key=key,
                    now_s=now // 1000,
                ),
                date_ms=now,
            )
            return built.to_wire(), built.message_id, built.links

        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(
            loop.run_in_executor(self._render, build), self.render_timeout_s
        )

    # ------------------------------------------------------------------ writer jobs

    def _claim(self, storage: Storage, seq: int, *, org_id: str, now_ms: int) -> Lane:
        storage.reclaim_sends(now_ms=now_ms)
        sends = storage.claim_sends(
            org_id, now_ms=now_ms, limit=self.batch, worker=self.worker, lease_ms=self.lease_ms
        )
        if not sends:
            return Lane(org_id, (), None, None)
        smtp = load_smtp(storage, self._box, org_id)
        keys = org_tracking_keys(storage, self._box, org_id, at_ms=now_ms)
        snapshots: dict[str, dict[str, Any]] = {}
        claimed = []
        for send in sends:
            if send.campaign_id not in snapshots:
                row = campaign_row(storage, send.campaign_id, org_id)
                snapshots[send.campaign_id] = row.snapshot if row is not None else {}
            claimed.append(
                Claimed(
                    send,
                    variant_of(snapshots[send.campaign_id], send.variant),
                    storage.contact(org_id, send.contact) or {},
                )
            )
        return Lane(org_id, tuple(claimed), smtp, keys[0])

    def _unclaim(self, storage: Storage, seq: int, *, lane: Lane) -> None:
        """Give claimed sends back to the queue as they were (the lane rests)."""
        now = self._now()
        for claimed in lane.sends:
            current = storage.send(claimed.send.id)
            if current is not None and current.status == "claimed":
                storage.update_send(
                    current.id, at_ms=now, status="queued", claimed_by=None, lease_until_ms=None
                )

    def _record_then(
        self,
        storage: Storage,
        seq: int,
        *,
        record: tuple[SendRow, str | None, SendResult] | None = None,
        mark: tuple[SendRow, str | None, tuple[str, ...], bytes | None] | None = None,
        fail: tuple[SendRow, str] | None = None,
    ) -> Any:
        """One commit: the outcome of the message just sent, then the next one marked
        ``sending`` (unless the outcome says the settings were refused) or failed. Returns
        the outcome recorded (None: none) and, with ``mark``, whether to send."""
        status: SendStatus | None = None
        changes: Changes | None = None
        if record is not None:
            outcome = self._record(
                storage, seq, send=record[0], message_id=record[1], result=record[2]
            )
            if isinstance(outcome, Outcome):
                status, changes = outcome.value, outcome.changes
            else:
                status = outcome
        if fail is not None:
            self._fail(storage, seq, send=fail[0], problem=fail[1])
            value: Any = status
        elif mark is not None:
            go = status != SendStatus.FAILED and self._mark_sending(
                storage, seq, send=mark[0], message_id=mark[1], links=mark[2], raw=mark[3]
            )
            value = (status, go)
        else:
            value = status
        return value if changes is None else Outcome(value, changes)

    def _mark_sending(
        self,
        storage: Storage,
        seq: int,
        *,
        send: SendRow,
        message_id: str | None,
        links: tuple[str, ...],
        raw: bytes | None,
    ) -> bool:
        """The checks at the moment of sending, then ``sending`` (see the module rules)."""
        now = self._now()
        current = storage.send(send.id)
        if current is None or current.status != "claimed" or current.claimed_by != self.worker:
            return False  # taken back (lease ran out) or cancelled meanwhile
        row = campaign_row(storage, send.campaign_id, send.org_id)
        snapshot = row.snapshot if row is not None else {}
        status = snapshot.get("status")

        def settle(**changes: Any) -> bool:
            changes.setdefault("claimed_by", None)
            changes.setdefault("lease_until_ms", None)
            storage.update_send(send.id, at_ms=now, **changes)
            return False

        fields = storage.contact(send.org_id, send.contact) or {}
        reason = suppression_reason(fields, storage.suppressions(send.org_id, send.contact))
        if reason is not None:
            self.stats["held"] += 1
            return settle(status="suppressed", reason=reason)
        if status == "archived" or row is None:
            return settle(status="cancelled", reason="campaign_archived")
        if status != "active":  # paused (or held as a draft): waits for the resume
            return settle(status="queued", due_ms=None)
        try:
            quiet = parse_quiet_hours(snapshot.get("quiet_hours"))
            cap = parse_frequency_cap(snapshot.get("frequency_cap"))
        except ValueError:
            quiet, cap = None, None  # the rules keep running campaigns well formed
        allowed = next_allowed_ms(quiet, contact_zone(fields, self._rounds.default_tz), now)
        if allowed > now:
            return settle(status="queued", due_ms=allowed)
        if cap is not None:
            sent = storage.sent_times(send.org_id, send.contact, since_ms=now - cap.per_s * 1000)
            if capped_by([cap], sent, now_ms=now) is not None:
                return settle(status="skipped", reason="frequency_capped", raw=None)
        storage.update_send(
            send.id,
            at_ms=now,
            status="sending",
            message_id=message_id,
            links=links,
            raw=raw,
            attempts=current.attempts + 1,
            lease_until_ms=now + self.lease_ms,
        )
        return True

    def _fail(self, storage: Storage, seq: int, *, send: SendRow, problem: str) -> None:
        """A message that cannot be built (a template, an address): failed, not retried."""
        now = self._now()
        log.warning("send %s failed: %s", send.id, problem)
        self.stats["failed"] += 1
        code = problem.split(":", 1)[0]
        _audit(storage, send, action="send", outcome=f"refused:{code}", detail=problem, at_ms=now)
        storage.update_send(
            send.id,
            at_ms=now,
            status="failed",
            reason=problem[:500],
            claimed_by=None,
            lease_until_ms=None,
        )

    def _record(
        self,
        storage: Storage,
        seq: int,
        *,
        send: SendRow,
        message_id: str | None,
        result: SendResult,
    ) -> Outcome[SendStatus] | SendStatus:
        now = self._now()
        events: list[list[Any]] = []
        done = {"claimed_by": None, "lease_until_ms": None, "smtp_code": result.code}
        if result.status == SendStatus.SENT:
            self.stats["sent"] += 1
            storage.update_send(send.id, at_ms=now, status="sent", sent_at_ms=now, raw=None, **done)
            events.append(
                records.send_event(
                    send_key=send.key,
                    send_id=send.id,
                    campaign_id=send.campaign_id,
                    contact=send.contact,
                    step=send.step_index,
                    variant=send.variant,
                    message_id=message_id or "",
                    created_ms=send.created_at_ms,
                    at_ms=now,
                )
            )
        elif result.status == SendStatus.BOUNCED:
            self.stats["bounced"] += 1
            storage.update_send(
                send.id, at_ms=now, status="bounced", reason=result.detail[:500], raw=None, **done
            )
            events.append(self._bounce(send, hard=True, code=result.code, at_ms=now))
            self._rounds.stop_contact(storage, send.org_id, send.contact, "bounced", now, "smtp")
        elif result.status == SendStatus.DEFERRED:
            self.stats["deferred"] += 1
            current = storage.send(send.id)
            attempts = current.attempts if current is not None else send.attempts + 1
            if attempts >= MAX_DEFERRALS:
                storage.update_send(
                    send.id, at_ms=now, status="failed", reason=result.detail[:500], **done
                )
                events.append(self._bounce(send, hard=False, code=result.code, at_ms=now))
            else:
                wait = DEFERRAL_WAITS_S[min(attempts, len(DEFERRAL_WAITS_S)) - 1]
                storage.update_send(
                    send.id,
                    at_ms=now,
                    status="queued",
                    due_ms=now + wait * 1000,
                    reason=result.detail[:500],
                    **done,
                )
        else:  # FAILED: the org's settings, not the contact: back to the queue, the lane rests
            self.stats["failed"] += 1
            _audit(
                storage,
                send,
                action="smtp",
                outcome="refused:smtp_refused_settings",
                detail=f"{result.code or ''} {result.detail}".strip(),
                at_ms=now,
            )
            log.warning(
                "org %s: SMTP refused its settings (%s %s); its queue rests %s s",
                send.org_id,
                result.code,
                result.detail,
                SETTINGS_PAUSE_S,
            )
            storage.update_send(
                send.id, at_ms=now, status="queued", reason=result.detail[:500], **done
            )
        if not events:
            return result.status
        stored, duplicates = storage.insert_events(
            org_id=send.org_id,
            device_id=self._rounds.device_id(storage),
            events=events,
            priority=1,
            commit_seq=seq,
        )
        declared = tuple(events) if not duplicates else None
        return Outcome(result.status, Changes(send.org_id, events=declared))

    def _bounce(self, send: SendRow, *, hard: bool, code: int | None, at_ms: int) -> list[Any]:
        return records.bounce_event(
            send_id=send.id,
            campaign_id=send.campaign_id,
            contact=send.contact,
            hard=hard,
            code=code,
            created_ms=send.created_at_ms,
            at_ms=at_ms,
        )


def _audit(
    storage: Storage, send: SendRow, *, action: str, outcome: str, detail: str, at_ms: int
) -> None:
    """What an admin must see in the org's audit log: a message that could not be built, a
    mail server that refused the org's settings (never a password: settings are not logged)."""
    storage.audit(
        org_id=send.org_id,
        user_id=None,
        email=None,
        device_id=None,
        action=f"automation_{action}",
        target=send.campaign_id,
        outcome=outcome,
        detail={"send": send.id, "contact": send.contact, "problem": detail[:500]},
        at_ms=at_ms,
    )


async def send_test(
    smtp: OrgSmtp,
    *,
    to: str,
    variant: dict[str, Any],
    fields: dict[str, Any],
    key: str,
    now_ms: int,
    timeout_s: float = 30.0,
    sender_factory: Callable[..., SmtpSender] = SmtpSender,
) -> tuple[str, SendResult]:
    """A test send from the app: the variant rendered for ``fields``, untracked, through the
    org's server on a connection of its own; (Message-ID, result). Raises DeliveryError for a
    template or an address that cannot be used."""
    content = render_variant(variant, fields, fallbacks=DEFAULT_FALLBACKS)
    built = build_message(
        sender=smtp.from_address,
        recipient=to,
        content=content,
        idempotency_key=key,
        tracking=None,
        date_ms=now_ms,
    )
    settings = replace(smtp.settings, timeout_s=min(smtp.settings.timeout_s, timeout_s))
    async with sender_factory(settings, retry=RetryPolicy(attempts=1)) as sender:
        return built.message_id, await sender.send(built)
