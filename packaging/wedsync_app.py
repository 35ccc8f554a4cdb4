"""The desktop bundle's entry point (PyInstaller runs this file as the program ``wedsync-app``).

    wedsync-app [--profile DIR] [--tester]   open the desktop app (as ``wedsync app``)
    wedsync-app --version                    print the bundled version
    wedsync-app --smoke-test SCRIPT.json     test only: a scripted sign-in, capture and sync
                                             (``client.ui.smoke``), then exit

The bundle holds the desktop app and the headless client; the server and the dev tools are
not in it (they install with ``pip install wedsync-marketing``).
"""

from __future__ import annotations

import time

STARTED = time.monotonic()  # before any import of ours: the smoke test's clock

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("wedsync-marketing")
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    from client.app_main import default_profile_dir

    parser = argparse.ArgumentParser(prog="wedsync-app", description="WedSync Marketing")
    parser.add_argument("--profile", type=Path, help=f"default: {default_profile_dir()}")
    parser.add_argument("--tester", action="store_true", help="show the tester's tools")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--smoke-test", type=Path, metavar="SCRIPT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.version:
        print(f"wedsync-app {_version()}")
        return 0
    if args.smoke_test is not None:
        from client.ui.smoke import load_script, run_smoke

        if args.profile is None:
            parser.error("--smoke-test needs --profile (a fresh directory)")
        return run_smoke(args.profile, load_script(args.smoke_test), started=STARTED)
    from client.app_main import display_problem, open_app, xcb_plugin

    # no display, missing X11 libraries: said before Qt starts, as `wedsync app` does
    problem = display_problem(load=_bundled_first, qt_plugin=xcb_plugin())
    if problem is not None:
        print(f"wedsync-app: error [{problem.code}]: {problem.message}", file=sys.stderr)
        return 1
    return open_app(args.profile or default_profile_dir(), tester=args.tester)


def _bundled_first(soname: str):  # noqa: ANN202 - a ctypes library
    """Load a shared library from the bundle when it carries one, else from the system: the
    bundle brings the X11 libraries Qt needs, which the machine may lack."""
    import ctypes

    bundled = Path(getattr(sys, "_MEIPASS", "")) / soname
    return ctypes.CDLL(str(bundled) if bundled.is_file() else soname)


if __name__ == "__main__":
    sys.exit(main())
