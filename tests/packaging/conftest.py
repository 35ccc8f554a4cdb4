"""Packaging tests: what a person or an operator installs, run from outside the source tree
against a real ``wedsync server`` on 127.0.0.1."""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def outside_env(**extra: str) -> dict[str, str]:
    """The environment without anything that puts the source tree on ``sys.path``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(extra)
    return env


def wedsync(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wedsync", *args],
        cwd=cwd,
        env=outside_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def read_line(stream, timeout_s: float) -> str:
    """The next line of ``stream`` ('' when it ends or stays silent for ``timeout_s``)."""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        if not sel.select(timeout=timeout_s):
            return ""
    return stream.readline()


@contextmanager
def running_server(data_dir: Path, *, cwd: Path) -> Iterator[str]:
    """``wedsync server`` on a free port of 127.0.0.1 until the block ends; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wedsync", "server", "--data-dir", str(data_dir)]
        + ["--port", str(port)],
        cwd=cwd,
        env=outside_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = read_line(proc.stdout, START_TIMEOUT_S)
        assert "listening" in line, f"server did not start: {line!r}"
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
