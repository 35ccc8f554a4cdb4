"""The systemd unit of the server: ``systemd-analyze verify`` accepts it, ``systemd-analyze
security`` rates its exposure low, and it keeps what the operations guide promises (its own
user, a read-only system but for the data directory, readiness through ``/readyz``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

UNIT = ROOT / "packaging" / "wedsync-server.service"
SYSTEM_UNITS = Path("/usr/lib/systemd/system")

pytestmark = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or not SYSTEM_UNITS.is_dir(),
    reason="systemd-analyze is not installed (Debian's systemd package)",
)


def _directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A file-system root with systemd's own units, this unit, and stand-ins for the programs
    it runs (verify checks that each is executable)."""
    shutil.copytree(SYSTEM_UNITS, tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    shutil.copy(UNIT, tmp_path / "etc/systemd/system" / UNIT.name)
    for line in ("ExecStart", "ExecStartPost"):
        program = Path(_directives()[line][0].split()[0])
        stand_in = tmp_path / program.relative_to("/")
        stand_in.parent.mkdir(parents=True, exist_ok=True)
        stand_in.write_text("#!/bin/sh\n")
        stand_in.chmod(0o755)
    return tmp_path


def test_systemd_verifies_the_unit(root):
    done = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", f"/etc/systemd/system/{UNIT.name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_its_exposure_is_rated_low(root):
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", f"--root={root}"]
        + [f"/etc/systemd/system/{UNIT.name}"],
        capture_output=True,
        text=True,
        check=False,
    )
    level = re.search(r"Overall exposure level for \S+: ([\d.]+)", done.stdout)
    assert level is not None, done.stdout + done.stderr
    assert float(level.group(1)) < 2.0  # systemd's scale: 0 (locked down) to 10 (exposed)


def test_the_unit_keeps_the_hardening_the_guide_describes():
    d = _directives()
    assert d["User"] == ["wedsync"] and d["Group"] == ["wedsync"]
    assert d["ProtectSystem"] == ["strict"] and d["ReadWritePaths"] == ["/var/lib/wedsync"]
    assert d["NoNewPrivileges"] == ["true"] and d["Restart"] == ["on-failure"]
    assert "--data-dir /var/lib/wedsync" in d["ExecStart"][0]
    assert d["ExecStartPost"][0].endswith("http://127.0.0.1:8765/readyz")
    assert d["UMask"] == ["0077"] and d["LimitNOFILE"] == ["65536"]
    assert d["CapabilityBoundingSet"] == [""]
