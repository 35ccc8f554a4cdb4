"""The desktop bundle (``packaging/build_bundle.sh``, PyInstaller, one folder): built once for
this module, then started the way a person starts it, outside the source tree: on Qt's
offscreen platform it signs in to a real server, captures a lead and syncs it
(``--smoke-test``, ``client.ui.smoke``), and the server holds the event.

Slow: the build takes about a minute of CPU. Skipped without PyInstaller (the ``package``
extra), which ``.ci/run`` installs.
"""

from __future__ import annotations

import json
import struct
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import PASSWORD, ROOT, outside_env, read_line, running_server, wedsync

pytest.importorskip("PyInstaller", reason="the package extra (PyInstaller) is not installed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle")
    subprocess.run(
        ["bash", str(ROOT / "packaging" / "build_bundle.sh"), str(out / "dist"), str(out / "work")],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return out / "dist" / "wedsync-app"


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_bundle_is_one_folder_with_a_menu_entry_an_icon_and_no_unused_qt(bundle, tmp_path):
    entry = dict(
        line.split("=", 1)
        for line in (bundle / "wedsync.desktop").read_text().splitlines()
        if "=" in line
    )
    assert entry["Exec"] == "wedsync-app" and (bundle / entry["Exec"]).is_file()
    assert entry["Icon"] == "wedsync" and entry["Type"] == "Application"
    assert _png_size(bundle / "wedsync.png") == (256, 256)
    for size in (16, 32, 48, 64, 128, 256):
        icon = bundle / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "wedsync.png"
        assert _png_size(icon) == (size, size)
    internal = bundle / "_internal"
    modules = {p.name.split(".")[0] for p in (internal / "PySide6").glob("Qt*.so")}
    assert modules == {"QtCore", "QtGui", "QtWidgets"}
    libraries = " ".join(p.name for p in internal.rglob("libQt6*"))
    for name in ("Qml", "Quick", "Sql", "Test", "WebEngine", "Network", "Pdf", "Multimedia"):
        assert f"libQt6{name}" not in libraries
    assert not any(internal.rglob("server")) and not any(internal.rglob("devtools"))
    version = subprocess.run(
        [str(bundle / "wedsync-app"), "--version"],
        cwd=tmp_path,
        env=outside_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("wedsync-app 0.")


def test_the_bundled_app_signs_in_captures_a_lead_and_syncs_it(bundle, tmp_path):
    data = tmp_path / "server"
    wedsync(
        "admin", "--data-dir", str(data), "create-user", "--email", "mia@venue.test",
        "--password", PASSWORD, "--role", "marketer", cwd=tmp_path,
    )  # fmt: skip
    with running_server(data, cwd=tmp_path) as url:
        script = tmp_path / "smoke.json"
        script.write_text(
            json.dumps(
                {
                    "server": url,
                    "email": "mia@venue.test",
                    "password": PASSWORD,
                    "contact": "ella@example.com",
                }  # fmt: skip
            )
        )
        started = time.monotonic()
        app = subprocess.Popen(
            [str(bundle / "wedsync-app"), "--profile", str(tmp_path / "laptop")]
            + ["--smoke-test", str(script)],
            cwd=tmp_path,
            env=outside_env(QT_QPA_PLATFORM="offscreen"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        steps, seen = [], {}
        while line := read_line(app.stdout, 120):
            step = json.loads(line)
            steps.append(step)
            seen[step["step"]] = time.monotonic() - started
        assert app.wait(timeout=60) == 0, app.stderr.read()
    assert [s["step"] for s in steps] == [
        "login_dialog", "signed_in", "window_shown", "captured", "synced", "done",
    ]  # fmt: skip
    done = steps[-1]
    assert done["events"] == 1 and done["queued"] == 0 and done["qt_platform"] == "offscreen"
    stats = json.loads(
        wedsync("admin", "--data-dir", str(data), "stats", "--json", cwd=tmp_path).stdout
    )
    assert stats["events"]["total"] == 1 and stats["events"]["by_kind"] == {"lead": 1}
    assert stats["devices"] == 1
    print(
        f"cold start to the sign-in dialog: {seen['login_dialog']:.2f} s; synced: {seen['synced']:.2f} s"
    )
