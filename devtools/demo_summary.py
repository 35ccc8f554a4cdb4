"""What `wedsync demo` prints: the same facts for a program (``--json``) and for a marketer.

JSON: money in integer cents (keys ending ``_cents``), times in epoch milliseconds (``_ms``),
rates as fractions rounded to four places, priority classes by number as in ``client status``
and ``client sync`` (0 attribution, 1 marketing, 2 contacts, 3 bulk). The text names the
classes and the campaigns, formats money with its currency, rounds rates to percentages and
prints times as local date-times.
"""

from __future__ import annotations

from typing import Any

from client.human import by_class, local_time, money, percent, sync_line

#: the report summary's money, in pounds as the server's report gives it
_POUNDS = (
    "revenue",
    "attributed_revenue",
    "unattributed_revenue",
    "campaign_attributed_revenue",
    "marketing_cost",
    "cac",
)


def summary_for_machines(summary: dict[str, Any]) -> dict[str, Any]:
    """The report summary with money as integer cents (``revenue`` -> ``revenue_cents``) and
    every other fraction rounded to four places."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key in _POUNDS:
            out[f"{key}_cents"] = None if value is None else round(value * 100)
        elif isinstance(value, float):
            out[key] = round(value, 4)
        else:
            out[key] = value
    return out


def top_campaigns(report: dict[str, Any], n: int = 3) -> list[dict[str, Any]]:
    """The ``n`` campaigns with the most attributed revenue, by name."""
    rows = sorted(report.get("campaigns") or [], key=lambda c: -(c.get("revenue") or 0))
    return [
        {
            "name": c.get("name") or "(unnamed)",
            "type": c.get("type"),
            "revenue_cents": round((c.get("revenue") or 0) * 100),
            "roi_ratio": None if c.get("roi_ratio") is None else round(c["roi_ratio"], 2),
            "tier": c.get("tier"),
        }
        for c in rows[:n]
    ]


def _value(field: str, value: Any) -> str:
    return money(value) if field.endswith("_cents") and isinstance(value, int) else str(value)


def _field(field: str) -> str:
    return field.removesuffix("_cents").replace("_", " ")


def human(summary: dict[str, Any]) -> str:
    """The demo's summary in plain words."""
    lines: list[str] = []
    add = lines.append
    add(f"WedSync demo: a local server at {summary['server']}")
    add(f"Data: {summary['data_dir']}")
    seeded = summary["history_seeded"]
    add(
        f"History seeded: {seeded['events']:,} events and {seeded['campaigns']} campaigns, "
        f"{local_time(seeded['from_ms'])} to {local_time(seeded['to_ms'])}"
    )
    add("")
    add("Both laptops offline at the venue, queued:")
    for name, queue in summary["queued_offline"].items():
        add(f"  {name.capitalize():<6} {by_class(queue)}")
    add("Back online, attribution first (conversions and touchpoints), then the rest:")
    for report in summary["syncs"]:
        add(f"  {report['laptop'].capitalize():<6} {sync_line(report)}")
    add("")
    for conflict in summary["conflicts_flagged"]:
        field = conflict["field"]
        values = "; ".join(
            f"{_value(field, c['value'])} by {c['author']}" for c in conflict["candidates"]
        )
        add(
            f"Conflict on “{conflict['campaign']}”: {_field(field)} changed on two laptops that "
            f"had not seen each other's edit: {values}. Meanwhile every replica uses "
            f"{_value(field, conflict['provisional'])} and shows a conflict badge."
        )
    for done in summary["conflicts_resolved"]:
        comment = f" (“{done['comment']}”)" if done.get("comment") else ""
        add(
            f"Resolved by {done['by']}: {_field(done['field'])} "
            f"{_value(done['field'], done['value'])}{comment}; it synced to every laptop."
        )
    merged = summary["campaign_after_merge"]
    add("")
    add(f"“{merged['name']}” after the merge (text merged by character):")
    add(f"  Description   {merged['description']}")
    add(f"  Quiet hours   {merged['quiet_hours'] or 'none'}")
    add(f"  Budget        {money(merged['budget_cents'])}")
    notes = merged.get("notes") or []
    for i, note in enumerate(notes):
        when = local_time(note["at_ms"]) if note.get("at_ms") else "earlier"
        head = "  Notes         " if i == 0 else "                "
        add(f"{head}{note['text']} ({note.get('author') or 'unknown'}, {when})")
    same = "yes" if summary["replicas_identical"] else "NO"
    add(f"Every laptop holds the same bytes for it: {same}")
    add("")
    r = summary["report_summary"]
    add("Return on investment, from the server's report:")
    add(
        f"  Revenue           {money(r.get('revenue_cents'))} "
        f"({money(r.get('attributed_revenue_cents'))} attributed to a channel, "
        f"{money(r.get('unattributed_revenue_cents'))} not)"
    )
    add(f"  From campaigns    {money(r.get('campaign_attributed_revenue_cents'))}")
    add(f"  Marketing cost    {money(r.get('marketing_cost_cents'))}")
    ratio = r.get("total_roi_ratio")
    add(f"  ROI               {'—' if ratio is None else f'{ratio:,.1f}× the cost'}")
    add(
        f"  Conversions       {r.get('conversions', 0):,} "
        f"(conversion rate {percent(r.get('conversion_rate'))})"
    )
    add(f"  New customers     {r.get('new_customers', 0):,} at {money(r.get('cac_cents'))} each")
    viral = r.get("viral_coefficient")
    add(f"  Viral coefficient {'—' if viral is None else f'{viral:.2f}'} (target 1.2)")
    nps = r.get("nps")
    add(f"  NPS               {'no surveys' if nps is None else f'{nps:.0f}'}")
    if summary.get("top_campaigns"):
        add("Campaigns with the most revenue:")
        for c in summary["top_campaigns"]:
            roi = "—" if c["roi_ratio"] is None else f"{c['roi_ratio']:,.1f}×"
            tier = (c.get("tier") or "").replace("_", " ")
            add(f"  {c['name']:<28} {money(c['revenue_cents']):>14}  ROI {roi} ({tier})")
    stats = summary["server_stats"]
    events = stats["events"]
    add("")
    add(
        f"The server holds {events['total']:,} events ({by_class(events['by_class'])}), "
        f"{stats['campaigns']} campaigns, {stats['devices']} devices, {stats['users']} users, "
        f"{stats['conflicts_open']} open conflicts."
    )
    add("--json prints all of this for programs (money in cents, times in epoch ms).")
    return "\n".join(lines)
