"""A campaign's run view: enrolled, waiting, sent, opened, clicked, converted, held out, bounced,
suppressed and exited, in total and per step, and per variant of each send step
(``GET /api/v1/campaigns/{id}/run``; the shape is the contract in ``docs/automation.md``).

Counts, from the automation's rows (``campaign_run_rows``):

* ``enrolled`` / ``exited`` / ``waiting``: enrolments in all / that left / that have not left;
  per step, ``waiting`` counts those standing at it now and ``enrolled`` those that reached it
  (a send step: its row was written or they wait at it; another step: they stand at it now);
  ``exited`` is a total only;
* ``sent``: sends accepted by SMTP; ``bounced``: refused for good (5xx, or deferred until it
  gave up); ``suppressed``: not sent because the contact was suppressed by then;
* ``held_out``: send steps the control group passed without a send;
* ``opened`` / ``clicked``: sends with at least one open / click by a person: opens fetched by
  mail-privacy proxies and clicks by security scanners are recorded but never counted here;
* ``converted``: in total, enrolments whose contact converted within 30 days of entering
  (held-out ones included, as the lift reads them); per step and variant, sends followed by a
  conversion of their enrolment.

A send step that draws among two or more variants is a test of the live allocation
(``server.automation.allocation``): the step carries ``test`` (the metric, the winner once
declared, the allocation rounds and the last one's time) and each of its variants
``allocation``: its current ``share`` and ``p_best`` from the last round, and the posterior of
its click (or conversion) rate per send from the counts shown, ``mean`` with its 90 %
credible interval ``low`` to ``high`` (Beta(1 + successes, 1 + sends - successes)). Other
steps have ``test: null`` and no ``allocation``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from scipy.stats import beta

COUNTS = (
    "enrolled",
    "waiting",
    "sent",
    "opened",
    "clicked",
    "converted",
    "held_out",
    "bounced",
    "suppressed",
    "exited",
)
STEP_COUNTS = tuple(c for c in COUNTS if c != "exited")
VARIANT_COUNTS = ("sent", "opened", "clicked", "converted")


def build_run_view(
    campaign_id: str,
    snapshot: dict[str, Any],
    enrolments: list[tuple[Any, ...]],
    sends: list[tuple[Any, ...]],
    *,
    as_of_ms: int,
    tests: Mapping[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The run view from ``campaign_run_rows``' enrolments ``(status, held out, node, exit
    reason, converted)`` and sends ``(step, step index, variant, status, reason, held out,
    opened, clicked, converted at, sent at)``, and the saved allocation of each tested step
    (``tests``: step id -> ``allocation.saved_state``)."""
    tests = tests or {}
    steps = [s for s in snapshot.get("steps") or [] if isinstance(s, dict)]
    variants = [v for v in snapshot.get("variants") or [] if isinstance(v, dict)]
    totals: Counter[str] = Counter()
    per_step: dict[str, Counter[str]] = {str(s.get("id")): Counter() for s in steps}
    per_variant: dict[tuple[str, str], Counter[str]] = {}
    for status, _held_out, node, _exit_reason, converted in enrolments:
        totals["enrolled"] += 1
        if status == "exited":
            totals["exited"] += 1
        else:
            totals["waiting"] += 1
            if node in per_step:
                per_step[node]["waiting"] += 1
        if converted:
            totals["converted"] += 1
    entered: Counter[str] = Counter()
    for (
        step,
        _index,
        variant,
        status,
        reason,
        _held_out,
        opened,
        clicked,
        converted_at,
        sent_at,
    ) in sends:
        counter = per_step.setdefault(str(step), Counter())
        entered[step] += 1
        names = []
        if status == "sent":
            names.append("sent")
            if opened:
                names.append("opened")
            if clicked:
                names.append("clicked")
            if converted_at is not None and sent_at is not None and converted_at >= sent_at:
                names.append("converted")
        elif status == "bounced" or (status == "failed" and reason and "bounce" in reason):
            names.append("bounced")
        elif status == "suppressed":
            names.append("suppressed")
        elif status == "skipped" and reason == "held_out":
            names.append("held_out")
        for name in names:
            counter[name] += 1
            if name != "converted":
                totals[name] += 1
            if variant and name in VARIANT_COUNTS:
                per_variant.setdefault((str(step), variant), Counter())[name] += 1
    step_views = []
    for index, step in enumerate(steps):
        step_id = str(step.get("id"))
        counter = per_step.get(step_id, Counter())
        view: dict[str, Any] = {
            "index": index,
            "kind": step.get("kind"),
            "label": _label(index, step),
            # reached the step: a send step's row was written, or it stands there now
            "enrolled": entered.get(step_id, 0) + counter["waiting"],
        }
        view.update({name: counter[name] for name in STEP_COUNTS if name != "enrolled"})
        view["variants"] = [
            {
                "id": v.get("id"),
                "subject": v.get("subject") or "",
                **{
                    name: per_variant.get((step_id, str(v.get("id"))), Counter())[name]
                    for name in VARIANT_COUNTS
                },
            }
            for v in variants
            if step.get("kind") == "send_email"
        ]
        test = tests.get(step_id)
        view["test"] = allocation_view(test, view["variants"]) if test else None
        step_views.append(view)
    holdout = snapshot.get("holdout_pct")
    return {
        "campaign_id": campaign_id,
        "status": snapshot.get("status") or "draft",
        "as_of_ms": as_of_ms,
        "holdout_pct": holdout if isinstance(holdout, int | float) else 0,
        "totals": {name: totals[name] for name in COUNTS},
        "steps": step_views,
    }


def allocation_view(saved: dict[str, Any], variants: list[dict[str, Any]]) -> dict[str, Any]:
    """The step's test, and each of its variants' ``allocation`` (added to ``variants``)."""
    metric = saved.get("metric") or "click"
    arms = saved.get("variants") or {}
    for variant in variants:
        arm = arms.get(variant["id"])
        if arm is None:
            continue  # not drawn by this step
        sends = variant["sent"]
        wins = min(variant["clicked" if metric == "click" else "converted"], sends)
        a, b = 1 + wins, 1 + sends - wins
        low, high = beta.ppf([0.05, 0.95], a, b)
        variant["allocation"] = {
            "share": round(float(arm.get("share") or 0), 4),
            "p_best": round(float(arm.get("p_best") or 0), 4),
            "mean": round(a / (a + b), 4),
            "low": round(float(low), 4),
            "high": round(float(high), 4),
        }
    return {
        "metric": metric,
        "winner": saved.get("winner"),
        "rounds": saved.get("rounds") or 0,
        "updated_ms": saved.get("updated_ms"),
    }


def _label(index: int, step: dict[str, Any]) -> str:
    kind = str(step.get("kind") or "step")
    config = step.get("config") if isinstance(step.get("config"), dict) else {}
    words = {
        "send_email": "Send email",
        "wait": "Wait",
        "wait_for": f"Wait for {config.get('event', 'an event')}",
        "branch": "Branch",
        "split": "Random split",
        "goal": f"Goal: {config.get('event', 'an event')}",
    }
    return f"{index + 1}. {words.get(kind, kind)}"
