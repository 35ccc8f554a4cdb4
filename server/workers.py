"""`wedsync server --workers N`: N server processes on one host, sharing one port and one database.

The parent serves nothing itself: it starts N children (``wedsync server --reuse-port``), each
a whole server with its own writer, readers and connections, bound to the same address with
``SO_REUSEPORT`` so the kernel spreads new connections between them. They share the PostgreSQL
database, which does the coordination (``docs/scaling.md``): SQLite is refused, since a file has
one writer. The parent prints its ``listening`` line once every child listens, restarts a child
that dies (a crash, ``kill -9``: its devices reconnect to the others and resend what was not
acked), and on SIGTERM or SIGINT stops them all, waiting for each to finish its acks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

log = logging.getLogger("wedsync.server.workers")
RESTART_PAUSE_S = (0.5, 5.0)  # first pause before restarting a dead child, and the longest
STOP_TIMEOUT_S = 30.0


class Workers:
    def __init__(self, argv: list[str], count: int) -> None:
        """``argv``: the child's command line after ``wedsync server``."""
        self.argv = argv
        self.count = count
        self.children: list[asyncio.subprocess.Process | None] = [None] * count
        self.restarts = 0
        self._stopping = False

    async def _start(self, index: int) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wedsync",
            "server",
            *self.argv,
            "--reuse-port",
            stdout=asyncio.subprocess.PIPE,
        )
        self.children[index] = proc  # known before it listens: a stop now stops it too
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if b"listening" not in line:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise RuntimeError(f"worker {index} did not start (exit code {proc.returncode})")
        return proc

    async def run(self, *, on_ready) -> None:
        await asyncio.gather(*(self._start(i) for i in range(self.count)))
        on_ready([p.pid for p in self.children if p is not None])
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        watchers = [asyncio.create_task(self._watch(i)) for i in range(self.count)]
        await stop.wait()
        self._stopping = True
        for task in watchers:
            task.cancel()
        await self.stop()

    async def _watch(self, index: int) -> None:
        pause_s = RESTART_PAUSE_S[0]
        while True:
            proc = self.children[index]
            assert proc is not None
            code = await proc.wait()
            if self._stopping:
                return
            log.warning("worker %s (pid %s) exited with %s; restarting it", index, proc.pid, code)
            await asyncio.sleep(pause_s)  # a child failing at once must not spin the host
            try:
                new = await self._start(index)
                self.restarts += 1
                log.info("worker %s restarted as pid %s", index, new.pid)
                pause_s = RESTART_PAUSE_S[0]
            except (RuntimeError, TimeoutError, OSError):
                log.exception("worker %s did not restart", index)
                pause_s = min(pause_s * 2, RESTART_PAUSE_S[1])

    async def stop(self) -> None:
        live = [p for p in self.children if p is not None and p.returncode is None]
        for proc in live:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await asyncio.gather(*(p.wait() for p in live))
        except TimeoutError:
            for proc in live:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()


def child_argv(*, database_url: str, host: str, port: int, data_dir: Path | None) -> list[str]:
    state = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return ["--database-url", database_url, *state, "--host", host, "--port", str(port)]
