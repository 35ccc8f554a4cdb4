"""`wedsync app`: the desktop app's command. Qt is imported only when the command runs, so the
rest of the CLI works on machines without PySide6."""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


#: what Qt's X11 platform plugin (xcb) loads beyond Qt itself, and the Debian/Ubuntu package of
#: each. Qt's own error blames libxcb-cursor0 whichever is missing, then aborts the process.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libfontconfig.so.1": "libfontconfig1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
}
NO_DISPLAY = (
    "no display to open a window on: neither DISPLAY nor WAYLAND_DISPLAY is set (a server, or "
    "ssh without -X). Run it in a desktop session, over `ssh -X`, or on a virtual display: "
    "`xvfb-run -a wedsync app` (apt-get install xvfb xauth)"
)


class DisplayUnavailable(OSError):
    """The desktop app cannot show a window here; the message says why and how to fix it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _qt_platform(env: Mapping[str, str]) -> str | None:
    """The Qt platform plugin Qt will pick (``xcb``, ``wayland``, ``offscreen``, …), or None
    when there is no display at all."""
    explicit = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if explicit:
        return explicit
    if sys.platform in ("win32", "darwin"):
        return "native"
    if env.get("WAYLAND_DISPLAY"):
        return "wayland"
    return "xcb" if env.get("DISPLAY") else None


def _x_connect_error(display: str, load: Callable[[str], Any]) -> str | None:
    """None if the X server at ``display`` accepts a connection, else why not."""
    try:
        xcb = load("libxcb.so.1")
        xcb.xcb_connect.restype = ctypes.c_void_p
        xcb.xcb_connect.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
        xcb.xcb_connection_has_error.argtypes = [ctypes.c_void_p]
        xcb.xcb_disconnect.argtypes = [ctypes.c_void_p]
        connection = xcb.xcb_connect(display.encode(), None)
        failed = xcb.xcb_connection_has_error(connection)
        xcb.xcb_disconnect(connection)
    except (OSError, AttributeError):
        return None  # cannot tell; Qt will try
    if failed:
        return (
            f"cannot connect to the X display {display!r} (DISPLAY): no X server answers there, "
            "or it does not let you in (xauth). Check DISPLAY, or use a virtual display: "
            "`xvfb-run -a wedsync app`"
        )
    return None


def display_problem(
    env: Mapping[str, str] | None = None,
    *,
    load: Callable[[str], Any] = ctypes.CDLL,
    qt_plugin: Path | None = None,
) -> DisplayUnavailable | None:
    """Why Qt could not show a window here (None: it can), found before Qt starts: Qt aborts the
    whole process (SIGABRT) when its platform plugin cannot load or connect.

    ``load`` opens a shared library (``ctypes.CDLL``); ``qt_plugin``, the xcb platform plugin,
    is loaded last to catch a library this list does not know."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    platform = _qt_platform(env)
    if platform is None:
        return DisplayUnavailable("no_display", NO_DISPLAY)
    if platform != "xcb":
        return None  # offscreen, wayland, vnc…: Qt's own checks are clear enough there
    missing = []
    for soname in XCB_LIBRARIES:
        try:
            load(soname)
        except OSError:
            missing.append(soname)
    if not missing and qt_plugin is not None and qt_plugin.exists():
        try:
            load(str(qt_plugin))
        except OSError as exc:
            missing.append(str(exc).split(":")[0].strip())
    if missing:
        packages = [XCB_LIBRARIES.get(name, name) for name in missing]
        return DisplayUnavailable(
            "missing_libraries",
            f"Qt's X11 platform needs {', '.join(missing)}, missing on this machine; install "
            f"{'it' if len(missing) == 1 else 'them'} (Debian/Ubuntu): sudo apt-get install -y "
            f"--no-install-recommends {' '.join(packages)}",
        )
    display = env.get("DISPLAY", "")
    why = _x_connect_error(display, load) if display else None
    return DisplayUnavailable("no_display", why) if why else None


def xcb_plugin() -> Path | None:
    """The Qt platform plugin for X11 in the installed PySide6 (None without PySide6)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "Qt" / "plugins" / "platforms" / "libqxcb.so"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("app", parents=[common], help="open the desktop app")
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        help=f"profile directory (default: {default_profile_dir()})",
    )
    p.add_argument(
        "--tester",
        action="store_true",
        help="show the tester's tools (network control) this time; "
        "`wedsync client --profile DIR tester on` keeps them on",
    )
    p.set_defaults(handler=run_app)


def run_app(args: argparse.Namespace) -> int:
    problem = display_problem(qt_plugin=xcb_plugin())
    if problem is not None:
        raise problem
    return open_app(args.profile or default_profile_dir(), tester=args.tester)


def open_app(
    profile_dir: Path | str,
    *,
    tokens: TokenStore | None = None,
    setup=None,  # noqa: ANN001
    tester: bool = False,
) -> int:
    """Open the desktop app on ``profile_dir`` until the window is closed; returns an exit code.
    ``tokens`` defaults to the OS keyring; ``setup`` is an async callable run in the app's loop
    first (see ``client.ui.app.open_app``); ``tester`` shows the tester's tools."""
    try:
        from client.ui.app import open_app as _open
    except ImportError as exc:
        raise OSError(
            f"the desktop app needs the app extra: pip install 'wedsync-marketing[app]' ({exc})"
        ) from None
    return _open(Path(profile_dir), tokens=tokens, setup=setup, tester=tester)
