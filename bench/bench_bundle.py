"""Desktop bundle benchmark: its size, and how long it takes to start, printed as JSON.

Usage: python bench/bench_bundle.py [--bundle dist/wedsync-app] [--runs N]

Build the bundle first (``bash packaging/build_bundle.sh``). Each run starts the bundled app on
Qt's offscreen platform with ``--smoke-test`` against a local ``wedsync server`` and a fresh
profile, and times, from the moment the process is spawned: the sign-in dialog shown (the start
a person waits for), the main window shown after signing in, and the captured lead synced. The
first run follows a drop of the page cache when the machine allows it (root, not in a
container that forbids it): a cold start from disk; the others start warm. Runs alternate with
the same entry started by this interpreter from the source tree (the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.packaging.conftest import PASSWORD, free_port, outside_env, read_line  # noqa: E402


def du_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def one_run(program: list[str], url: str, work: Path, n: int) -> dict[str, float]:
    script = work / "smoke.json"
    script.write_text(
        json.dumps(
            {
                "server": url,
                "email": f"m{n}@bench.test",
                "password": PASSWORD,
                "contact": "ella@example.com",
            }  # fmt: skip
        )
    )
    started = time.monotonic()
    app = subprocess.Popen(
        [*program, "--profile", str(work / f"p{n}"), "--smoke-test", str(script)],
        cwd=work,
        env=outside_env(QT_QPA_PLATFORM="offscreen"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    seen = {}
    while line := read_line(app.stdout, 120):
        seen[json.loads(line)["step"]] = round(time.monotonic() - started, 3)
    if app.wait(timeout=60) != 0 or "done" not in seen:
        raise SystemExit(f"the smoke run failed: {seen}")
    return {
        "dialog_s": seen["login_dialog"],
        "window_s": seen["window_shown"],
        "synced_s": seen["synced"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "wedsync-app")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bundle = args.bundle.resolve()
    # the same entry run by this interpreter from the source tree: the baseline
    from_source = [sys.executable, str(ROOT / "packaging" / "wedsync_app.py")]
    archives = sorted(bundle.parent.glob("wedsync-app-*.tar.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "server"
        for n in range(2 * args.runs):
            subprocess.run(
                [sys.executable, "-m", "wedsync", "admin", "--data-dir", str(data), "create-user",
                 "--email", f"m{n}@bench.test", "--password", PASSWORD, "--role", "marketer"],
                check=True, capture_output=True,
            )  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wedsync",
                "server",
                "--data-dir",
                str(data),
                "--port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert "listening" in read_line(server.stdout, 60)
            url = f"http://127.0.0.1:{port}"
            cold = drop_caches()
            runs, baseline = [], []
            for n in range(args.runs):  # alternating, so both meet the same machine
                runs.append(one_run([str(bundle / "wedsync-app")], url, work, 2 * n))
                baseline.append(one_run(from_source, url, work, 2 * n + 1))
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    warm = runs[1:] or runs
    print(
        json.dumps(
            {
                "bundle_bytes": du_bytes(bundle),
                "archive_bytes": archives[-1].stat().st_size if archives else None,
                "first_run_after_dropping_the_page_cache": cold,
                "first_run": runs[0],
                "warm_median": {k: statistics.median(r[k] for r in warm) for k in warm[0]},
                "from_source_median": {
                    k: statistics.median(r[k] for r in baseline[1:] or baseline) for k in warm[0]
                },
                "runs": len(runs),
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
