"""The ROI report in plain words for a terminal (``wedsync report roi`` without ``--json``).

The report JSON (``shared.analytics.report``) is for programs: revenue in pounds as floats,
times in epoch milliseconds, campaigns by id. People read money with its currency, rates as
percentages against their targets, local date-times and campaigns by name. Targets are the
brief's: ROI above 300 %, campaign conversion rate above 40 %, viral coefficient 1.2.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

from client.human import local_time, percent, pounds

ROI_TARGET_PCT = 300.0
CONVERSION_TARGET = 0.40
VIRAL_HEALTHY, VIRAL_WARNING = 1.2, 1.0
TOP = 10
WIDTH = 96  # a note's lines, wrapped


def report_lines(report: dict[str, Any]) -> str:
    summary = report.get("summary") or {}
    names = {c.get("campaign"): c.get("name") for c in report.get("campaigns") or []}
    lines = [_title(report), ""]
    lines += _table(_summary_rows(summary, report.get("ltv") or {}))
    campaigns = report.get("campaigns") or []
    if campaigns:
        lines += ["", f"Campaigns by return (top {min(TOP, len(campaigns))} of {len(campaigns)})"]
        lines += _table(_campaign_rows(campaigns), indent="  ")
    model = (report.get("attribution") or {}).get("roi_model") or "linear"
    channels = report.get("channels") or []
    if channels:
        lines += ["", f"Channels (credit by the {model.replace('_', ' ')} model)"]
        lines += _table(_channel_rows(channels, model), indent="  ")
    lines += _attribution_notes(report.get("attribution") or {}, model)
    spend = (report.get("costs") or {}).get("spend_entries") or []
    if spend:
        entries = "1 entry" if len(spend) == 1 else f"{len(spend):,} entries"
        lines += ["", f"Spend recorded ({entries})"]
        lines += _table(_spend_rows(spend), indent="  ")
    advice = report.get("recommendations") or []
    if advice:
        lines += ["", "Recommendations"]
        lines += [f"  - {_advice(item, names)}" for item in advice[:TOP]]
    forecast = _forecast(report.get("insights") or {})
    if forecast:
        lines += ["", forecast]
    if report.get("offline"):
        lines += ["", str(report["offline"])]
    return "\n".join(lines)


def _title(report: dict[str, Any]) -> str:
    window = report.get("window") or {}
    start, end = window.get("from_ms"), window.get("to_ms")
    if start and end:
        return f"ROI report, {local_time(start)} to {local_time(end)}"
    return "ROI report"


def _status(value: float | None, healthy: float, warning: float | None = None) -> str:
    if value is None:
        return ""
    if value >= healthy:
        return "on target"
    if warning is not None and value >= warning:
        return "warning"
    return "below target"


def _summary_rows(summary: dict[str, Any], ltv: dict[str, Any]) -> list[tuple[str, str]]:
    roi = summary.get("total_roi_pct")
    rate = summary.get("conversion_rate")
    viral = summary.get("viral_coefficient")
    rows = [
        (
            "Revenue",
            f"{pounds(summary.get('revenue'))} (new customers "
            f"{pounds(summary.get('acquisition_revenue'))}, retention "
            f"{pounds(summary.get('retention_revenue'))}, expansion "
            f"{pounds(summary.get('expansion_revenue'))})",
        ),
        (
            "Attributed",
            f"{pounds(summary.get('attributed_revenue'))}, of which to campaigns "
            f"{pounds(summary.get('campaign_attributed_revenue'))}",
        ),
        ("Marketing cost", pounds(summary.get("marketing_cost"))),
        (
            "Return on investment",
            "—"
            if roi is None
            else f"{roi:,.0f} % (target above {ROI_TARGET_PCT:.0f} %: "
            f"{_status(roi, ROI_TARGET_PCT)})",
        ),
        (
            "Conversions",
            f"{_count(summary.get('conversions'))} ({_count(summary.get('new_customers'))} "
            "new customers)",
        ),
        (
            "Conversion rate",
            "—"
            if rate is None
            else f"{percent(rate)} (target above {percent(CONVERSION_TARGET, 0)}: "
            f"{_status(rate, CONVERSION_TARGET)})",
        ),
        (
            "Viral coefficient",
            "—"
            if viral is None
            else f"{viral:.2f} (target {VIRAL_HEALTHY}: "
            f"{_status(viral, VIRAL_HEALTHY, VIRAL_WARNING)})",
        ),
        ("Cost to acquire", pounds(summary.get("cac"))),
    ]
    couples = (ltv.get("segments") or {}).get("couples") or {}
    if couples.get("ltv") is not None:
        ratio = couples.get("ltv_to_cac")
        rows.append(
            (
                "Couples' lifetime value",
                f"{pounds(couples['ltv'])}"
                + ("" if ratio is None else f" ({ratio:,.1f} times what one costs to win)"),
            )
        )
    if summary.get("nps") is not None:
        rows.append(("Net promoter score", f"{summary['nps']:.0f}"))
    return rows


def _campaign_rows(campaigns: list[dict[str, Any]]) -> list[tuple[str, str]]:
    ranked = sorted(campaigns, key=lambda c: c.get("roi_pct") or float("-inf"), reverse=True)
    rows = []
    for c in ranked[:TOP]:
        roi = c.get("roi_pct")
        tier = str(c.get("tier") or "").replace("_", " ")
        rows.append(
            (
                str(c.get("name") or "unnamed campaign"),
                f"revenue {pounds(c.get('revenue'))}, cost {pounds(c.get('cost'))}, "
                + ("return —" if roi is None else f"return {roi:,.0f} %")
                + (f", {tier}" if tier else ""),
            )
        )
    return rows


def _channel_rows(channels: list[dict[str, Any]], model: str) -> list[tuple[str, str]]:
    def credit(channel: dict[str, Any]) -> dict[str, Any]:
        return channel.get(model) or {}

    ranked = sorted(channels, key=lambda c: credit(c).get("revenue") or 0, reverse=True)
    rows = []
    for c in ranked[:TOP]:
        conversions = credit(c).get("conversions")
        rows.append(
            (
                str(c.get("channel")).replace("_", " "),
                f"{pounds(credit(c).get('revenue'))} from "
                f"{'—' if conversions is None else f'{conversions:,.1f}'} conversions, "
                f"{_count(c.get('touches'))} touches",
            )
        )
    return rows


def _attribution_notes(attribution: dict[str, Any], model: str) -> list[str]:
    """How far the models can be trusted: their accuracy against a known truth (when the report
    had one), else why not; and the caveat that path credit is correlational."""
    lines = []
    accuracy = attribution.get("accuracy") or {}
    if accuracy.get("available"):
        models = accuracy.get("models") or {}
        ours = models.get(model) or {}
        best = accuracy.get("best_model")
        if ours.get("total_variation") is not None:
            lines += _wrapped(
                f"Against the known truth, the {model.replace('_', ' ')} model is off by "
                f"{percent(ours['total_variation'])} of the credit"
                + (f"; closest: the {best.replace('_', ' ')} model" if best else "")
            )
    elif accuracy.get("reason"):
        lines += _wrapped(f"Accuracy not measured: {accuracy['reason']}")
    if attribution.get("caveat"):
        lines += _wrapped(str(attribution["caveat"]))
    return lines


def _wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="  ")


def _spend_rows(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    rows = []
    for entry in entries[:TOP]:
        start, end = entry.get("from_ms"), entry.get("to_ms")
        # the period's end is exclusive: its last day is the one before
        when = f"{_day(start)} to {_day(end - 1)}" if start and end else ""
        rows.append(
            (
                str(entry.get("channel") or "—").replace("_", " "),
                f"{pounds(entry.get('amount'))}" + (f", {when}" if when else ""),
            )
        )
    return rows


def _day(ms: int) -> str:
    """A spend period's day: periods are whole days, kept from midnight UTC."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def _advice(item: dict[str, Any], names: dict[Any, Any]) -> str:
    """One recommendation, naming what it is about: a campaign by name, channels, contacts."""
    action = str(item.get("action") or "review").replace("_", " ")
    text = action[:1].upper() + action[1:]
    about = []
    if item.get("campaign"):
        about.append(str(names.get(item["campaign"]) or "a campaign no longer in the report"))
    channels = [str(c).replace("_", " ") for c in item.get("channels") or []]
    if channels:
        about.append("channels " + ", ".join(channels))
    contacts = [str(c) for c in item.get("contacts") or []]
    if contacts:
        more = f" and {len(contacts) - 3:,} more" if len(contacts) > 3 else ""
        about.append(", ".join(contacts[:3]) + more)
    return f"{text}: {'; '.join(about)}" if about else text


def _forecast(insights: dict[str, Any]) -> str | None:
    forecast = insights.get("forecast") or {}
    conversions = (forecast.get("conversions") or {}).get("expected")
    revenue = (forecast.get("revenue") or {}).get("expected")
    if conversions is None:
        return None
    days = forecast.get("horizon_days") or 30
    return f"Next {days} days, expected: {conversions:,.0f} conversions" + (
        "" if revenue is None else f", {pounds(revenue)}"
    )


def _count(value: Any) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _table(rows: list[tuple[str, str]], indent: str = "") -> list[str]:
    width = max((len(label) for label, _ in rows), default=0)
    return [f"{indent}{label.ljust(width)}  {value}" for label, value in rows]
