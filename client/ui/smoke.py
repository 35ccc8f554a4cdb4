"""A scripted session of the desktop app, for the desktop bundle's smoke test only.

The bundle's entry (``packaging/wedsync_app.py``) runs it when started with
``--smoke-test SCRIPT.json``; ``wedsync app`` has no such option. It drives the real widgets the
way a person would on first start: the sign-in dialog (server, email, password), the main
window, the Capture page's lead form; then it waits until the sync engine's acknowledgement of
that capture arrives. It proves the bundle holds everything a real session needs (Qt's platform
plugin, qasync, aiohttp, pycrdt, SQLite) and bypasses nothing: the server checks the password
as for anyone.

Test-only differences from a normal start, on purpose: the device token is kept in memory (a
build machine has no keyring), and the app closes itself when done. Each step is printed as one
JSON line (``{"step": ..., "at_s": ...}``, seconds since the process started its Python code),
the last one ``{"step": "done", ...}`` with what was synced; any failure is
``{"step": "failed", "error": ...}`` and exit code 1.

Script keys: ``server``, ``email``, ``password``, ``contact`` (the lead's email); optional
``timeout_s`` (default 60) for each wait.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.credentials import MemoryTokens
from client.store import Replica
from client.sync import SyncEngine

from .app import application, new_event_loop
from .capture_view import FORMS
from .login_dialog import LoginDialog
from .main_window import MainWindow

LEAD_FORM = next(i for i, spec in enumerate(FORMS) if spec.kind == "lead")


class SmokeFailed(Exception):
    pass


def run_smoke(profile_dir: Path, script: dict[str, Any], *, started: float) -> int:
    """Run the scripted session; ``started`` is ``time.monotonic()`` at process start. Returns
    the exit code."""
    say = _printer(started)
    app = application()
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    try:
        result = loop.run_until_complete(_session(profile_dir, script, say))
    except Exception as exc:  # reported as the last line, whatever failed
        say("failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    say("done", **result)
    return 0


def _printer(started: float) -> Callable[..., None]:
    def say(step: str, **fields: Any) -> None:
        line = {"step": step, "at_s": round(time.monotonic() - started, 3), **fields}
        print(json.dumps(line, sort_keys=True), flush=True)

    return say


async def _session(profile_dir: Path, script: dict[str, Any], say: Callable) -> dict[str, Any]:
    timeout_s = float(script.get("timeout_s", 60))
    profile_dir.mkdir(parents=True, exist_ok=True)
    replica = Replica(profile_dir)
    engine = SyncEngine(replica, tokens=MemoryTokens())
    window = MainWindow(engine)
    loop = asyncio.get_running_loop()
    try:
        dialog = LoginDialog(window.ops)
        answered = loop.create_future()
        dialog.finished.connect(lambda r: answered.done() or answered.set_result(r))
        dialog.open()
        say("login_dialog")
        dialog.server.setText(script["server"])
        dialog.email.setText(script["email"])
        dialog.password.setText(script["password"])
        dialog.sign_in.click()
        if await asyncio.wait_for(answered, timeout_s) != LoginDialog.DialogCode.Accepted:
            raise SmokeFailed(f"sign-in was not accepted: {dialog.error.text()}")
        say("signed_in", user=await engine.run_db(replica.get_setting, "user_email"))

        acked = loop.create_future()
        engine.trace.append(
            lambda step, _priority, item_type, _items: (
                step == "acked"
                and item_type == "event"
                and not acked.done()
                and acked.set_result(None)
            )
        )
        window.show()
        window.start()
        say("window_shown")
        window.go("capture")
        page = window.capture
        page.choose(LEAD_FORM, focus=True)
        page.inputs["contact"].setText(script["contact"])
        page.submit()
        await window.idle()
        if await engine.run_db(replica.event_count) != 1:
            raise SmokeFailed(f"the capture was not saved: {page.feedback.text()}")
        say("captured")
        await asyncio.wait_for(acked, timeout_s)
        await window.idle()
        depths = await engine.run_db(replica.queue_depths)
        if any(depths.values()):
            raise SmokeFailed(f"still queued after the server's ack: {depths}")
        say("synced")
        return {
            "events": await engine.run_db(replica.event_count),
            "queued": sum(depths.values()),
            "server": await engine.run_db(replica.get_setting, "server_url"),
            "qt_platform": app_platform(),
        }
    finally:
        window.close()
        await window.shutdown()
        await engine.close()
        replica.close()


def app_platform() -> str:
    from PySide6.QtGui import QGuiApplication

    return QGuiApplication.platformName()


def load_script(path: Path) -> dict[str, Any]:
    script = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in ("server", "email", "password", "contact") if k not in script]
    if missing:
        print(f"smoke test script {path} lacks {', '.join(missing)}", file=sys.stderr)
        raise SystemExit(2)
    return script
