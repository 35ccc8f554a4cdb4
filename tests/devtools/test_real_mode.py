"""`wedsync simulate --real`: real server and client processes, the chaos proxy, SIGKILL."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.test_crash import cli_env

pytestmark = pytest.mark.slow


def test_real_processes_killed_at_random_points_lose_and_duplicate_nothing(tmp_path):
    env = cli_env(tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wedsync",
            "simulate",
            "--real",
            "--seed",
            "2",
            "--devices",
            "2",
            "--steps",
            "30",
            "--json",
            "--workdir",
            str(tmp_path / "run"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["mode"] == "real" and report["ok"]
    assert report["faults"]["sigkill_client"] + report["faults"]["sigkill_server"] > 0
    statuses = {c["name"]: c["status"] for c in report["checkers"]}
    assert statuses["exactly_once"] == "pass" and statuses["convergence"] == "pass"
    assert report["events_captured"] > 0
