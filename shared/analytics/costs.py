"""Marketing cost: what each campaign, channel and segment cost in a window, from one ledger.

Every cost item has a channel (and, where it has one, a campaign), so the campaign, channel and
segment totals come from the same items and add up (``Costs.total_cents`` = the sum over
channels; campaigns and segments each sum to at most that):

* **sends**: each send costs ``per_send_cents`` ($0.02 by default), and a send of a premium
  campaign ``premium_per_send_cents`` more ($0.05); channel of the send (email if absent);
* **campaign budgets** (``include_budget``): a budget is a cap, not a bill, so it is spread over
  the campaign's sends up to the window's end and the window carries its sends' share; a
  campaign with recorded spend (below) is charged that instead of its budget;
* **spend entries** (``SpendEntry`` in the cost model, and ``spend`` events: ``value_cents``,
  ``channel``, optional ``campaign``, payload ``{"days": n}``): money paid for a channel over a
  period (a wedding-fair stand, a month of paid search), prorated to the part of the period
  inside the window (a spend without days is a one-off at its time);
* **per-touch and monthly channel costs** (``per_channel_cents``, ``channel_monthly_cents``).

A channel with touches and no cost item is *unpriced*: its ROI is unknown, not infinite, and
budget recommendations leave it out. Costs are split over segments (suppliers, couples, unknown)
by who each item reached: a send by its recipient, a budget by its campaign's sends, a channel's
spend and monthly cost by that channel's touches in the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .events import KIND_CODE, EventFrame
from .paths import DAY_MS, TOUCH_KINDS

MONTH_MS = 30 * DAY_MS
SEGMENTS = ("unknown", "suppliers", "couples")  # indexed by EventFrame.role
_DEFAULT_CHANNEL = {"send": "email", "open": "email", "click": "email"}
_DEFAULT_CHANNEL.update({"invite_sent": "referral", "invite_accepted": "referral"})


@dataclass(frozen=True)
class SpendEntry:
    """Money spent on a channel over ``[from_ms, to_ms)`` (optionally for one campaign)."""

    channel: str
    amount_cents: int
    from_ms: int
    to_ms: int
    campaign: str | None = None

    def share_in(self, lo: int, hi: int) -> float:
        """The part of the amount that falls in ``[lo, hi)``."""
        if self.to_ms <= self.from_ms:  # a one-off
            return float(self.amount_cents) if lo <= self.from_ms < hi else 0.0
        overlap = max(0, min(hi, self.to_ms) - max(lo, self.from_ms))
        return self.amount_cents * overlap / (self.to_ms - self.from_ms)


@dataclass(frozen=True)
class CostModel:
    per_send_cents: float = 2.0
    premium_per_send_cents: float = 5.0
    #: cost per touch on a channel (e.g. {"paid_search": 150})
    per_channel_cents: dict[str, float] = field(default_factory=dict)
    #: fixed monthly cost per channel (e.g. fair stands)
    channel_monthly_cents: dict[str, float] = field(default_factory=dict)
    spend: tuple[SpendEntry, ...] = ()
    include_budget: bool = True
    margin: float = 0.8  # gross margin used for LTV

    def describe(self) -> dict:
        return {
            "per_send": self.per_send_cents / 100,
            "premium_per_send": self.premium_per_send_cents / 100,
            "per_touch": {k: v / 100 for k, v in sorted(self.per_channel_cents.items())},
            "monthly": {k: v / 100 for k, v in sorted(self.channel_monthly_cents.items())},
            "include_budget": self.include_budget,
            "margin": self.margin,
        }


@dataclass
class Costs:
    """Cost items of a window, summed three ways (cents)."""

    by_campaign: dict[str, float]
    by_channel: dict[str, float]
    by_segment: dict[str, float]
    by_item: dict[str, float]  # sends, premium, budgets, spend, per_touch, monthly
    touches: dict[str, int]  # per channel, as paths count them
    spend_entries: list[dict]
    total_cents: float

    @property
    def unpriced_channels(self) -> list[str]:
        return sorted(c for c, n in self.touches.items() if n and not self.by_channel.get(c))


def spend_entries(frame: EventFrame, cost: CostModel) -> list[SpendEntry]:
    """The cost model's entries and the frame's ``spend`` events."""
    out = list(cost.spend)
    for r in frame.rows_of("spend").tolist():
        ch = int(frame.channel[r])
        days = frame.score[r]
        start = int(frame.time_ms[r])
        end = start + int(days * DAY_MS) if np.isfinite(days) and days > 0 else start
        camp = int(frame.campaign[r])
        out.append(
            SpendEntry(
                channel=frame.channels[ch] if ch >= 0 else "(unknown)",
                amount_cents=int(frame.value_cents[r]),
                from_ms=start,
                to_ms=end,
                campaign=frame.campaigns[camp] if camp >= 0 else None,
            )
        )
    return out


def channel_touches(frame: EventFrame, *, from_ms: int, to_ms: int) -> tuple[dict, dict]:
    """Touches per channel in the window, and per channel the share of them per segment."""

    def build():
        rows = frame.rows_of(*TOUCH_KINDS, lo=from_ms, hi=to_ms)
        codes = frame.channel[rows].astype(np.int64)
        labels = list(frame.channels)
        missing = codes < 0
        if missing.any():
            for kind, name in _DEFAULT_CHANNEL.items():
                m = missing & (frame.kind[rows] == KIND_CODE[kind])
                if m.any():
                    if name not in labels:
                        labels.append(name)
                    codes[m] = labels.index(name)
            m = codes < 0
            if m.any():
                labels.append("(unknown)")
                codes[m] = len(labels) - 1
        who = frame.contact[rows]
        seg = np.where(who >= 0, frame.role[np.maximum(who, 0)], 0).astype(np.int64)
        grid = np.bincount(codes * 3 + seg, minlength=len(labels) * 3).reshape(-1, 3)
        touches = {labels[i]: int(grid[i].sum()) for i in range(len(labels)) if grid[i].sum()}
        shares = {labels[i]: grid[i] / grid[i].sum() for i in range(len(labels)) if grid[i].sum()}
        return touches, shares

    return frame.cached(("channel_touches", from_ms, to_ms), build)


def compute_costs(
    frame: EventFrame,
    campaigns: list[dict],
    *,
    from_ms: int,
    to_ms: int,
    cost: CostModel,
) -> Costs:
    by_campaign: dict[str, float] = {}
    by_channel: dict[str, float] = {}
    by_segment = dict.fromkeys(SEGMENTS, 0.0)
    by_item = dict.fromkeys(("sends", "premium", "budgets", "spend", "per_touch", "monthly"), 0.0)
    touches, seg_share = channel_touches(frame, from_ms=from_ms, to_ms=to_ms)
    meta = {c["id"]: c for c in campaigns}

    def charge(item, amount, channel, campaign=None, segments=None):
        if not amount:
            return
        by_item[item] += amount
        by_channel[channel] = by_channel.get(channel, 0.0) + amount
        if campaign is not None:
            by_campaign[campaign] = by_campaign.get(campaign, 0.0) + amount
        if segments is None:
            segments = seg_share.get(channel)
        if segments is None or not np.sum(segments):
            by_segment["unknown"] += amount
        else:
            for name, share in zip(SEGMENTS, np.asarray(segments) / np.sum(segments), strict=True):
                by_segment[name] += amount * float(share)

    # sends: per campaign × channel × segment, counted in one bincount
    sends = frame.rows_of("send", lo=from_ms, hi=to_ms)
    labels = [*frame.channels, "email"]  # the last: sends without a channel
    chan = frame.channel[sends].astype(np.int64)
    chan[chan < 0] = len(labels) - 1
    camp = frame.campaign[sends].astype(np.int64) + 1  # 0: no campaign
    who = frame.contact[sends]
    seg = np.where(who >= 0, frame.role[np.maximum(who, 0)], 0).astype(np.int64)
    n_ch = len(labels)
    grid = np.bincount(
        (camp * n_ch + chan) * 3 + seg, minlength=(len(frame.campaigns) + 1) * n_ch * 3
    )
    premium = {c["id"] for c in campaigns if c.get("type") == "premium"}
    send_segments: dict[str, np.ndarray] = {}
    for key in np.flatnonzero(grid).tolist():
        n = int(grid[key])
        c, rest = divmod(key, n_ch * 3)
        ch, s = divmod(rest, 3)
        name = frame.campaigns[c - 1] if c else None
        vec = np.zeros(3)
        vec[s] = 1.0
        charge("sends", n * cost.per_send_cents, labels[ch], name, vec)
        if name in premium:
            charge("premium", n * cost.premium_per_send_cents, labels[ch], name, vec)
        if name is not None:
            send_segments.setdefault(name, np.zeros(3))[s] += n

    spends = spend_entries(frame, cost)
    with_spend = {e.campaign for e in spends if e.campaign is not None}
    if cost.include_budget:
        all_sends = frame.rows_of("send", hi=to_ms)
        total = np.bincount(
            frame.campaign[all_sends][frame.campaign[all_sends] >= 0],
            minlength=len(frame.campaigns),
        )
        code = {c: i for i, c in enumerate(frame.campaigns)}
        for cid, c in meta.items():
            budget = float(c.get("budget_cents") or 0)
            i = code.get(cid)
            if not budget or i is None or not total[i] or cid in with_spend:
                continue
            in_window = send_segments.get(cid, np.zeros(3)).sum()
            channel = "email"
            charge("budgets", budget * in_window / total[i], channel, cid, send_segments.get(cid))
    entries = []
    for e in spends:
        amount = e.share_in(from_ms, to_ms)
        entries.append(
            {
                "channel": e.channel,
                "campaign": e.campaign,
                "from_ms": e.from_ms,
                "to_ms": e.to_ms,
                "amount": e.amount_cents / 100,
                "in_window": amount / 100,
            }
        )
        charge("spend", amount, e.channel, e.campaign)
    months = (to_ms - from_ms) / MONTH_MS
    for name, n in touches.items():
        if name != "email":  # email is priced by send
            charge("per_touch", n * cost.per_channel_cents.get(name, 0), name)
    for name, monthly in cost.channel_monthly_cents.items():
        charge("monthly", monthly * months, name)
    return Costs(
        by_campaign=by_campaign,
        by_channel=by_channel,
        by_segment=by_segment,
        by_item=by_item,
        touches=touches,
        spend_entries=entries,
        total_cents=sum(by_channel.values()),
    )
