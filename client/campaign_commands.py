"""`wedsync client campaign …` for building and running campaigns from a script: trigger and
audience, steps, variants, status, the run view, previews and test sends.

``client.cli`` declares the arguments. Each handler returns JSON-ready data (``--json``) and has
a ``human`` form that names campaigns, steps and variants in words, not by id. Edits are checked
with the campaign rules before they are written (``client.journey_edits``); what talks to the
server (``client.automation``) loads aiohttp only when it runs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.protocol.campaign_rules import RULE_OPS

from . import journey_edits
from .human import local_time, percent
from .step_text import describe_trigger, numbered_steps, variant_name
from .store import InvalidInput, Replica

if TYPE_CHECKING:
    from .sync import SyncEngine


def _replica(args: argparse.Namespace) -> Replica:
    return Replica(args.profile)


def _with_engine(args: argparse.Namespace, work: Callable[[SyncEngine], Awaitable[Any]]) -> Any:
    """Run ``work(engine)`` for this profile, closing the engine and the replica after."""
    import asyncio

    from .credentials import KeyringTokens
    from .sync import SyncEngine

    replica = _replica(args)
    engine = SyncEngine(replica, tokens=KeyringTokens())

    async def main() -> Any:
        try:
            return await work(engine)
        finally:
            await engine.close()

    try:
        return asyncio.run(main())
    finally:
        replica.close()


def _contact(raw: str | None) -> Any:
    return None if raw is None else journey_edits.parse_json(raw, "--contact")


# ---------------------------------------------------------------------- the campaign in words


def _overview(campaign: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": campaign["id"],
        "name": campaign.get("name") or "Untitled campaign",
        "status": campaign.get("status") or "draft",
        "trigger": campaign.get("trigger"),
        "audience_segment": campaign.get("audience_segment"),
        "steps": numbered_steps(campaign),
        "variants": [
            {k: v.get(k) for k in ("id", "label", "subject")}
            for v in campaign.get("variants") or []
        ],
        "hold": campaign.get("hold"),
    }


def _audience_words(audience: Any) -> str:
    if isinstance(audience, str):
        return f"the segment {audience!r}"
    if isinstance(audience, dict):
        rules = audience.get("rules") or []
        if not rules:
            return "everyone"
        joined = " and " if audience.get("match", "all") == "all" else " or "
        return joined.join(
            f"{r.get('field')} {RULE_OPS.get(r.get('op'), r.get('op'))} {r.get('value')!r}"
            for r in rules
            if isinstance(r, dict)
        )
    return "not set"


def step_lines(steps: list[dict[str, Any]]) -> str:
    if not steps:
        return "no steps yet"
    return "\n".join(f"{s['number']}. {s['label']}" for s in steps)


def overview_lines(result: dict[str, Any]) -> str:
    """A campaign for the terminal: name, status, trigger, audience, steps, variants."""
    lines = [f"{result['name']} ({result['status']})"]
    if result.get("note"):
        lines.append(result["note"])
    lines.append(f"Trigger   {describe_trigger(result.get('trigger'))}")
    lines.append(f"Audience  {_audience_words(result.get('audience_segment'))}")
    lines.append("Steps")
    lines.extend(f"  {line}" for line in step_lines(result["steps"]).splitlines())
    lines.append("Variants")
    variants = result.get("variants") or []
    lines.extend(f"  {variant_name(v)}" for v in variants)
    if not variants:
        lines.append("  none yet")
    hold = result.get("hold")
    if hold:
        lines.append(f"Held as a draft (asked for {hold['status']}):")
        lines.extend(f"  • {p['message']}" for p in hold.get("problems") or [])
    return "\n".join(lines)


# ---------------------------------------------------------------------- edits


def campaign_set(args: argparse.Namespace) -> dict[str, Any]:
    """``set ID FIELD VALUE``: the trigger, the audience and the frequency cap are JSON checked
    with the campaign rules; other fields as before (``client.commands``). Returns the
    campaign."""
    if args.field not in journey_edits.RULE_FIELDS:
        from .commands import campaign_set as set_plain_field

        return set_plain_field(args)
    replica = _replica(args)
    try:
        journey_edits.set_rules_field(replica, args.id, args.field, args.value)
        return replica.campaign(args.id)
    finally:
        replica.close()


campaign_set.human = lambda campaign: overview_lines(_overview(campaign))  # type: ignore[attr-defined]


def step_add(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    try:
        step_id = journey_edits.add_step(replica, args.id, args.kind, args.config, at=args.at)
        result = _overview(replica.campaign(args.id))
    finally:
        replica.close()
    added = next(s for s in result["steps"] if s["id"] == step_id)
    result["added"] = added
    result["note"] = f"Added step {added['number']}: {added['label']}"
    return result


def step_list(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    try:
        return _overview(replica.campaign(args.id))
    finally:
        replica.close()


def step_remove(args: argparse.Namespace) -> dict[str, Any]:
    replica = _replica(args)
    try:
        before = numbered_steps(replica.campaign(args.id))
        removed = journey_edits.remove_step(replica, args.id, args.step)
        result = _overview(replica.campaign(args.id))
    finally:
        replica.close()
    gone = next(s for s in before if s["id"] == removed["id"])
    result["removed"] = gone
    result["note"] = f"Removed step {gone['number']}: {gone['label']}"
    return result


def variant_add(args: argparse.Namespace) -> dict[str, Any]:
    html = None
    if args.html is not None:
        try:
            html = Path(args.html).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read {args.html}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InvalidInput(f"{args.html} is not UTF-8 text") from None
    replica = _replica(args)
    try:
        variant = journey_edits.add_variant(
            replica, args.id, subject=args.subject, body=args.body, html=html
        )
        result = _overview(replica.campaign(args.id))
    finally:
        replica.close()
    result["added"] = {k: variant.get(k) for k in ("id", "label", "subject")}
    result["added"]["html"] = html is not None
    result["note"] = f"Added {variant_name(variant)}" + (" (with an HTML part)" if html else "")
    return result


for _handler in (step_add, step_list, step_remove, variant_add):
    _handler.human = overview_lines  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- status


def _status(args: argparse.Namespace, status: str) -> dict[str, Any]:
    from .automation import change_status

    return _with_engine(args, lambda engine: change_status(engine, args.id, status))


def activate(args: argparse.Namespace) -> dict[str, Any]:
    return _status(args, "active")


def pause(args: argparse.Namespace) -> dict[str, Any]:
    return _status(args, "paused")


def archive(args: argparse.Namespace) -> dict[str, Any]:
    return _status(args, "archived")


def status_lines(result: dict[str, Any]) -> str:
    name, asked = result["name"], result["requested"]
    if result.get("queued"):
        lines = [
            f"{name}: {asked} here, queued: {result['reason']}. "
            "The server decides when this computer syncs."
        ]
        if result.get("problems"):
            lines.append(f"It will keep {name} a draft unless these are fixed:")
            lines.extend(f"  • {p['message']}" for p in result["problems"])
        return "\n".join(lines)
    if result["status"] == asked:
        return f"{name} is {asked} on the server."
    text = f"{name}: asked for {asked}; the server shows it as {result['status']}"
    if result.get("conflicts"):
        text += " (a conflicting change is flagged: see `conflicts list`)"
    return text + "."


for _handler in (activate, pause, archive):
    _handler.human = status_lines  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- run view


def run(args: argparse.Namespace) -> dict[str, Any]:
    from .automation import fetch_run_view

    return _with_engine(args, lambda engine: fetch_run_view(engine, args.id))


def _rate(part: int, whole: int) -> str:
    return percent(part / whole) if whole else "—"


def run_lines(view: dict[str, Any], width: int | None = None) -> str:
    """The run view as a table: the totals, then each step and its variants."""
    from .automation import STEP_METRICS

    when = local_time(view.get("as_of_ms"))
    head = f"{view['name']} ({view.get('status') or 'unknown status'}), figures as of {when}"
    lines = [head]
    if not view.get("live"):
        lines.append(
            f"Last known figures: {view.get('offline_reason') or 'the server was not asked'}; "
            f"received {local_time(view.get('fetched_at_ms'))}."
        )
    if view.get("holdout_pct"):
        lines.append(f"Holdout: {view['holdout_pct']} % of enrolments get no email (the control).")
    totals = view["totals"]
    sent = totals.get("sent", 0)
    lines.append(
        f"Opened {_rate(totals.get('opened', 0), sent)} and clicked "
        f"{_rate(totals.get('clicked', 0), sent)} of emails sent; "
        f"{totals.get('exited', 0):,} enrolments ended."
    )
    headers = [m.replace("_", " ").capitalize() for m in STEP_METRICS]
    rows: list[tuple[str, list[str]]] = [("All steps", [f"{totals[m]:,}" for m in STEP_METRICS])]
    for step in view["steps"]:
        rows.append(
            (f"{step['index'] + 1}. {step['label']}", [f"{step[m]:,}" for m in STEP_METRICS])
        )
        for v in step["variants"]:
            name = f"Variant {v['label']}" if v.get("label") else "Variant"
            cells = ["", "", *(f"{v[m]:,}" for m in ("sent", "opened", "clicked", "converted"))]
            rows.append((f"   {name}: {v['subject']}", cells + ["", "", ""]))
    widths = [max(len(h), *(len(cells[i]) for _, cells in rows)) for i, h in enumerate(headers)]
    numbers = sum(widths) + 2 * len(widths)
    if width is None:  # a terminal's width; written to a file or a pipe, nothing is cut
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 100_000
    columns = width
    label_width = max(30, min(max(len(r[0]) for r in rows), columns - numbers))

    def fit(text: str) -> str:
        return text if len(text) <= label_width else text[: label_width - 1] + "…"

    lines.append("")
    lines.append(
        "".ljust(label_width) + "".join(f"  {h:>{w}}" for h, w in zip(headers, widths, strict=True))
    )
    for label, cells in rows:
        line = fit(label).ljust(label_width) + "".join(
            f"  {c:>{w}}" for c, w in zip(cells, widths, strict=True)
        )
        lines.append(line.rstrip())
    if not view["steps"]:
        lines.append("(no steps have run yet)")
    return "\n".join(lines)


run.human = run_lines  # type: ignore[attr-defined]


# ---------------------------------------------------------------------- preview, test send


def preview(args: argparse.Namespace) -> dict[str, Any]:
    from .automation import preview as render

    contact = _contact(args.contact)
    return _with_engine(
        args, lambda engine: render(engine, args.id, variant=args.variant, contact=contact)
    )


def preview_lines(result: dict[str, Any]) -> str:
    which = f", variant {result['variant']}" if result.get("variant") else ""
    lines = [
        f"{result['campaign']}{which}",
        f"Subject: {result['subject']}",
        "",
        result["text"].rstrip(),
        "",
        f"(HTML part: {len(result['html']):,} characters; --json shows it)",
    ]
    return "\n".join(lines)


preview.human = preview_lines  # type: ignore[attr-defined]


def send_test(args: argparse.Namespace) -> dict[str, Any]:
    from .automation import send_test_email

    contact = _contact(args.contact)
    return _with_engine(
        args,
        lambda engine: send_test_email(
            engine, args.id, to=args.to, variant=args.variant, contact=contact
        ),
    )


def send_test_lines(result: dict[str, Any]) -> str:
    which = f" (variant {result['variant']})" if result.get("variant") else ""
    return (
        f"Sent a test of {result['campaign']}{which} to {result['to']}; "
        f"the mail server accepted it as {result.get('message_id') or 'a message with no id'}."
    )


send_test.human = send_test_lines  # type: ignore[attr-defined]
