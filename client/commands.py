"""`wedsync client …`: the headless client commands, for scripts and testers.

Each handler returns JSON-ready data; ``client.cli`` prints it (``--json``) or formats it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
from pathlib import Path
from typing import Any

from shared.protocol.errors import ProtocolError
from shared.protocol.events import ms_from_iso

from .credentials import KeyringTokens, account_for
from .store import InvalidInput, Replica
from .sync import SyncEngine, SyncError

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


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    c = sub.add_parser("client", help="the headless client (one profile = one local replica)")
    c.add_argument("--profile", type=Path, required=True, help="profile directory (created if new)")
    csub = c.add_subparsers(dest="client_command", required=True, metavar="COMMAND")

    p = csub.add_parser(
        "login", parents=[common], help="log in; the device token goes to the keyring"
    )
    p.add_argument("--server", required=True, help="server URL, e.g. http://127.0.0.1:8765")
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--device-name", default=socket.gethostname())
    p.set_defaults(handler=login)

    p = csub.add_parser("logout", parents=[common], help="forget this profile's device token")
    p.set_defaults(handler=logout)

    p = csub.add_parser("offline", parents=[common], help="work offline (queue everything) or not")
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(handler=offline)

    camp = csub.add_parser("campaign", help="create, edit and read campaigns")
    csub2 = camp.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    p = csub2.add_parser("create", parents=[common])
    p.add_argument("--name", required=True)
    p.add_argument("--type", default="nurture")
    p.set_defaults(handler=campaign_create)
    p = csub2.add_parser(
        "set", parents=[common], help="set one field (text fields merge by character)"
    )
    p.add_argument("id")
    p.add_argument("field")
    p.add_argument("value")
    p.set_defaults(handler=campaign_set)
    p = csub2.add_parser("show", parents=[common])
    p.add_argument("id")
    p.set_defaults(handler=lambda a: _replica(a).campaign(a.id))
    p = csub2.add_parser("list", parents=[common])
    p.set_defaults(handler=lambda a: {"campaigns": _replica(a).campaigns()})

    ev = csub.add_parser("event", help="capture engagement")
    esub = ev.add_subparsers(dest="event_command", required=True, metavar="ACTION")
    p = esub.add_parser("add", parents=[common])
    p.add_argument("--kind", required=True)
    p.add_argument("--contact")
    p.add_argument("--campaign")
    p.add_argument("--channel")
    p.add_argument("--value-cents", type=int)
    p.add_argument("--occurred-at", help="ISO-8601 time (default: now)")
    p.add_argument("--payload", help="JSON object with extra fields")
    p.set_defaults(handler=event_add)
    p = esub.add_parser("import", parents=[common], help="import a JSONL file (all or nothing)")
    p.add_argument("file", type=Path)
    p.set_defaults(handler=event_import)

    con = csub.add_parser("conflicts", help="campaign conflicts flagged by the server")
    consub = con.add_subparsers(dest="conflicts_command", required=True, metavar="ACTION")
    p = consub.add_parser("list", parents=[common])
    p.add_argument("--status", choices=("open", "resolved", "all"), default="open")
    p.set_defaults(handler=lambda a: _api(a, "GET", f"/api/v1/conflicts?status={a.status}"))
    p = consub.add_parser("show", parents=[common])
    p.add_argument("id")
    p.set_defaults(handler=lambda a: _api(a, "GET", f"/api/v1/conflicts/{a.id}"))
    p = consub.add_parser("resolve", parents=[common], help="admins: pick a candidate or a value")
    p.add_argument("id")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--candidate", type=int, help="index of the candidate to keep")
    choice.add_argument("--value", help="a value of your own (JSON for structured fields)")
    p.add_argument("--comment")
    p.set_defaults(handler=conflicts_resolve)

    p = csub.add_parser("audit", parents=[common], help="admins: resolutions and refused attempts")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(handler=lambda a: _api(a, "GET", f"/api/v1/audit?limit={a.limit}"))

    p = csub.add_parser("sync", parents=[common], help="push the queue by priority, pull campaigns")
    p.add_argument("--batch-size", type=int, default=1000, help="events per frame (1..5000)")
    p.set_defaults(handler=sync)
    p = csub.add_parser(
        "status", parents=[common], help="online/offline, queue per class, last sync"
    )
    p.set_defaults(handler=lambda a: _replica(a).status())


def register_reports(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    r = sub.add_parser("report", help="business-intelligence reports")
    rsub = r.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    p = rsub.add_parser(
        "roi",
        parents=[common],
        help="the ROI report (attribution, viral, LTV/CAC, predictions, recommendations)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--profile", type=Path, help="ask the server this profile is logged in to")
    where.add_argument("--data-dir", type=Path, help="read a server's data directory directly")
    p.add_argument("--org", default="Demo Weddings", help="with --data-dir: the organisation")
    p.add_argument("--from", dest="from_", metavar="ISO", help="start of the window")
    p.add_argument("--to", metavar="ISO", help="end of the window (exclusive)")
    p.set_defaults(handler=report_roi)


def report_roi(args: argparse.Namespace) -> dict[str, Any]:
    from_ms, to_ms = _occurred(args.from_), _occurred(args.to)
    if args.profile is not None:
        query = "&".join(f"{k}={v}" for k, v in (("from", from_ms), ("to", to_ms)) if v is not None)
        return _run(_engine(args), lambda e: e.api("GET", "/api/v1/reports/roi?" + query))
    from server.reports import ReportService  # reading a server's files: the server's code
    from server.storage import SQLiteStorage

    storage = SQLiteStorage(args.data_dir)
    org = storage.db.execute("SELECT id FROM orgs WHERE name = ?", (args.org,)).fetchone()
    if org is None:
        storage.close()
        raise InvalidInput(f"no organisation {args.org!r} in {args.data_dir}")
    service = ReportService(storage)
    try:
        return service.roi_sync(org[0], from_ms, to_ms)
    finally:
        service.close()


def _replica(args: argparse.Namespace) -> Replica:
    return Replica(args.profile)


def _engine(args: argparse.Namespace) -> SyncEngine:
    return SyncEngine(_replica(args), tokens=KeyringTokens())


def _run(engine: SyncEngine, coro_fn) -> Any:
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
    result = _api(args, "POST", f"/api/v1/conflicts/{args.id}/resolve", body)
    try:  # bring the resolution into this replica straight away; the next sync would anyway
        _run(_engine(args), lambda e: _sync(e))
        result["synced"] = True
    except SyncError as exc:
        result["synced"] = False
        result["sync_error"] = str(exc)
    return result


def login(args: argparse.Namespace) -> dict[str, Any]:
    return _run(
        _engine(args), lambda e: e.login(args.server, args.email, args.password, args.device_name)
    )


def logout(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    KeyringTokens().delete(account_for(replica.device_id))
    replica.set_setting("user_email", None)
    return {"logged_out": True}


def offline(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    replica.set_offline(args.state == "on")
    return {"online": not replica.offline}


def campaign_create(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    campaign_id, _ = replica.create_campaign(
        name=args.name, campaign_type=args.type, owner=replica.get_setting("user_email")
    )
    return {"id": campaign_id}


def campaign_set(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    replica.set_campaign_field(args.id, args.field, args.value)
    return replica.campaign(args.id)


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
    return result.events[0].to_dict()


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


async def _sync(engine: SyncEngine) -> dict[str, Any]:
    return (await engine.sync_once()).to_dict()
