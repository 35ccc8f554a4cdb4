"""The report's recommendations and predictive insights in words, each naming the campaign or
channel it is about (by name, never by id): for the app's Dashboard, its PDF and CSV, and the
CLI. No Qt; nothing is computed here that the report does not say."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .human import percent, pounds


def _money(value: float | None) -> str:
    if value is None:
        return "—"
    return pounds(value) if abs(value) < 1000 else f"£{value:,.0f}".replace("£-", "-£")


# ---------------------------------------------------------------------- names


def channel_name(channel: str | None) -> str:
    if not channel:
        return "No channel"
    special = {"paid_search": "Paid search", "organic_search": "Organic search"}
    return special.get(channel) or channel.replace("_", " ").capitalize()


def campaign_names(report: dict[str, Any], local: dict[str, str] | None = None) -> dict[str, str]:
    """Campaign id → name: the report's names, else this replica's."""
    names = dict(local or {})
    for row in report.get("campaigns") or []:
        if row.get("name"):
            names[row["campaign"]] = row["name"]
    return names


def _campaign(cid: str | None, names: dict[str, str]) -> str:
    name = names.get(cid or "")
    return f"“{name}”" if name else "a campaign not on this computer"


def _list(items: list[str], most: int = 4) -> str:
    """``A, B and C``; past ``most`` items: ``A, B, C and 6 more``."""
    if len(items) > most:
        return ", ".join(items[:most]) + f" and {len(items) - most} more"
    if len(items) > 1:
        return ", ".join(items[:-1]) + " and " + items[-1]
    return items[0] if items else ""


# ---------------------------------------------------------------------- advice


@dataclass(frozen=True)
class Advice:
    kind: str  # recommendation | insight
    about: str  # the campaign or channel it is about, by name ("" when about the whole org)
    text: str


def recommendations(report: dict[str, Any], names: dict[str, str]) -> list[Advice]:
    out = []
    for rec in report.get("recommendations") or []:
        ev = rec.get("evidence") or {}
        action = rec.get("action")
        about, text = "", ""
        if action == "regenerate_subject_lines":
            about = _campaign(rec.get("campaign"), names)
            text = (
                f"{about}: opens {percent(ev.get('open_rate'))} of {ev.get('sends', 0):,} sends, "
                f"under the {percent(ev.get('segment_median_open_rate'))} of its kind of "
                "campaign. Generate new subject lines."
            )
        elif action == "optimise_campaign":
            about = _campaign(rec.get("campaign"), names)
            text = (
                f"{about} returns {pounds(ev.get('revenue'))} on {pounds(ev.get('cost'))}: "
                "rework its audience, content or timing, or pause it."
            )
        elif action in ("shift_budget_to_channel", "reduce_channel_budget"):
            about = channel_name(rec.get("channel"))
            ratio = ev.get("roi_ratio")
            verb = "Move budget to" if action == "shift_budget_to_channel" else "Cut budget on"
            text = (
                f"{verb} {about}: it returns {ratio:,.1f}× its cost (median of priced channels "
                f"{ev.get('median_priced_roi_ratio', 0):,.1f}×)."
                if ratio is not None
                else f"{verb} {about}."
            )
        elif action == "record_channel_spend":
            channels = [channel_name(c) for c in rec.get("channels") or []]
            about = _list(channels, 3)
            text = (
                f"Record what {_list(channels)} cost: they bring touches but have no recorded "
                "spend, so their ROI is unknown."
            )
        elif action == "enrol_super_connectors":
            contacts = rec.get("contacts") or []
            invites = ev.get("downstream_invites") or {}
            about = "Referrals"
            text = (
                f"Enrol {_list(contacts, 3)} in a referral campaign: super-connectors "
                f"({sum(invites.values()):,} downstream invites) not reached by one yet."
            )
        elif action == "boost_referrals":
            about = "Referrals"
            text = (
                f"Viral coefficient K is {ev.get('viral_coefficient', 0):.2f} against a target of "
                f"{ev.get('target', 1.2)}: run referral and super-connector campaigns."
            )
        elif action == "run_churn_prevention":
            risks = ev.get("churn_risk") or {}
            worst = max(risks.items(), key=lambda kv: kv[1]) if risks else None
            about = "Churn prevention"
            text = f"{len(rec.get('contacts') or [])} contacts are likely to churn" + (
                f" (the likeliest: {worst[0]}, {percent(worst[1], 0)})" if worst else ""
            )
            text += ": enrol them in a churn-prevention campaign."
        else:
            text = str(action or "").replace("_", " ").capitalize()
        out.append(Advice("recommendation", about, text))
    return out


def insights(report: dict[str, Any], names: dict[str, str]) -> list[Advice]:
    """Predictive insights (forecast, propensity, churn) and what the attribution says about
    channels and campaigns, each naming what it is about."""
    out: list[Advice] = []
    forecast = (report.get("insights") or {}).get("forecast") or {}
    acquisition = (forecast.get("classes") or {}).get("acquisition") or {}
    conv, rev = acquisition.get("conversions") or {}, acquisition.get("revenue") or {}
    if conv.get("expected") is not None and rev.get("expected") is not None:
        days = forecast.get("horizon_days", 30)
        out.append(
            Advice(
                "insight",
                "New bookings",
                f"Next {days} days: about {conv['expected']:,.0f} new bookings "
                f"({conv.get('low', 0):,.0f}–{conv.get('high', 0):,.0f}) worth "
                f"{_money(rev['expected'])} ({_money(rev.get('low'))}–"
                f"{_money(rev.get('high'))}), from the last "
                f"{forecast.get('history_days', 90)} days.",
            )
        )
    channels = report.get("channels") or []
    model = (report.get("attribution") or {}).get("roi_model") or "linear"
    credited = [c for c in channels if (c.get(model) or {}).get("revenue")]
    if credited:
        best = max(credited, key=lambda c: c[model]["revenue"])
        out.append(
            Advice(
                "insight",
                channel_name(best["channel"]),
                f"{channel_name(best['channel'])} brings the most attributed revenue: "
                f"{_money(best[model]['revenue'])} from "
                f"{best[model].get('conversions', 0):,.0f} conversions ({model.replace('_', ' ')} "
                "model).",
            )
        )
    spread = ((report.get("attribution") or {}).get("disagreement") or {}).get("channels") or {}
    if spread:
        channel, row = max(spread.items(), key=lambda kv: kv[1].get("spread") or 0)
        if (row.get("spread") or 0) >= 0.05:
            out.append(
                Advice(
                    "insight",
                    channel_name(channel),
                    f"The models disagree most on {channel_name(channel)}: from "
                    f"{percent(row.get('min_share'), 0)} of the credit "
                    f"({str(row.get('min_model', '')).replace('_', ' ')}) to "
                    f"{percent(row.get('max_share'), 0)} "
                    f"({str(row.get('max_model', '')).replace('_', ' ')}).",
                )
            )
    viral = (report.get("viral") or {}).get("campaigns_by_viral_effect") or []
    if viral and viral[0].get("assisted_invites"):
        top = viral[0]
        about = _campaign(top.get("campaign"), {**names, top.get("campaign"): top.get("name")})
        out.append(
            Advice(
                "insight",
                about,
                f"{about} has the most viral effect: {top['assisted_invites']:,} invites sent "
                f"after it, {top.get('assisted_accepted_invites', 0):,} accepted.",
            )
        )
    for test in (report.get("incrementality") or {}).get("tests") or []:
        if test.get("verdict") in ("positive", "lift", "significant"):
            about = _campaign(test.get("campaign"), names)
            out.append(
                Advice(
                    "insight",
                    about,
                    f"{about}'s holdout test shows a lift of {percent(test.get('relative_lift'))}.",
                )
            )
    predictions = report.get("predictions") or {}
    propensity = predictions.get("conversion") or {}
    if propensity.get("trained") and propensity.get("expected_conversions_next_30d") is not None:
        top = (propensity.get("top_contacts") or [{}])[0]
        out.append(
            Advice(
                "insight",
                "Open leads",
                f"{propensity['expected_conversions_next_30d']:,.0f} of the contacts touched in "
                "the last 30 days are expected to convert in the next 30"
                + (
                    f" (the likeliest: {top['contact']}, {percent(top.get('propensity'), 0)})."
                    if top.get("contact")
                    else "."
                ),
            )
        )
    return out
