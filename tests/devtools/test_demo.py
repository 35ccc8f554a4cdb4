"""`wedsync demo`: what it prints for people and for programs, and what it leaves behind."""

import json
import re
import time

import pytest

from devtools.demo_summary import summary_for_machines
from wedsync.cli import main


def test_money_for_programs_is_integer_cents_and_fractions_have_four_places():
    summary = {
        "campaign_attributed_revenue": 812106.2500000001,
        "cac": 12.249695652173914,
        "conversion_rate": 0.5288793103448276,
        "conversions": 1484,
        "nps": None,
    }
    assert summary_for_machines(summary) == {
        "campaign_attributed_revenue_cents": 81_210_625,
        "cac_cents": 1225,
        "conversion_rate": 0.5289,
        "conversions": 1484,
        "nps": None,
    }


@pytest.fixture
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_demo_speaks_to_a_marketer(tmp_path, capsys, utc):
    args = ["demo", "--headless", "--events", "40", "--data-dir", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    # priority classes by name, never by number or as raw keys
    assert not re.search(r"^\s*\d: \d", out, re.MULTILINE), "a class by its number"
    assert re.search(r"Anna +attribution \d+, marketing \d+, contacts \d+, bulk \d+", out)
    assert "class_done_ms" not in out and "_cents" not in out and "pushed" not in out
    # money with its currency, rates as rounded percentages, times as local date-times
    assert re.search(r"Budget +£700\.00", out)
    assert re.search(r"Revenue +£[\d,]+\.\d\d ", out)
    assert re.search(r"conversion rate \d+\.\d %", out)
    assert re.search(r"History seeded: .* \d{4}-\d\d-\d\d \d\d:\d\d UTC to ", out)
    # campaigns by name, and no ids at all
    assert "Conflict on “Spring open day”: budget changed" in out
    assert not re.search(r"\b[0-9A-HJKMNP-TV-Z]{26}\b", out), "an id in the human output"
    assert "Book stand 14 at the fair. (anna@demo.wedsync, " in out
    assert "Ask the florist for a stand. (ben@demo.wedsync, " in out

    assert main([*args, "--json"]) == 0  # the kept data dir again: for programs
    summary = json.loads(capsys.readouterr().out)
    assert isinstance(summary["report_summary"]["revenue_cents"], int)
    assert isinstance(summary["history_seeded"]["to_ms"], int)
    assert summary["campaign_after_merge"]["budget_cents"] == 70_000
    assert [s["laptop"] for s in summary["syncs"]] == ["anna", "ben", "anna"]
    assert summary["syncs"][0]["pushed"]["0"] > 0


def test_a_demo_without_data_dir_leaves_nothing_in_the_temp_folder(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "TMPDIR": str(tmp_path), "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run(
        [sys.executable, "-m", "wedsync", "demo", "--events", "20", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr
    assert "not opening the desktop app: QT_QPA_PLATFORM=offscreen" in run.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("wedsync-demo-")] == []
