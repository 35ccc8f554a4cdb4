"""The PostgreSQL tests skip, saying why, where no server is reachable, and fail in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
ONE_PG_TEST = "tests/server/test_storage_backends.py::test_a_snapshot_reads_one_state[postgres]"


def run_pytest(ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["WEDSYNC_TEST_POSTGRES_URL"] = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_PG_TEST],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", [False, True], ids=["developer", "ci"])
def test_an_unreachable_postgres_skips_with_the_reason_or_fails_in_ci(ci):
    done = run_pytest(ci)
    out = done.stdout + done.stderr
    if ci:
        assert done.returncode != 0 and "CI needs PostgreSQL" in out
    else:
        assert done.returncode == 0 and "1 skipped" in out
        assert "PostgreSQL is not reachable at postgresql://" in out
