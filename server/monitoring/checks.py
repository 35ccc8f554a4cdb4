"""Every health check: readings in, graded ``Check`` values out (pure: no I/O, no clock).

The readings come from ``probes`` (the store, the disk, the scheduler, SMTP), ``recorders``
(what the engine and content generation reported), the writer's stats and the ROI report;
the bands from ``config`` (per org where the check is). What each figure means is in
``docs/monitoring.md``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shared.content.recorder import percentile

from .config import CHECKS, CLASS_NAMES, MonitorConfig
from .probes import BACKLOG_COUNT_LIMIT, BacklogReading, SmtpProbe, StoreReading
from .recorders import ContentFigures, DeliveryFigures
from .status import Check, Status, Trend, format_value, graded
from .trends import make_trend

WEEK_S = 7 * 86_400


def _check(
    cfg: MonitorConfig,
    name: str,
    *,
    org_id: str | None,
    org_name: str | None,
    value: float | None,
    at_ms: int,
    **kwargs: Any,
) -> Check:
    spec = CHECKS[name]
    return graded(
        name=name,
        title=spec.title,
        group=spec.group,
        org_id=org_id,
        value=value,
        unit=spec.unit,
        band=cfg.band(name, org_name if spec.per_org else None),
        at_ms=at_ms,
        **kwargs,
    )


def delivery_checks(
    cfg: MonitorConfig, org_id: str, org_name: str | None, figures: DeliveryFigures, at_ms: int
) -> list[Check]:
    window = f"{format_value(cfg.delivery_window_s, 's')} window"
    few = figures.finished < cfg.min_sends
    too_few = f"{figures.finished} sends in the {window} (fewer than {cfg.min_sends})"
    counts = dict(figures.counts)
    lat = figures.trigger_to_send_s
    common = {"org_id": org_id, "org_name": org_name, "at_ms": at_ms}
    return [
        _check(
            cfg,
            "delivery.trigger_to_send_p50_s",
            value=percentile(lat, 50),
            unknown=f"no accepted send in the {window}",
            detail={"sends": len(lat)},
            **common,
        ),
        _check(
            cfg,
            "delivery.trigger_to_send_p99_s",
            value=percentile(lat, 99),
            unknown=f"no accepted send in the {window}",
            detail={"sends": len(lat)},
            **common,
        ),
        _check(
            cfg,
            "delivery.send_success_rate",
            value=None if few else figures.success_rate,
            unknown=too_few,
            detail=counts,
            says=None if few else _counts_text(counts),
            **common,
        ),
        _check(
            cfg,
            "delivery.bounce_rate",
            value=None if few else figures.bounce_rate,
            unknown=too_few,
            detail=counts,
            says=None
            if few
            else f"{counts['bounced']} of {counts['sent'] + counts['bounced']} bounced",
            **common,
        ),
    ]


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n)


def trigger_check(cfg: MonitorConfig, p99_ms: float | None, n: int, at_ms: int) -> Check:
    return _check(
        cfg,
        "delivery.trigger_evaluation_p99_ms",
        org_id=None,
        org_name=None,
        value=p99_ms,
        at_ms=at_ms,
        unknown="no trigger evaluated yet",
        detail={"evaluations": n},
    )


def smtp_check(
    cfg: MonitorConfig,
    org_id: str,
    org_name: str | None,
    failures: int,
    probe: SmtpProbe | None,
    at_ms: int,
) -> Check:
    if probe is None:
        return _check(
            cfg,
            "delivery.smtp_failures",
            org_id=org_id,
            org_name=org_name,
            value=None,
            at_ms=at_ms,
            unknown="no SMTP server configured for this org",
        )
    check = _check(
        cfg,
        "delivery.smtp_failures",
        org_id=org_id,
        org_name=org_name,
        value=failures,
        at_ms=at_ms,
        detail={"probe_s": round(probe.seconds, 4), "reply": probe.detail},
    )
    if probe.ok:
        message = f"SMTP server reachable ({probe.detail}, {probe.seconds * 1000:.0f} ms)"
    else:
        message = (
            f"SMTP server unreachable, {failures} probe{'s' if failures != 1 else ''} in a row: "
            f"{probe.detail}"
        )
    return _with_message(check, message)


def backlog_check(cfg: MonitorConfig, reading: BacklogReading | None, now_ms: int) -> Check:
    if reading is None:
        return _check(
            cfg,
            "delivery.scheduler_backlog_s",
            org_id=None,
            org_name=None,
            value=None,
            at_ms=now_ms,
            unknown="this store keeps no automation rows",
        )
    oldest = reading.oldest_due_ms
    overdue_s = max(0.0, (now_ms - oldest) / 1000) if oldest is not None else 0.0
    count = reading.overdue_enrolments
    orgs = len(reading.orgs_with_overdue_sends)
    parts = []
    if count:
        more = "+" if count >= BACKLOG_COUNT_LIMIT else ""
        parts.append(f"{count}{more} enrolment{'s' if count != 1 else ''} due")
    if orgs:
        parts.append(f"queued sends overdue in {orgs} org{'s' if orgs != 1 else ''}")
    says = ", ".join(parts) if overdue_s > 0 and parts else "nothing overdue"
    return _check(
        cfg,
        "delivery.scheduler_backlog_s",
        org_id=None,
        org_name=None,
        value=overdue_s,
        at_ms=now_ms,
        says=says,
        detail={"overdue_enrolments": count, "orgs_with_overdue_sends": orgs},
    )


def content_checks(
    cfg: MonitorConfig, org_id: str, org_name: str | None, figures: ContentFigures, at_ms: int
) -> list[Check]:
    few = figures.count < cfg.min_generations
    window = format_value(cfg.content_window_s, "s")
    unknown = f"{figures.count} generations in the last {window} (fewer than {cfg.min_generations})"
    detail = {"generations": figures.count, "fallbacks": figures.fallbacks}
    common = {"org_id": org_id, "org_name": org_name, "at_ms": at_ms, "detail": detail}
    return [
        _check(
            cfg,
            "content.success_rate",
            value=None if few else figures.success_rate,
            unknown=unknown,
            says=None if few else f"{figures.count} generations",
            **common,
        ),
        _check(
            cfg,
            "content.latency_p99_s",
            value=None if few else figures.p99_s,
            unknown=unknown,
            **common,
        ),
    ]


def accuracy_check(
    cfg: MonitorConfig, org_id: str, org_name: str | None, report: dict[str, Any], at_ms: int
) -> Check:
    """The ROI report's own accuracy: against a known truth when the data have one (1 − the
    total variation of the ROI model's channel shares), else against the holdout tests' measured
    lift (the smaller of attributed and incremental conversions over the larger)."""
    attribution = report.get("attribution") or {}
    model = attribution.get("roi_model", "linear")
    truth = attribution.get("accuracy") or {}
    value = None
    basis = ""
    if truth.get("available") and model in truth.get("models", {}):
        value = max(0.0, 1.0 - float(truth["models"][model]["total_variation"]))
        basis = f"{model} model against the known truth"
    else:
        cal = (attribution.get("calibration") or {}).get(model) or {}
        if cal.get("calibrated"):
            attributed = float(cal["attributed_conversions"])
            incremental = max(0.0, float(cal["incremental_conversions"]))
            high = max(attributed, incremental)
            value = min(attributed, incremental) / high if high > 0 else None
            basis = (
                f"{model} model: {attributed:.1f} conversions attributed to "
                f"{len(cal.get('campaigns', []))} tested campaigns, {incremental:.1f} measured "
                "against their control groups"
            )
    return _check(
        cfg,
        "attribution.accuracy",
        org_id=org_id,
        org_name=org_name,
        value=value,
        at_ms=at_ms,
        unknown="no ground truth and no holdout test with enough data to measure it against",
        says=basis or None,
        detail={"model": model},
    )


def viral_check(
    cfg: MonitorConfig, org_id: str, org_name: str | None, report: dict[str, Any], at_ms: int
) -> Check:
    """Cycle K of the report's window (complete weekly cohorts), with the 7-day trend: the
    least-squares slope of K per weekly cohort."""
    viral = report.get("viral") or {}
    cycle = viral.get("cycle") or {}
    k = cycle.get("k")
    slope = (viral.get("trend") or {}).get("slope_per_week")
    band = cfg.band("viral.k", org_name)
    trend: Trend | None = make_trend(slope, WEEK_S, band) if slope is not None else None
    says = None
    if k is not None:
        says = f"{cycle.get('accepted', 0)} accepted invites from {cycle.get('joined', 0)} joiners"
        if trend is not None:
            says += f", {slope:+.2f} per week"
    return _check(
        cfg,
        "viral.k",
        org_id=org_id,
        org_name=org_name,
        value=k,
        at_ms=at_ms,
        unknown=cycle.get("reason") or "no viral data",
        says=says,
        trend=trend,
        detail={
            "joined": cycle.get("joined"),
            "accepted": cycle.get("accepted"),
            "cohorts": cycle.get("cohorts"),
            "slope_per_week": slope,
        },
    )


def sync_checks(
    cfg: MonitorConfig,
    *,
    queued: dict[int, int],
    waits_s: dict[int, float],
    busy_ratio: float | None,
    at_ms: int,
) -> list[Check]:
    checks = []
    for cls, name in enumerate(CLASS_NAMES):
        checks.append(
            _check(
                cfg,
                f"sync.queue_items.{name}",
                org_id=None,
                org_name=None,
                value=queued.get(cls, 0),
                at_ms=at_ms,
            )
        )
        checks.append(
            _check(
                cfg,
                f"sync.lag_s.{name}",
                org_id=None,
                org_name=None,
                value=waits_s.get(cls, 0.0),
                at_ms=at_ms,
                says="the oldest queued batch's wait",
            )
        )
    checks.append(
        _check(
            cfg,
            "sync.writer_busy_ratio",
            org_id=None,
            org_name=None,
            value=busy_ratio,
            at_ms=at_ms,
            unknown="measured from the second reading on",
        )
    )
    return checks


def silence_check(
    cfg: MonitorConfig,
    org_id: str,
    org_name: str | None,
    last_ms: int | None,
    connected: int,
    at_ms: int,
) -> Check:
    value = None if last_ms is None else max(0.0, (at_ms - last_ms) / 1000)
    says = f"{connected} device{'s' if connected != 1 else ''} connected now"
    return _check(
        cfg,
        "sync.device_silence_s",
        org_id=org_id,
        org_name=org_name,
        value=value,
        at_ms=at_ms,
        unknown="no device of this org has synced yet",
        says=says,
        detail={"connected": connected, "last_sync_ms": last_ms},
    )


def storage_checks(cfg: MonitorConfig, reading: StoreReading, at_ms: int) -> list[Check]:
    common: dict[str, Any] = {"org_id": None, "org_name": None, "at_ms": at_ms}
    reachable = _check(
        cfg,
        "storage.reachable",
        value=1.0 if reading.reachable else 0.0,
        detail={"probe_s": round(reading.probe_s, 4)},
        **common,
    )
    reachable = _with_message(
        reachable,
        f"Database reachable ({reading.probe_s * 1000:.0f} ms)"
        if reading.reachable
        else "Database not reachable: the store did not answer",
    )
    free_ratio = (
        reading.disk_free_bytes / reading.disk_total_bytes
        if reading.disk_total_bytes and reading.disk_free_bytes is not None
        else None
    )
    checks = [
        reachable,
        _check(
            cfg, "storage.disk_free_ratio", value=free_ratio, unknown="disk not readable", **common
        ),
        _check(
            cfg,
            "storage.disk_free_bytes",
            value=reading.disk_free_bytes,
            unknown="disk not readable",
            **common,
        ),
    ]
    if reading.wal_bytes is not None:  # an embedded store's log beside the server
        checks.append(_check(cfg, "storage.wal_bytes", value=reading.wal_bytes, **common))
    if not reading.pool_max or reading.pool_in_use is None:
        return checks  # no connection pool (SQLite)
    saturation = reading.pool_in_use / reading.pool_max
    checks.append(
        _check(
            cfg,
            "storage.pool_saturation",
            value=saturation,
            says=(
                f"{reading.pool_in_use} of {reading.pool_max} connections in use, "
                f"{reading.pool_waiting} waiting"
            ),
            **common,
        )
    )
    return checks


def _with_message(check: Check, text: str) -> Check:
    if check.status not in (Status.HEALTHY, Status.UNKNOWN):
        text += f" ({check.status})"
    return replace(check, message=text)
