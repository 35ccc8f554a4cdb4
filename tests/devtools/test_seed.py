"""`wedsync seed-demo` writes history that ends today (or at --until), so a fresh demo's
reports, predictions and forecasts run on recent data rather than on a fixed past window."""

from __future__ import annotations

import json
import time

import pytest

from devtools.seed import DAY_MS, seed_demo
from server.admin import report_roi
from wedsync.cli import main

SMALL = {"seed": 2, "suppliers": 4, "couples": 30, "campaigns": 2, "days": 20}


def test_history_ends_where_until_says_and_spans_the_days_asked(tmp_path):
    until = 1_717_200_000_000  # 2024-06-01
    summary = seed_demo(tmp_path, org="Org A", until_ms=until, **SMALL)
    assert summary["to"] == until and summary["from"] == until - 20 * DAY_MS


def test_by_default_history_ends_at_the_start_of_today(tmp_path):
    before = time.time_ns() // 1_000_000 // DAY_MS * DAY_MS
    summary = seed_demo(tmp_path, org="Org A", **SMALL)
    after = time.time_ns() // 1_000_000 // DAY_MS * DAY_MS
    assert summary["to"] in (before, after)


@pytest.fixture
def utc(monkeypatch):
    """Local time is UTC for this test (the human output prints local date-times)."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_command_takes_until_as_an_iso_time(tmp_path, capsys, utc):
    args = ["seed-demo", "--data-dir", str(tmp_path), "--org", "Org A", "--json"]
    args += [f"--{k}={v}" for k, v in SMALL.items()]
    assert main([*args, "--until", "2024-06-01T00:00:00Z"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["to"] == 1_717_200_000_000
    assert main([a for a in args if a != "--json"] + ["--until", "2024-06-01"]) == 0
    human = capsys.readouterr().out
    assert "History from 2024-05-12 00:00 UTC to 2024-06-01 00:00 UTC" in human


def test_a_fresh_seed_gives_the_report_trained_predictions_and_a_forecast(tmp_path):
    seed_demo(tmp_path, org="Org A", seed=7, suppliers=120, couples=1200, campaigns=8, days=120)
    report = report_roi(tmp_path, org="Org A", from_ms=None, to_ms=None)
    predictions = report["predictions"]
    assert predictions["churn"]["trained"] and predictions["conversion"]["trained"]
    forecast = report["insights"]["forecast"]
    assert forecast["conversions"]["expected"] > 10
