"""Check a built wheel the way an operator installs it: into a fresh virtual environment, without
extras, run from a directory outside the source tree with nothing of the tree on ``sys.path``.

    python packaging/check_install.py dist/wedsync_marketing-*.whl

Fails (exit 1, saying what) unless, in that environment:

* no Qt was installed (``PySide6``, ``shiboken6``, ``qasync``): the server-only install;
* ``wedsync --version`` prints the wheel's version;
* the packages load from the environment's site-packages, not from the source tree;
* ``wedsync server --help`` and ``wedsync demo --headless`` run (the demo uses the client's sync
  engine, aiohttp and no Qt);
* ``wedsync server`` starts, answers ``GET /readyz``, serves the dashboard's sign-in page and
  its script (package data the wheel must carry), and stops cleanly on SIGTERM.

Standard library only: it runs with any Python 3.11+.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
import venv
from pathlib import Path

SOURCE_TREE = Path(__file__).resolve().parents[1]
QT_DISTRIBUTIONS = ("pyside6", "pyside6-essentials", "pyside6-addons", "shiboken6", "qasync")
START_TIMEOUT_S = 60


class CheckFailed(Exception):
    pass


def _env() -> dict[str, str]:
    """The caller's environment without anything that would put the source tree (or another
    environment) on ``sys.path``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.pop("VIRTUAL_ENV", None)
    env["PYTHONSAFEPATH"] = "1"  # no current directory on sys.path either
    return env


def _run(cmd: list[str], *, cwd: Path, timeout_s: float = 600) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        raise CheckFailed(
            f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(wheel: Path, workdir: Path) -> list[str]:
    """Run every check; returns what passed, one line each."""
    passed = []
    version = re.match(r"wedsync_marketing-([^-]+)-", wheel.name)
    if version is None:
        raise CheckFailed(f"{wheel.name} is not a wedsync-marketing wheel")
    env_dir = workdir / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / "bin"
    python, wedsync = bindir / "python", bindir / "wedsync"
    outside = workdir / "elsewhere"
    outside.mkdir()
    _run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=outside)

    installed = json.loads(_run([str(python), "-m", "pip", "list", "--format=json"], cwd=outside))
    names = {d["name"].lower() for d in installed}
    qt = sorted(names & set(QT_DISTRIBUTIONS))
    if qt:
        raise CheckFailed(f"the install without extras pulled in Qt: {', '.join(qt)}")
    passed.append(f"no Qt among {len(names)} installed distributions")

    out = _run([str(wedsync), "--version"], cwd=outside)
    if f"wedsync {version.group(1)} " not in out:
        raise CheckFailed(f"wedsync --version printed {out!r}, not version {version.group(1)}")
    passed.append(out.strip())

    where = _run(
        [
            str(python),
            "-c",
            "import client, devtools, server, shared, wedsync; print(server.__file__)",
        ],
        cwd=outside,
    ).strip()
    if Path(where).resolve().is_relative_to(SOURCE_TREE) or "site-packages" not in where:
        raise CheckFailed(f"the server package loads from {where}, not the environment")
    passed.append(f"packages load from {Path(where).parent.parent}")

    if "--data-dir" not in _run([str(wedsync), "server", "--help"], cwd=outside):
        raise CheckFailed("wedsync server --help does not describe --data-dir")
    passed.append("wedsync server --help")

    demo = json.loads(
        _run([str(wedsync), "demo", "--headless", "--events", "200", "--json"], cwd=outside)
    )
    if demo.get("replicas_identical") is not True:
        raise CheckFailed("the demo's replicas differ")
    passed.append("wedsync demo --headless")

    passed.append(_check_server(wedsync, workdir / "data", outside))
    return passed


def _check_server(wedsync: Path, data_dir: Path, cwd: Path) -> str:
    port = _free_port()
    proc = subprocess.Popen(
        [str(wedsync), "server", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _first_line(proc)
        if "listening" not in line:
            raise CheckFailed(
                f"wedsync server did not start: {line!r} {proc.stderr.read()[-2000:]}"
            )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=10) as r:
            ready = json.load(r)
        if ready.get("ready") is not True:
            raise CheckFailed(f"wedsync server is not ready: {ready}")
        for path, needle in (
            ("/dashboard/login", b'name="csrf"'),
            ("/dashboard/static/dashboard.js", b"EventSource"),
        ):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
                if needle not in r.read():
                    raise CheckFailed(f"{path} of the installed server lacks {needle!r}")
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        if code != 0:
            raise CheckFailed(f"wedsync server exited {code} on SIGTERM")
        return "wedsync server answered /readyz and /dashboard and stopped on SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _first_line(proc: subprocess.Popen) -> str:
    """The server's first line of output (it prints one when it listens), or '' if it exits or
    stays silent for ``START_TIMEOUT_S``."""
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout=START_TIMEOUT_S):
            return ""
    return proc.stdout.readline()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wedsync-install-") as tmp:
        try:
            for line in check(args.wheel.resolve(), Path(tmp)):
                print(f"ok: {line}")
        except CheckFailed as exc:
            print(f"install check failed: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
