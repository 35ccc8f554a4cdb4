from devtools.demo import _rounded


def test_the_demo_prints_money_to_the_cent_and_fractions_to_four_places():
    summary = {
        "campaign_attributed_revenue": 812106.2500000001,
        "cac": 12.249695652173914,
        "conversion_rate": 0.5288793103448276,
        "conversions": 1484,
        "nps": None,
    }
    assert _rounded(summary) == {
        "campaign_attributed_revenue": 812106.25,
        "cac": 12.25,
        "conversion_rate": 0.5289,
        "conversions": 1484,
        "nps": None,
    }


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
