"""Render the Viral tracker and Attribution pages with seed-demo data to docs/screenshots/.

Runs offscreen against a local server holding `wedsync seed-demo`'s default history, each page
on its own at the room it has in the main window: the default window (1280×800) and the
minimum (960×600), light and dark, and once at full length (``-full``: the whole scrolled page).

    python scripts/insights_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from aiohttp import web  # noqa: E402

from client.credentials import MemoryTokens  # noqa: E402
from client.store import Replica  # noqa: E402
from client.sync import SyncEngine  # noqa: E402
from client.ui.app import application, new_event_loop  # noqa: E402
from client.ui.attribution_view import AttributionPage  # noqa: E402
from client.ui.ops import Ops  # noqa: E402
from client.ui.viral_view import ViralPage  # noqa: E402

PASSWORD = "wedsync-demo"
#: the room a page has in the main window: beside the sidebar (full or compact), above the
#: status bar
ROOMS = {"": (1280 - 210, 800 - 26), "-960x600": (960 - 56, 600 - 26)}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _loaded(page, ops: Ops) -> None:  # noqa: ANN001
    for _ in range(600):
        await ops.drain()
        if page.report is not None and not ops.busy:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{type(page).__name__} did not load")


async def main(out: Path) -> None:
    from devtools.seed import seed_demo
    from server import admin
    from server.app import create_app
    from server.config import ServerConfig

    app = application()
    base = Path(tempfile.mkdtemp(prefix="wedsync-insights-"))
    admin.create_user(
        base / "server", email="anna@demo.wedsync", password=PASSWORD, role="admin", org="Barn"
    )
    seed_demo(
        base / "server", org="Barn", seed=42, suppliers=300, couples=3000, campaigns=12, days=180
    )
    port = _port()
    runner = web.AppRunner(create_app(ServerConfig(data_dir=base / "server", port=port)))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    replica = Replica(base / "anna")
    engine = SyncEngine(replica, tokens=MemoryTokens())
    await engine.login(f"http://127.0.0.1:{port}", "anna@demo.wedsync", PASSWORD, "Anna's laptop")
    ops = Ops(engine)
    out.mkdir(parents=True, exist_ok=True)
    try:
        for dark in (False, True):
            app._wedsync_theme.apply(dark=dark)  # type: ignore[attr-defined]
            for name, cls in (("viral", ViralPage), ("attribution", AttributionPage)):
                page = cls(ops)
                for size_name, size in ROOMS.items():
                    page.resize(*size)
                    page.show()
                    await _loaded(page, ops)
                    suffix = size_name + ("-dark" if dark else "")
                    page.grab().save(str(out / f"{name}{suffix}.png"))
                    print(out / f"{name}{suffix}.png")
                if not dark:  # the whole page, scrolled, at the default width
                    width = ROOMS[""][0]
                    page.resize(width, page.content.sizeHint().height() + 140)
                    await _loaded(page, ops)
                    page.grab().save(str(out / f"{name}-full.png"))
                    print(out / f"{name}-full.png")
                page.hide()
                page.deleteLater()
    finally:
        await ops.drain()
        await engine.close()
        replica.close()
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    application()
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main(args.out))
    sys.exit(0)
