"""The automation engine as the app and the CLI see it: a campaign's run view (from the server,
or the last known figures when offline), email previews and test sends, the organisation's
SMTP settings, and status changes that report the server's verdict.

Campaigns run on the server; this module only asks it (the HTTP API, JSON, bearer token) and
keeps the last run view of each campaign in the replica (``client.store.run_views``). No Qt.

Invariants:
* a run view shown offline always carries the time its figures are as of (``as_of_ms``) and
  ``live: False``; a live one is cached before it is returned;
* a status change is written locally first (like every edit, it is queued and never lost);
  whether the campaign may run is the server's decision, read back from the synced document's
  ``hold`` (docs/campaigns.md), never guessed here.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shared.protocol import campaign_rules as rules

from . import journey_edits
from .store import InvalidInput, run_view, save_run_view
from .sync import NotLoggedIn, OfflineError, ServerUnreachable, SyncError

if TYPE_CHECKING:
    from .sync import SyncEngine

#: figures of each step of a run view, in the order the app and the CLI show them
STEP_METRICS = (
    "enrolled",
    "waiting",
    "sent",
    "opened",
    "clicked",
    "converted",
    "held_out",
    "bounced",
    "suppressed",
)
#: figures of the whole campaign
TOTAL_METRICS = (*STEP_METRICS, "exited")
VARIANT_METRICS = ("sent", "opened", "clicked", "converted")
#: a tested variant's live allocation, each a share or probability in [0, 1]
ALLOCATION_FIGURES = ("share", "p_best", "mean", "low", "high")
SECURITY = ("starttls", "tls", "none")


class AutomationError(Exception):
    """A request about a running campaign that cannot be answered as asked."""

    code = "automation_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NoFigures(AutomationError):
    code = "no_figures"


class CampaignHeld(AutomationError):
    """The server kept the campaign a draft instead of the status asked for."""

    code = rules.CAMPAIGN_INVALID

    def __init__(self, message: str, result: dict[str, Any]) -> None:
        super().__init__(message)
        self.result = result


class SendRefused(AutomationError):
    code = "send_refused"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def normalise_run_view(data: Any) -> dict[str, Any]:
    """The server's run view with every figure present as an int (0 when absent), so views and
    formatters never meet a missing key; anything that is not a run view is refused."""
    if not isinstance(data, dict) or not isinstance(data.get("steps", []), list):
        raise SyncError("the server's run view is not one this version can read")
    steps = []
    for position, raw in enumerate(data.get("steps") or []):
        if not isinstance(raw, dict):
            continue
        step = {
            "index": _count(raw.get("index", position)),
            "kind": str(raw.get("kind") or ""),
            "label": str(raw.get("label") or ""),
        }
        step.update({m: _count(raw.get(m)) for m in STEP_METRICS})
        step["variants"] = [
            {
                "id": str(v.get("id") or ""),
                "subject": str(v.get("subject") or ""),
                **{m: _count(v.get(m)) for m in VARIANT_METRICS},
                **_allocation(v.get("allocation")),
            }
            for v in raw.get("variants") or []
            if isinstance(v, dict)
        ]
        step["test"] = _test(raw.get("test"))
        steps.append(step)
    totals = data.get("totals") if isinstance(data.get("totals"), dict) else {}
    return {
        "campaign_id": str(data.get("campaign_id") or ""),
        "status": str(data.get("status") or ""),
        "as_of_ms": _count(data.get("as_of_ms")),
        "holdout_pct": data.get("holdout_pct") or 0,
        "totals": {m: _count(totals.get(m)) for m in TOTAL_METRICS},
        "steps": steps,
    }


def _share(value: Any) -> float:
    number = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
    return min(max(number, 0.0), 1.0)


def _allocation(data: Any) -> dict[str, Any]:
    """A tested variant's live allocation (share, P(best), the posterior's mean and 90 %
    interval), every figure a number in [0, 1]; nothing for a variant of no test."""
    if not isinstance(data, dict):
        return {}
    return {"allocation": {k: _share(data.get(k)) for k in ALLOCATION_FIGURES}}


def _test(data: Any) -> dict[str, Any] | None:
    """A send step's test of its variants (metric, winner, rounds, last round's time)."""
    if not isinstance(data, dict):
        return None
    winner = data.get("winner")
    return {
        "metric": "conversion" if data.get("metric") == "conversion" else "click",
        "winner": str(winner) if winner else None,
        "rounds": _count(data.get("rounds")),
        "updated_ms": _count(data.get("updated_ms")) or None,
    }


def _path(campaign_id: str, tail: str = "") -> str:
    return f"/api/v1/campaigns/{quote(campaign_id, safe='')}{tail}"


# ---------------------------------------------------------------------- run view


async def fetch_run_view(engine: SyncEngine, campaign_id: str) -> dict[str, Any]:
    """The campaign's run view from the server, cached; offline (or with the server out of
    reach, or no login), the last known figures with ``live: False`` and the reason.

    ``NoFigures`` when offline with nothing cached; the server's refusals (an unknown
    campaign, a role that may not read it) are raised as they are."""
    replica = engine.replica
    campaign = await engine.run_db(replica.campaign, campaign_id)
    try:
        answer = await engine.api("GET", _path(campaign_id, "/run"))
    except (OfflineError, ServerUnreachable, NotLoggedIn) as exc:
        cached = await engine.run_db(run_view, replica, campaign_id)
        if cached is None:
            raise NoFigures(
                f"no figures for {campaign.get('name') or 'this campaign'} on this computer yet "
                f"(they come from the server, and {_reason(exc)})"
            ) from None
        view = normalise_run_view(cached.view)
        view.update(
            live=False,
            as_of_ms=cached.as_of_ms,
            fetched_at_ms=cached.fetched_at_ms,
            offline_reason=_reason(exc),
        )
        return _named(view, campaign)
    view = normalise_run_view(answer)
    fetched = _now_ms()
    as_of = view["as_of_ms"] or fetched
    await engine.run_db(
        lambda: save_run_view(replica, campaign_id, answer, as_of_ms=as_of, fetched_at_ms=fetched)
    )
    view.update(live=True, as_of_ms=as_of, fetched_at_ms=fetched, offline_reason=None)
    return _named(view, campaign)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, NotLoggedIn):
        return "this profile is not logged in to a server"
    if isinstance(exc, OfflineError):
        return "this profile works offline"
    return f"the server cannot be reached ({exc})"


def _named(view: dict[str, Any], campaign: dict[str, Any]) -> dict[str, Any]:
    """Add the campaign's name and words for its steps and variants: this replica's
    description of the step at that place when it is of the same kind (``Send email: Variant
    A: …``), else the server's label without its number; variant letters; and, for a step that
    sends one chosen variant, only that variant's figures."""
    from .step_text import STEP_TITLES, numbered_steps

    view["name"] = campaign.get("name") or "Untitled campaign"
    local = numbered_steps(campaign)
    labels = {v.get("id"): v.get("label") for v in campaign.get("variants") or []}
    for step in view["steps"]:
        mine = local[step["index"]] if 0 <= step["index"] < len(local) else None
        if mine is not None and mine["kind"] == step["kind"]:
            step["label"] = mine["label"]
            chosen = mine["config"].get("variant", "auto")
            if step["kind"] == "send_email" and chosen != "auto":
                step["variants"] = [v for v in step["variants"] if v["id"] == chosen]
        else:
            server_words = re.sub(r"^\s*\d+\.\s*", "", step["label"])
            step["label"] = server_words or STEP_TITLES.get(step["kind"], step["kind"] or "Step")
        for variant in step["variants"]:
            variant["label"] = labels.get(variant["id"]) or ""
    return view


# ---------------------------------------------------------------------- preview, test send


def _content_body(campaign: dict[str, Any], variant: str | None, contact: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if variant:
        body["variant"] = journey_edits.variant_id_of(campaign, variant)
    if contact is not None:
        if not isinstance(contact, dict):
            raise InvalidInput(
                'the contact is a JSON object of personalisation fields, e.g. {"first_name": "Ella"}'
            )
        body["contact"] = contact
    return body


async def preview(
    engine: SyncEngine, campaign_id: str, *, variant: str | None = None, contact: Any = None
) -> dict[str, Any]:
    """The email as a contact would get it, rendered by the server's template sandbox:
    ``{"subject", "text", "html"}``. ``variant``: a label (``A``) or id; ``contact``: the
    personalisation fields (``{"first_name": "Ella", "email": …}``)."""
    campaign = await engine.run_db(engine.replica.campaign, campaign_id)
    body = _content_body(campaign, variant, contact)
    answer = await engine.api("POST", _path(campaign_id, "/preview"), body)
    if not isinstance(answer, dict):
        raise SyncError("the server's preview is not one this version can read")
    return {
        "campaign": campaign.get("name") or "Untitled campaign",
        "variant": _variant_label(campaign, body.get("variant")),
        "subject": str(answer.get("subject") or ""),
        "text": str(answer.get("text") or ""),
        "html": str(answer.get("html") or ""),
    }


def _variant_label(campaign: dict[str, Any], variant_id: str | None) -> str | None:
    for v in campaign.get("variants") or []:
        if v.get("id") == variant_id:
            return v.get("label")
    return None


def check_address(to: str) -> str:
    """A plausible single email address (the mail server has the last word)."""
    to = to.strip()
    local, _, domain = to.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in to) or "," in to:
        raise InvalidInput(f"{to!r} is not an email address")
    return to


async def send_test_email(
    engine: SyncEngine,
    campaign_id: str,
    *,
    to: str,
    variant: str | None = None,
    contact: Any = None,
) -> dict[str, Any]:
    """Send the campaign's email once to ``to`` through the org's SMTP server (admins and
    marketers). ``SendRefused`` with the mail server's code when it was not accepted."""
    campaign = await engine.run_db(engine.replica.campaign, campaign_id)
    body = {"to": check_address(to), **_content_body(campaign, variant, contact)}
    answer = await engine.api("POST", _path(campaign_id, "/test-send"), body)
    if not isinstance(answer, dict):
        raise SyncError("the server's answer to a test send is not one this version can read")
    if not answer.get("accepted"):
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        raise SendRefused(
            f"the test email to {body['to']} was not accepted: "
            f"{error.get('message') or 'the mail server refused it'}",
            error.get("code") or SendRefused.code,
        )
    return {
        "campaign": campaign.get("name") or "Untitled campaign",
        "to": body["to"],
        "variant": _variant_label(campaign, body.get("variant")),
        "accepted": True,
        "message_id": answer.get("message_id"),
    }


# ---------------------------------------------------------------------- SMTP settings


async def smtp_settings(engine: SyncEngine) -> dict[str, Any]:
    """The org's SMTP settings (admins): ``configured: False`` when there are none; the
    password itself never leaves the server (``password_set``)."""
    answer = await engine.api("GET", "/api/v1/smtp")
    if not isinstance(answer, dict):
        raise SyncError("the server's SMTP settings are not ones this version can read")
    if answer.get("configured") is False:
        return {"configured": False}
    return {"configured": True, **answer}


def smtp_body(
    *,
    host: str,
    port: int,
    security: str,
    user: str | None,
    password: str | None,
    sender: str,
) -> dict[str, Any]:
    """The body of ``PUT /api/v1/smtp``, checked: a password of None keeps the current one."""
    host = host.strip()
    if not host or any(c.isspace() for c in host):
        raise InvalidInput("the SMTP host is a name or an address, e.g. smtp.example.com")
    if not 1 <= int(port) <= 65535:
        raise InvalidInput("the SMTP port is a number from 1 to 65535 (usually 587 or 465)")
    if security not in SECURITY:
        raise InvalidInput(f"security is one of {', '.join(SECURITY)}")
    body: dict[str, Any] = {
        "host": host,
        "port": int(port),
        "security": security,
        "user": (user or "").strip(),
        "from": _sender(sender),
    }
    if password is not None:
        body["password"] = password
    return body


def _sender(text: str) -> str:
    """``hello@venue.test`` or ``Venue Team <hello@venue.test>``, as typed."""
    from email.utils import parseaddr

    text = text.strip()
    name, address = parseaddr(text)
    if not address or (not name and address != text.strip("<>")):
        raise InvalidInput(f"send as {text!r}: an address, or a name and <address>")
    check_address(address)
    return text


async def save_smtp_settings(engine: SyncEngine, body: dict[str, Any]) -> dict[str, Any]:
    await engine.api("PUT", "/api/v1/smtp", body)
    return await smtp_settings(engine)


async def smtp_test(engine: SyncEngine, to: str) -> dict[str, Any]:
    """Send a test message through the saved settings; ``SendRefused`` when not accepted."""
    to = check_address(to)
    answer = await engine.api("POST", "/api/v1/smtp/test", {"to": to})
    if not isinstance(answer, dict) or not answer.get("accepted"):
        error = answer.get("error") if isinstance(answer, dict) else None
        error = error if isinstance(error, dict) else {}
        raise SendRefused(
            f"the test message to {to} was not accepted: "
            f"{error.get('message') or 'the mail server refused it'}",
            error.get("code") or SendRefused.code,
        )
    return {"to": to, "accepted": True}


# ---------------------------------------------------------------------- status


async def change_status(engine: SyncEngine, campaign_id: str, status: str) -> dict[str, Any]:
    """Set the campaign's status here (queued like any edit), sync when online, and report
    what the server decided: ``status`` as it now stands, ``synced``, ``queued`` (not sent yet,
    with ``reason``), and ``held`` with the server's ``problems`` when it kept the campaign a
    draft. Offline, ``problems`` lists what the campaign rules say the server will refuse.

    ``CampaignHeld`` (code ``campaign_invalid``) when the server refused the status."""
    replica = engine.replica
    previous = await engine.run_db(journey_edits.set_status, replica, campaign_id, status)
    result: dict[str, Any] = {"id": campaign_id, "requested": status, "previous": previous}
    offline = await engine.run_db(lambda: replica.offline)
    reason = None
    if offline:
        reason = "this profile works offline"
    else:
        try:
            await engine.sync_once()
        except NotLoggedIn:
            reason = "this profile is not logged in to a server"
        except SyncError as exc:
            reason = str(exc)
    campaign = await engine.run_db(replica.campaign, campaign_id)
    result.update(
        name=campaign.get("name") or "Untitled campaign",
        status=campaign.get("status") or "draft",
        synced=reason is None,
        queued=reason is not None,
        reason=reason,
        held=False,
        problems=[],
        conflicts=len(campaign.get("open_conflicts") or {}),
    )
    hold = campaign.get("hold")
    if reason is None and hold and result["status"] != status:
        result.update(held=True, problems=list(hold.get("problems") or []))
        reasons = "; ".join(p["message"] for p in result["problems"]) or "no reason given"
        raise CampaignHeld(
            f"the server kept {result['name']!r} a {result['status']}, not {status}: {reasons}",
            result,
        )
    if reason is not None and status in rules.RUNNING_STATUSES:
        result["problems"] = [p.to_dict() for p in rules.launch_problems(campaign)]
    return result
