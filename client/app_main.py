"""`wedsync app`: the desktop app's command. Qt is imported only when the command runs, so the
rest of the CLI works on machines without PySide6."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .credentials import TokenStore


def default_profile_dir() -> Path:
    """The per-user data directory (XDG on Linux, Application Support on macOS, AppData on
    Windows) plus ``default``."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "WedSync" / "default"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "WedSync" / "default"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "wedsync" / "default"


def display_available() -> bool:
    """Whether a window can be shown (a display server, or an explicit Qt platform)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("app", parents=[common], help="open the desktop app")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help=f"profile directory (default: {default_profile_dir()})",
    )
    p.set_defaults(handler=run_app)


def run_app(args: argparse.Namespace) -> int:
    return open_app(args.profile or default_profile_dir())


def open_app(profile_dir: Path | str, *, tokens: TokenStore | None = None, setup=None) -> int:  # noqa: ANN001
    """Open the desktop app on ``profile_dir`` until the window is closed; returns an exit code.
    ``tokens`` defaults to the OS keyring; ``setup`` is an async callable run in the app's loop
    first (see ``client.ui.app.open_app``)."""
    try:
        from client.ui.app import open_app as _open
    except ImportError as exc:
        raise OSError(
            f"the desktop app needs the app extra: pip install 'wedsync-marketing[app]' ({exc})"
        ) from None
    return _open(Path(profile_dir), tokens=tokens, setup=setup)
