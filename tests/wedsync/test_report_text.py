"""`wedsync report roi` for people: money with its currency, rates against their targets,
campaigns and recommendations by name, local times; `--json` keeps the report as it is."""

from __future__ import annotations

import json
import re

from devtools.seed import seed_demo
from wedsync.cli import main
from wedsync.report_text import report_lines


def test_the_roi_report_reads_in_plain_words(tmp_path, capsys):
    seed_demo(tmp_path / "srv", org="Barn", seed=3, suppliers=40, couples=200, campaigns=7, days=60)
    assert main(["report", "roi", "--data-dir", str(tmp_path / "srv"), "--org", "Barn"]) == 0
    text = capsys.readouterr().out
    assert (
        main(["report", "roi", "--data-dir", str(tmp_path / "srv"), "--org", "Barn", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)

    summary = report["summary"]
    revenue = f"£{summary['revenue']:,.2f}"
    assert "Revenue" in text and revenue in text
    assert f"{summary['total_roi_pct']:,.0f} % (target above 300 %" in text
    viral = summary["viral_coefficient"]
    assert "Viral coefficient" in text and (viral is None or f"{viral:.2f} (target 1.2: " in text)
    for campaign in report["campaigns"][:3]:  # by name, never by id
        assert campaign["name"] in text
    ids = {c["campaign"] for c in report["campaigns"]} | {
        r["campaign"] for r in report["recommendations"] if r.get("campaign")
    }
    assert not any(i in text for i in ids)
    assert not re.search(r"_ms\b|\b1[67]\d{11}\b", text)  # no raw keys or epoch milliseconds


def test_targets_and_missing_figures_are_said_plainly():
    text = report_lines(
        {
            "summary": {"total_roi_pct": 250.0, "conversion_rate": 0.45, "viral_coefficient": 1.1},
            "campaigns": [],
            "recommendations": [{"action": "boost_referrals"}],
        }
    )
    assert "250 % (target above 300 %: below target)" in text
    assert "45.0 % (target above 40 %: on target)" in text
    assert "1.10 (target 1.2: warning)" in text
    assert "Revenue  " in text and "—" in text  # a figure the report lacks is a dash
    assert "  - Boost referrals" in text


def test_accuracy_the_caveat_and_spend_are_told():
    text = report_lines(
        {
            "attribution": {
                "roi_model": "linear",
                "accuracy": {
                    "available": True,
                    "best_model": "last_touch",
                    "models": {"linear": {"total_variation": 0.175}},
                },
                "caveat": "Path-based attribution is correlational. " * 5,
            },
            "costs": {
                "spend_entries": [
                    {
                        "channel": "wedding_fair",
                        "amount": 1200.0,
                        "from_ms": 1_790_812_800_000,  # 2026-10-01
                        "to_ms": 1_793_491_200_000,  # 2026-11-01, exclusive
                    }
                ]
            },
        }
    )
    flat = " ".join(line.strip() for line in text.splitlines())
    assert "the linear model is off by 17.5 % of the credit; closest: the last touch model" in flat
    assert all(len(line) <= 100 for line in text.splitlines())  # the caveat is wrapped
    assert "Spend recorded (1 entry)" in text
    assert "wedding fair  £1,200.00, 2026-10-01 to 2026-10-31" in text
    no_truth = report_lines({"attribution": {"accuracy": {"available": False, "reason": "none"}}})
    assert "Accuracy not measured: none" in no_truth
