"""Grading, the overall status, the monitoring file and the report-based checks, as values."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.monitoring.checks import accuracy_check, viral_check
from server.monitoring.config import (
    CHECKS,
    CONFIG_ENV,
    ConfigError,
    MonitorConfig,
    load_config,
    locate,
    parse_config,
)
from server.monitoring.status import Band, Status, graded, overall
from server.monitoring.trends import Readings


def test_the_viral_band_reads_healthy_from_1_2_warning_from_1_0_critical_below():
    band = CHECKS["viral.k"].band
    assert [band.grade(k) for k in (1.5, 1.2, 1.19, 1.0, 0.99, None)] == [
        Status.HEALTHY,
        Status.HEALTHY,
        Status.WARNING,
        Status.WARNING,
        Status.CRITICAL,
        Status.UNKNOWN,
    ]
    latency = CHECKS["content.latency_p99_s"].band  # lower is better: ≤ 2 s, critical > 5 s
    assert [latency.grade(s) for s in (1.9, 2.0, 4.0, 5.0, 5.1)] == [
        Status.HEALTHY,
        Status.HEALTHY,
        Status.WARNING,
        Status.WARNING,
        Status.CRITICAL,
    ]


def test_a_band_whose_critical_side_is_the_better_one_is_refused():
    with pytest.raises(ValueError, match="critical"):
        Band(healthy=1.0, critical=1.2, higher_is_better=True)
    with pytest.raises(ValueError, match="finite"):
        Band(healthy=float("nan"), critical=1.0, higher_is_better=True)


def _k(value, org="o1"):
    return graded(
        name="viral.k",
        title="Viral coefficient K",
        group="viral",
        org_id=org,
        value=value,
        unit="",
        band=CHECKS["viral.k"].band,
        at_ms=0,
    )


def test_overall_is_the_worst_known_status_with_critical_reasons_first():
    bounce = graded(
        name="delivery.bounce_rate",
        title="Bounce rate",
        group="delivery",
        org_id="o1",
        value=0.03,
        unit="ratio",
        band=CHECKS["delivery.bounce_rate"].band,
        at_ms=0,
    )
    result = overall([bounce, _k(0.8), _k(None, "o2"), _k(1.3, "o3")])
    assert result.status is Status.CRITICAL
    assert result.reasons == (
        "Viral coefficient K 0.8 (target ≥ 1.2): critical",
        "Bounce rate 3.0 % (target ≤ 2.0 %): warning",
    )
    assert result.counts == {"healthy": 1, "warning": 1, "critical": 1, "unknown": 1}
    assert overall([_k(None), _k(1.3)]).status is Status.HEALTHY  # unknown never worsens it


def test_the_monitoring_file_sets_bands_per_org_and_names_a_wrong_key(tmp_path, monkeypatch):
    (tmp_path / "hook.secret").write_text("s" * 32)
    path = tmp_path / "monitoring.toml"
    path.write_text(
        '[thresholds."viral.k"]\nhealthy = 1.5\n\n'
        '[orgs."Org A".thresholds."viral.k"]\nhealthy = 2.0\ncritical = 1.5\n\n'
        '[alerts]\nwebhook_url = "https://ops.test/hook"\nwebhook_secret_file = "hook.secret"\n'
        'cooldown_s = 60\n\n[metrics]\nport = 9464\n\n[logs]\nformat = "json"\n'
    )
    cfg = load_config(path)
    assert cfg.band("viral.k", "Org A") == Band(2.0, 1.5, True)
    assert cfg.band("viral.k", "Org B") == Band(1.5, 1.0, True)  # the server's, critical default
    assert cfg.band("delivery.bounce_rate") == CHECKS["delivery.bounce_rate"].band
    assert cfg.alerts.webhook.secret == b"s" * 32 and cfg.alerts.cooldown_s == 60
    assert "s" * 32 not in repr(cfg)  # secrets stay out of reprs (and logs)
    assert (cfg.metrics.port, cfg.log_format) == (9464, "json")

    for text, message in [
        ("[monitor]\ninterval = 5\n", "unknown key monitor.interval"),
        ('[thresholds."viral.kk"]\nhealthy = 1\n', "unknown check 'viral.kk'"),
        ('[thresholds."viral.k"]\nhealthy = 0.9\n', "critical .1. above healthy .0.9."),
        ('[orgs."A".thresholds."storage.wal_bytes"]\nhealthy = 1\n', "a server-wide check"),
        ('[alerts]\nwebhook_url = "https://x.test"\n', "needs webhook_secret_file"),
        ('[alerts]\nwebhook_url = "x"\nwebhook_secret_env = "NOPE_X"\n', r"\$NOPE_X is not set"),
        ('[logs]\nformat = "xml"\n', "logs.format"),
    ]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(path)

    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert locate(None) == path
    monkeypatch.delenv(CONFIG_ENV)
    assert locate(tmp_path) == path and locate(tmp_path / "elsewhere") is None
    assert parse_config({}) == MonitorConfig()
    assert parse_config({"alerts": {"enabled": False}}).alerts.enabled is False


def _report(**attribution):
    return {"attribution": {"roi_model": "linear", **attribution}}


def test_attribution_accuracy_against_a_truth_or_against_holdout_lift():
    cfg = MonitorConfig()
    truth = {"available": True, "models": {"linear": {"total_variation": 0.06}}}
    check = accuracy_check(cfg, "o1", "Org", _report(accuracy=truth), 0)
    assert check.status is Status.HEALTHY and check.value == pytest.approx(0.94)
    assert "against the known truth" in check.message

    lift = {"calibrated": True, "attributed_conversions": 40.0, "incremental_conversions": 34.0}
    check = accuracy_check(cfg, "o1", "Org", _report(calibration={"linear": lift}), 0)
    assert check.value == pytest.approx(0.85) and check.status is Status.WARNING
    lift = {**lift, "incremental_conversions": 20.0, "campaigns": ["c1", "c2"]}
    check = accuracy_check(cfg, "o1", "Org", _report(calibration={"linear": lift}), 0)
    assert check.status is Status.CRITICAL and "2 tested campaigns" in check.message

    check = accuracy_check(cfg, "o1", "Org", _report(accuracy={"available": False}), 0)
    assert check.status is Status.UNKNOWN and "no ground truth" in check.message


def test_viral_trend_is_the_reports_weekly_slope():
    report = {
        "viral": {
            "cycle": {"k": 1.1, "joined": 20, "accepted": 22},
            "trend": {"slope_per_week": -0.08},
        }
    }
    check = viral_check(MonitorConfig(), "o1", "Org", report, 0)
    assert check.status is Status.WARNING
    assert (check.trend.direction, check.trend.improving, check.trend.over_s) == (
        "down",
        False,
        7 * 86400,
    )
    assert "-0.08 per week" in check.message


def test_readings_make_a_trend_over_the_window():
    band = CHECKS["delivery.bounce_rate"].band
    readings = Readings()
    key = ("delivery.bounce_rate", "o1")
    readings.add(key, 0, 0.01)
    assert readings.trend(key, 0, 3600, band) is None  # one reading: nothing to compare
    readings.add(key, 1_000_000, 0.03)
    trend = readings.trend(key, 1_000_000, 3600, band)
    assert (trend.direction, trend.improving, trend.over_s) == ("up", False, 1000)
    readings.add(key, 4_000_000, 0.0301)  # the first reading left the hour
    trend = readings.trend(key, 4_000_000, 3600, band)
    assert trend.direction == "flat" and trend.over_s == 3000


def test_the_documented_monitoring_file_is_valid(tmp_path, monkeypatch):
    doc = (Path(__file__).resolve().parents[3] / "docs" / "monitoring.md").read_text()
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "monitoring.toml").write_text(example)
    (tmp_path / "webhook.secret").write_text("w" * 32)
    (tmp_path / "metrics.token").write_text("m" * 32)
    monkeypatch.setenv("HILLFARM_WEBHOOK_SECRET", "h" * 32)
    cfg = load_config(tmp_path / "monitoring.toml")
    assert cfg.band("viral.k", "Hill Farm Weddings") == Band(1.5, 1.1, True)
    assert cfg.org_webhooks["Hill Farm Weddings"].secret == b"h" * 32
    assert (cfg.metrics.port, cfg.metrics.token, cfg.log_format) == (9464, "m" * 32, "json")
