"""The dashboard's figures in words: KPI tiles with their targets, status and trend; campaigns by
ROI tier; channel performance; the report's recommendations and predictive insights naming the
campaign or channel they are about; CSV of every table. Used by the app's Dashboard page, its
PDF export and the CLI. No Qt.

Every figure is read from the report JSON as it is (``summary``, ``ltv.segments``, ``campaigns``,
``channels``): the tiles show the server's numbers. Targets are the brief's where it gives one
(ROI above 300 %, campaign conversion rate above 40 %, viral coefficient K 1.2: healthy at 1.2
or more, warning from 1.0); LTV:CAC is graded against the usual 3 : 1 and NPS against 0 and 50.
Attributed revenue, CAC and LTV have no target: they show their trend only.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# the advice is told with the tiles and tables: re-exported for the page, the PDF and the CLI
from .advice import (  # noqa: F401
    Advice,
    campaign_names,
    channel_name,
    insights,
    recommendations,
)
from .human import percent, pounds

HEALTHY, WARNING, CRITICAL, NO_TARGET, UNKNOWN = (
    "healthy",
    "warning",
    "critical",
    "no_target",
    "unknown",
)
TIERS = ("excellent", "good", "profitable", "needs_optimization", "unpriced")
TIER_NAMES = {
    "excellent": "Excellent",
    "good": "Good",
    "profitable": "Profitable",
    "needs_optimization": "Needs optimisation",
    "unpriced": "Unpriced",
}
TIER_MEANING = {
    "excellent": "revenue more than 5× its cost",
    "good": "revenue more than 3× its cost",
    "profitable": "revenue more than its cost",
    "needs_optimization": "revenue at or below its cost",
    "unpriced": "no cost recorded: its ROI is unknown",
}


@dataclass(frozen=True)
class Band:
    """Healthy above ``healthy`` (or at it, ``inclusive``), warning down to ``warning``."""

    healthy: float
    warning: float
    inclusive: bool = True

    def grade(self, value: float | None) -> str:
        if value is None or not math.isfinite(value):
            return UNKNOWN
        if value > self.healthy or (self.inclusive and value == self.healthy):
            return HEALTHY
        return WARNING if value >= self.warning else CRITICAL


@dataclass(frozen=True)
class Trend:
    change: float  # current − previous, in the figure's unit
    direction: str  # up, down, flat
    improving: bool | None  # None: flat
    text: str  # e.g. "↑ 12 % vs the 30 days before"


@dataclass(frozen=True)
class Kpi:
    key: str
    title: str
    value: float | None
    text: str  # the value in words, e.g. "£1,443,035"
    target: str  # e.g. "target > 300 %" ("" without a target)
    status: str  # HEALTHY, WARNING, CRITICAL, NO_TARGET, UNKNOWN
    trend: Trend | None
    note: str = ""  # a second line (e.g. the other segment)
    against: str = ""  # what the trend compares with ("" when nothing was)
    help: str = ""  # what the figure is (tooltip)


@dataclass(frozen=True)
class _Spec:
    key: str
    title: str
    unit: str  # pct (already ×100), ratio (a fraction shown as %), money, k, x, nps
    higher_is_better: bool
    band: Band | None
    target: str
    help: str


SPECS = (
    _Spec(
        "roi",
        "Marketing ROI",
        "pct",
        True,
        Band(300.0, 0.0, inclusive=False),
        "target > 300 %",
        "Campaign-attributed revenue less marketing cost, over marketing cost. Warning while "
        "profitable but under 300 %, critical at a loss.",
    ),
    _Spec(
        "attributed_revenue",
        "Attributed revenue",
        "money",
        True,
        None,
        "",
        "Revenue of the period's acquisition conversions that had a marketing touch "
        "(the channels' credit adds up to it).",
    ),
    _Spec(
        "conversion_rate",
        "Conversion rate",
        "ratio",
        True,
        Band(0.40, 0.30, inclusive=False),
        "target > 40 %",
        "Contact journeys of the period that ended in a conversion. Warning from 30 %.",
    ),
    _Spec(
        "viral_k",
        "Viral coefficient K",
        "k",
        True,
        Band(1.2, 1.0),
        "target 1.2",
        "Cycle K: new users each joining user brings in within 30 days. Healthy at 1.2 or more, "
        "warning from 1.0, critical below.",
    ),
    _Spec(
        "cac",
        "CAC",
        "money",
        False,
        None,
        "",
        "Customer acquisition cost: marketing cost over the period's new customers.",
    ),
    _Spec(
        "ltv",
        "LTV",
        "money",
        True,
        None,
        "",
        "Lifetime value (margin applied) of the segment with the most new customers; the other "
        "segment below.",
    ),
    _Spec(
        "ltv_to_cac",
        "LTV : CAC",
        "x",
        True,
        Band(3.0, 1.0),
        "target ≥ 3 : 1",
        "Lifetime value over acquisition cost, per segment; graded on the weaker segment.",
    ),
    _Spec(
        "nps",
        "NPS",
        "nps",
        True,
        Band(50.0, 0.0),
        "target ≥ 50",
        "Net promoter score of the period's surveys: % promoters (9–10) less % detractors "
        "(0–6). Warning from 0.",
    ),
)
SPEC = {s.key: s for s in SPECS}


def _segments(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The LTV segments, the one with the most new customers first."""
    segments = ((report.get("ltv") or {}).get("segments") or {}).items()
    return sorted(segments, key=lambda kv: (-(kv[1].get("new_customers") or 0), kv[0]))


def kpi_values(report: dict[str, Any] | None) -> dict[str, float | None]:
    """The eight figures, read from the report as they are."""
    if not report:
        return {s.key: None for s in SPECS}
    summary = report.get("summary") or {}
    segments = _segments(report)
    ratios = [s.get("ltv_to_cac") for _, s in segments if s.get("ltv_to_cac") is not None]
    return {
        "roi": summary.get("total_roi_pct"),
        "attributed_revenue": summary.get("attributed_revenue"),
        "conversion_rate": summary.get("conversion_rate"),
        "viral_k": summary.get("viral_coefficient"),
        "cac": summary.get("cac"),
        "ltv": segments[0][1].get("ltv") if segments else None,
        "ltv_to_cac": segments[0][1].get("ltv_to_cac") if segments else None,
        "nps": summary.get("nps"),
        "_weakest_ltv_to_cac": min(ratios) if ratios else None,
    }


def figure(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if unit == "pct":
        return f"{value:,.0f} %"
    if unit == "ratio":
        return percent(value)
    if unit == "money":
        return pounds(value) if abs(value) < 1000 else f"£{value:,.0f}".replace("£-", "-£")
    if unit == "x":
        return f"{value:,.1f} : 1" if value < 100 else f"{value:,.0f} : 1"
    if unit == "nps":
        return f"{value:+.0f}" if value else "0"
    return f"{value:.2f}"


def trend(
    current: float | None, previous: float | None, unit: str, higher_is_better: bool, against: str
) -> Trend | None:
    if current is None or previous is None:
        return None
    change = current - previous
    if unit in ("money", "x") and previous:
        relative = change / abs(previous) * 100
        flat = abs(relative) < 0.5
        amount = f"{abs(relative):,.0f} %"
    elif unit == "ratio":
        flat = abs(change) < 0.0005
        amount = f"{abs(change) * 100:.1f} pts"
    elif unit == "pct":
        flat = abs(change) < 0.5
        amount = f"{abs(change):,.0f} pts"
    elif unit == "nps":
        flat = abs(change) < 0.5
        amount = f"{abs(change):.0f}"
    else:
        flat = abs(change) < 0.005
        amount = f"{abs(change):.2f}" if unit == "k" else figure(abs(change), unit)
    if flat:
        return Trend(change, "flat", None, f"→ steady vs {against}")
    up = change > 0
    return Trend(
        change,
        "up" if up else "down",
        up == higher_is_better,
        f"{'↑' if up else '↓'} {amount} vs {against}",
    )


def kpis(
    report: dict[str, Any] | None, previous: dict[str, Any] | None = None, against: str = ""
) -> list[Kpi]:
    """The tiles, in order: ROI, attributed revenue, conversion rate, K, CAC, LTV, LTV:CAC, NPS."""
    now, before = kpi_values(report), kpi_values(previous)
    segments = _segments(report or {})
    out = []
    for spec in SPECS:
        value = now[spec.key]
        graded = now["_weakest_ltv_to_cac"] if spec.key == "ltv_to_cac" else value
        status = spec.band.grade(graded) if spec.band else NO_TARGET
        if value is None and spec.band is None:
            status = UNKNOWN
        note = ""
        if spec.key in ("ltv", "ltv_to_cac") and segments:
            field = "ltv" if spec.key == "ltv" else "ltv_to_cac"
            unit = "money" if spec.key == "ltv" else "x"
            note = " · ".join(
                f"{name.capitalize()} {figure(seg.get(field), unit)}" for name, seg in segments
            )
        prior = before[spec.key] if previous else None
        out.append(
            Kpi(
                key=spec.key,
                title=spec.title,
                value=value,
                text=figure(value, spec.unit),
                target=spec.target,
                status=status,
                trend=trend(value, prior, spec.unit, spec.higher_is_better, against or "before"),
                note=note,
                help=spec.help,
                against=(against or "before") if previous else "",
            )
        )
    return out


# ---------------------------------------------------------------------- tables and CSV


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    unit: str = ""  # money, ratio, pct, count, x, "" (text)


CAMPAIGN_COLUMNS = (
    Column("name", "Campaign"),
    Column("tier", "ROI tier"),
    Column("sends", "Sends", "count"),
    Column("open_rate", "Open rate", "ratio"),
    Column("click_rate", "Click rate", "ratio"),
    Column("conversion_rate", "Conversion rate", "ratio"),
    Column("conversions", "Conversions", "conv"),
    Column("revenue", "Revenue", "money"),
    Column("cost", "Cost", "money"),
    Column("roi_pct", "ROI", "pct"),
)
CHANNEL_COLUMNS = (
    Column("channel", "Channel"),
    Column("touches", "Touches", "count"),
    Column("conversions", "Conversions", "conv"),
    Column("revenue", "Attributed revenue", "money"),
    Column("cost", "Cost", "money"),
    Column("roi_ratio", "Return on cost", "x"),
    Column("pending", "Pending touches", "count"),
)
KPI_COLUMNS = (
    Column("title", "KPI"),
    Column("text", "Value"),
    Column("target", "Target"),
    Column("status", "Status"),
    Column("trend", "Trend"),
)
ADVICE_COLUMNS = (Column("kind", "Kind"), Column("about", "About"), Column("text", "What to do"))


def campaign_rows(report: dict[str, Any], names: dict[str, str] | None = None) -> list[dict]:
    """The report's campaigns ranked by tier (excellent first, unpriced last), then ROI."""
    names = names or {}
    order = {t: i for i, t in enumerate(TIERS)}
    rows = []
    for row in report.get("campaigns") or []:
        rows.append(
            {
                **row,
                "name": row.get("name") or names.get(row.get("campaign", "")) or "Unnamed campaign",
                "tier_name": TIER_NAMES.get(row.get("tier", ""), row.get("tier", "")),
            }
        )
    rows.sort(key=lambda r: (order.get(r.get("tier"), 9), -(r.get("roi_ratio") or 0), r["name"]))
    return rows


def channel_rows(report: dict[str, Any], pending: dict[str, int] | None = None) -> list[dict]:
    """Channels by attributed revenue (the report's ROI model), with the touches captured here
    that the report cannot count yet."""
    model = (report.get("attribution") or {}).get("roi_model") or "linear"
    pending = pending or {}
    rows = []
    seen = set()
    for ch in report.get("channels") or []:
        credit = ch.get(model) or {}
        seen.add(ch.get("channel"))
        rows.append(
            {
                "channel": ch.get("channel"),
                "channel_name": channel_name(ch.get("channel")),
                "touches": ch.get("touches") or 0,
                "conversions": credit.get("conversions") or 0.0,
                "revenue": credit.get("revenue") or 0.0,
                "cost": ch.get("cost") or 0.0,
                "roi_ratio": ch.get("roi_ratio"),
                "pending": pending.get(ch.get("channel"), 0),
            }
        )
    for channel, count in sorted(pending.items()):
        if channel not in seen:
            rows.append(
                {
                    "channel": channel,
                    "channel_name": channel_name(channel),
                    "touches": 0,
                    "conversions": 0.0,
                    "revenue": 0.0,
                    "cost": 0.0,
                    "roi_ratio": None,
                    "pending": count,
                }
            )
    rows.sort(key=lambda r: (-r["revenue"], -r["touches"], r["channel_name"]))
    return rows


def cell(value: Any, unit: str) -> str:
    """A table cell for people."""
    if value is None:
        return "—"
    if unit == "count":
        return f"{int(value):,}"
    if unit == "conv":
        return f"{value:,.1f}" if value % 1 else f"{value:,.0f}"
    if unit == "money":  # whole pounds: the tables keep their room for names
        return f"£{value:,.0f}".replace("£-", "-£")
    if unit == "ratio":
        return percent(value)
    if unit == "pct":
        return f"{value:,.0f} %"
    if unit == "x":
        return f"{value:,.1f}×"
    return str(value)


def csv_text(columns: Iterable[Column], rows: Iterable[dict[str, Any]]) -> str:
    """CSV with a header row; numbers as plain numbers (money in pounds, rates as fractions),
    so a spreadsheet can compute with them."""
    columns = list(columns)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [c.title + (" (£)" if c.unit == "money" else "") for c in columns]  # noqa: RUF001
    )
    for row in rows:
        writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in columns])
    return out.getvalue()


def campaigns_csv(report: dict[str, Any], names: dict[str, str] | None = None) -> str:
    rows = [{**r, "tier": r["tier_name"]} for r in campaign_rows(report, names)]
    return csv_text(CAMPAIGN_COLUMNS, rows)


def channels_csv(report: dict[str, Any], pending: dict[str, int] | None = None) -> str:
    rows = [{**r, "channel": r["channel_name"]} for r in channel_rows(report, pending)]
    return csv_text(CHANNEL_COLUMNS, rows)


def kpis_csv(tiles: list[Kpi]) -> str:
    rows = [
        {
            "title": k.title,
            "text": k.text,
            "target": k.target,
            "status": k.status.replace("_", " "),
            "trend": k.trend.text if k.trend else "",
        }
        for k in tiles
    ]
    return csv_text(KPI_COLUMNS, rows)


def advice_csv(items: list[Advice]) -> str:
    return csv_text(ADVICE_COLUMNS, [vars(a) for a in items])


PENDING_WORDS = {
    "conversion": ("conversion", "conversions"),
    "lead": ("lead", "leads"),
    "touchpoint": ("touch", "touches"),
    "invite_sent": ("invite", "invites"),
    "invite_accepted": ("accepted invite", "accepted invites"),
}


def _count(n: int, kind: str) -> str:
    one, many = PENDING_WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ") + "s"))
    return f"{n:,} {one if n == 1 else many}"


def pending_text(pending: Any) -> str:
    """``+3 conversions, £4,500.00 pending sync · 5 leads, 2 touches`` ("" when nothing is
    pending)."""
    if not pending or not pending.events:
        return ""
    head = []
    if pending.conversions:
        head.append(_count(pending.conversions, "conversion"))
        head.append(pounds(pending.revenue))
    others = sorted(
        ((k, v) for k, v in pending.by_kind.items() if k != "conversion"), key=lambda kv: -kv[1]
    )
    tail = ", ".join(_count(v, k) for k, v in others)
    if head:
        return "+" + ", ".join(head) + " pending sync" + (f" · {tail}" if tail else "")
    return f"+{tail} pending sync"


def snapshot_lines(snapshot: dict[str, Any]) -> str:
    """What a report printed in a terminal is: live, or the last one kept here (offline), its
    as-of time and what was captured here since (``Snapshot.describe()``)."""
    from .human import local_time

    lines = []
    if not snapshot.get("live"):
        reason = snapshot.get("offline_reason") or "the server was not asked"
        lines.append(f"OFFLINE: {reason[:1].upper()}{reason[1:]}.")
        lines.append(
            f"These are the last figures this computer received "
            f"({local_time(snapshot.get('fetched_at_ms'))}), as of "
            f"{local_time(snapshot.get('as_of_ms'))}."
        )
    pending = snapshot.get("pending") or {}
    if pending.get("events"):
        from .reports import Pending

        fields = {k: pending.get(k) for k in ("events", "queued", "by_kind", "conversions")}
        text = pending_text(Pending(**fields, revenue=pending.get("revenue") or 0.0))
        lines.append(f"Captured here, not in these figures yet: {text}.")
    return "\n".join(lines)
