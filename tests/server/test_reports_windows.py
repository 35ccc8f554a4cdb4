"""The ROI report from a server's store for windows a new org lives in: before any event, with
touches but no conversion, and the whole seeded history, through the CLI and over HTTP."""

import json
import subprocess
import sys

from devtools.seed import seed_demo
from tests.conftest import start_server

DAY_MS = 86_400_000
UNTIL_MS = 1_719_619_200_000  # 2024-06-29T00:00:00Z


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wedsync", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_report_of_a_window_before_any_conversion_is_valid_and_says_so(tmp_path):
    seeded = seed_demo(
        tmp_path,
        org="Demo",
        seed=3,
        suppliers=20,
        couples=600,
        campaigns=3,
        days=60,
        until_ms=UNTIL_MS,
    )
    start = seeded["from"]
    # the audit's crash: invites sent before the history's first conversion, so a window
    # with touches and no conversion at all (IndexError in paths.py before)
    early = run_cli(
        "report",
        "roi",
        "--data-dir",
        str(tmp_path),
        "--org",
        "Demo",
        "--json",
        "--from",
        "2024-04-15T00:00:00Z",
        "--to",
        "2024-04-30T00:00:00Z",
    )
    assert early.returncode == 0, early.stderr
    report = json.loads(early.stdout)
    assert report["window"]["to_ms"] == start
    assert report["summary"]["conversions"] == 0
    assert report["attribution"]["paths"]["non_converting"] > 0  # touches, no conversion
    assert all(c["ok"] for c in report["checks"])
    assert any("no conversion" in n for n in report["notes"])
    before = run_cli(
        "report",
        "roi",
        "--data-dir",
        str(tmp_path),
        "--org",
        "Demo",
        "--json",
        "--from",
        "2023-12-01T00:00:00Z",
        "--to",
        "2024-01-01T00:00:00Z",
    )
    assert before.returncode == 0, before.stderr
    empty = json.loads(before.stdout)
    assert empty["summary"]["conversions"] == 0
    assert any("no conversion" in n for n in empty["notes"])


async def test_http_report_separates_renewals_and_passes_its_checks(tmp_path):
    server = await start_server(tmp_path)
    try:
        seeded = seed_demo(
            server.data_dir,
            org="Org A",
            seed=5,
            suppliers=30,
            couples=300,
            campaigns=4,
            days=120,
            until_ms=UNTIL_MS,
        )
        viewer = await server.device("v", "viewer")
        report = await viewer.api("GET", "/api/v1/reports/roi")
        s = report["summary"]
        assert (
            s["conversions"]
            == s["acquisition_conversions"]
            + s["retention_conversions"]
            + (s["expansion_conversions"])
        )
        assert s["retention_conversions"] > 0 and s["attribution_scope"] == "acquisition"
        assert [c["name"] for c in report["checks"] if not c["ok"]] == []
        # seed-demo's campaigns hold out 10 % of the couples they enrol: one test each
        tests = report["incrementality"]["tests"]
        assert {t["campaign"] for t in tests} <= {c["campaign"] for c in report["campaigns"]}
        assert tests and all(t["holdout"]["contacts"] > 0 for t in tests)
        assert all(t["treated"]["contacts"] > t["holdout"]["contacts"] for t in tests)
        first_day = await viewer.api(
            "GET",
            f"/api/v1/reports/roi?from={seeded['from'] - 30 * DAY_MS}&to={seeded['from']}",
        )
        assert first_day["summary"]["conversions"] == 0 and first_day["notes"]
    finally:
        for e in server.engines:
            await e.close()
        await server.runner.cleanup()
