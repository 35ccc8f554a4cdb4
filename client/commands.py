"""`wedsync client …`: the headless client commands, for scripts and testers.

``client.cli`` declares their arguments; each handler here returns JSON-ready data, which the
console script (``wedsync.cli``) prints (``--json``) or formats.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import TYPE_CHECKING, Any

from shared.protocol.errors import ProtocolError
from shared.protocol.events import ms_from_iso

from .human import event_line, note_lines, status_lines, sync_line
from .store import InvalidInput, NotFound, Replica

if TYPE_CHECKING:  # the sync engine (aiohttp) and the keyring load only for commands that talk
    from .sync import SyncEngine

EVENT_FIELDS = {
    "id",
    "kind",
    "contact",
    "campaign",
    "channel",
    "value_cents",
    "occurred_at",
    "payload",
}


def report_roi(args: argparse.Namespace) -> dict[str, Any]:
    """The ROI report from the server this profile is logged in to; when it cannot be reached,
    the last one this profile received for the same window, with the events captured here that
    it does not count yet (``snapshot``: live or not, as of when, why, what is pending)."""
    from .reports import Period, fetch_snapshot, period

    kind = getattr(args, "period", None)
    if kind:
        chosen = period(kind)
    else:
        from_ms, to_ms = _occurred(args.from_), _occurred(args.to)
        chosen = Period("custom" if from_ms or to_ms else "all", from_ms, to_ms)
    snap = _run(_engine(args), lambda e: fetch_snapshot(e, chosen, with_previous=False))
    return {**snap.report, "snapshot": snap.describe()}


def campaign_show(args: argparse.Namespace) -> dict[str, Any]:
    return _replica(args).campaign(args.id)


def campaign_list(args: argparse.Namespace) -> dict[str, Any]:
    return {"campaigns": _replica(args).campaigns()}


def conflicts_list(args: argparse.Namespace) -> Any:
    return _api(args, "GET", f"/api/v1/conflicts?status={args.status}")


def conflicts_show(args: argparse.Namespace) -> Any:
    return _api(args, "GET", f"/api/v1/conflicts/{args.id}")


def audit(args: argparse.Namespace) -> Any:
    return _api(args, "GET", f"/api/v1/audit?limit={args.limit}")


def status(args: argparse.Namespace) -> dict[str, Any]:
    return _replica(args).status()


status.human = status_lines  # type: ignore[attr-defined]


def _replica(args: argparse.Namespace) -> Replica:
    return Replica(args.profile)


def _engine(args: argparse.Namespace) -> SyncEngine:
    from pathlib import Path

    from .credentials import KeyringTokens
    from .sync import SyncEngine

    replica = _replica(args)
    given = getattr(args, "ca_file", None)
    ca_file = str(Path(given).resolve()) if given else replica.get_setting("tls_ca_file")
    return SyncEngine(replica, tokens=KeyringTokens(), ca_file=ca_file)


def _run(engine: SyncEngine, coro_fn) -> Any:
    import asyncio

    async def main() -> Any:
        try:
            return await coro_fn(engine)
        finally:
            await engine.close()

    return asyncio.run(main())


def _api(args: argparse.Namespace, method: str, path: str, body: dict | None = None) -> Any:
    return _run(_engine(args), lambda e: e.api(method, path, body))


def conflicts_resolve(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {"comment": args.comment}
    if args.candidate is not None:
        body["candidate"] = args.candidate
    else:
        try:
            body["value"] = json.loads(args.value)
        except json.JSONDecodeError:
            body["value"] = args.value  # plain text
    from .sync import SyncError

    result = _api(args, "POST", f"/api/v1/conflicts/{args.id}/resolve", body)
    try:  # bring the resolution into this replica straight away; the next sync would anyway
        _run(_engine(args), lambda e: _sync(e))
        result["synced"] = True
    except SyncError as exc:
        result["synced"] = False
        result["sync_error"] = str(exc)
    return result


def login(args: argparse.Namespace) -> dict[str, Any]:
    import socket

    name = args.device_name or socket.gethostname()
    return _run(_engine(args), lambda e: e.login(args.server, args.email, args.password, name))


def logout(args: argparse.Namespace) -> dict[str, Any]:
    """Revoke the token on the server, then forget it here (even when the server cannot be
    reached: ``revoked_on_server`` says which)."""
    revoked = _run(_engine(args), lambda e: e.logout())
    return {"logged_out": True, "revoked_on_server": revoked}


def rotate_token(args: argparse.Namespace) -> dict[str, Any]:
    """A new device token in place of the current one; the queue and the device stay."""
    _run(_engine(args), lambda e: e.rotate_token())
    return {"rotated": True}


def offline(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    replica.set_offline(args.state == "on")
    return {"work_offline": replica.offline}


def tester(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    replica.set_setting("tester_mode", "1" if args.state == "on" else None)
    return {"tester_mode": args.state == "on"}


def campaign_create(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    campaign_id, _ = replica.create_campaign(
        name=args.name, campaign_type=args.type, owner=replica.get_setting("user_email")
    )
    return {"id": campaign_id}


def campaign_set(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    if args.field == "notes":
        raise InvalidInput(
            "notes are separate entries, one per note: add one with "
            f"`wedsync client --profile {args.profile} campaign note {args.id} TEXT`"
        )
    replica.set_campaign_field(args.id, args.field, args.value)
    return replica.campaign(args.id)


def campaign_note(args: argparse.Namespace) -> dict[str, Any]:
    """Add a note; prints the campaign's notes, oldest first."""
    replica = _replica(args)
    replica.add_campaign_note(args.id, args.text)
    return {"id": args.id, "notes": replica.campaign(args.id)["notes"]}


campaign_note.human = lambda result: note_lines(result["notes"])  # type: ignore[attr-defined]


def _payload(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"payload is not JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise InvalidInput("payload must be a JSON object")
    return raw


def _occurred(raw: Any) -> int | None:
    if raw is None:
        return None
    try:
        return ms_from_iso(raw) if isinstance(raw, str) else None
    except ProtocolError as exc:
        raise InvalidInput(exc.message) from None


def event_add(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    result = replica.capture(
        kind=args.kind,
        contact=args.contact,
        campaign=args.campaign,
        channel=args.channel,
        value_cents=args.value_cents,
        occurred_at_ms=_occurred(args.occurred_at),
        payload=_payload(args.payload),
    )
    event = result.events[0].to_dict()
    if args.campaign:  # named for people when this profile knows the campaign
        with contextlib.suppress(NotFound):
            event["campaign_name"] = replica.campaign(args.campaign).get("name")
    return event


event_add.human = event_line  # type: ignore[attr-defined]


def event_import(args: argparse.Namespace) -> dict[str, Any]:
    """Validate every line first; store all of them in one transaction or none."""
    replica = _replica(args)
    try:
        lines = args.file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput(f"cannot read {args.file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{args.file} is not UTF-8 text") from None
    events = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{args.file}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise InvalidInput(f"{args.file}:{number}: each line must be a JSON object")
        unknown = set(obj) - EVENT_FIELDS
        if unknown:
            raise InvalidInput(
                f"{args.file}:{number}: unknown field(s) {', '.join(sorted(unknown))}"
            )
        if "kind" not in obj:
            raise InvalidInput(f"{args.file}:{number}: 'kind' is required")
        try:
            events.append(
                replica.make_event(
                    kind=obj["kind"],
                    contact=obj.get("contact"),
                    campaign=obj.get("campaign"),
                    channel=obj.get("channel"),
                    value_cents=obj.get("value_cents"),
                    occurred_at_ms=_occurred(obj.get("occurred_at")),
                    payload=_payload(obj.get("payload")),
                    event_id=obj.get("id"),
                )
            )
        except InvalidInput as exc:
            raise InvalidInput(f"{args.file}:{number}: {exc}") from None
    result = replica.capture_many(events)
    return {
        "imported": result.changes.events,
        "already_present": len(events) - result.changes.events,
    }


def sync(args: argparse.Namespace) -> dict[str, Any]:
    if not 1 <= args.batch_size <= 5000:
        raise InvalidInput("--batch-size must be between 1 and 5000")
    engine = _engine(args)
    engine.batch_size = args.batch_size
    return _run(engine, lambda e: _sync(e))


def _sync_sentence(report: dict[str, Any]) -> str:
    text = sync_line(report)
    return text[:1].upper() + text[1:]


sync.human = _sync_sentence  # type: ignore[attr-defined]


async def _sync(engine: SyncEngine) -> dict[str, Any]:
    return (await engine.sync_once()).to_dict()
