"""`wedsync app` where no window can open: a one-line error naming the fix, checked before Qt
starts (Qt itself aborts the process with SIGABRT and blames libxcb-cursor0 for any missing
library)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from client.app_main import XCB_LIBRARIES, display_problem

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 and Wayland")


def _loader(missing: set[str], x_server_answers: bool = True):
    """Opens every library but those in ``missing``; libxcb's connect answers as told."""

    class FakeXcb:
        def __init__(self) -> None:
            self.xcb_connect = lambda display, screen: 1
            self.xcb_connection_has_error = lambda conn: 0 if x_server_answers else 1
            self.xcb_disconnect = lambda conn: None

    def load(name: str):
        if name in missing:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")
        return FakeXcb()

    return load


def test_no_display_at_all_names_the_ways_to_get_one():
    problem = display_problem({}, load=_loader(set()))
    assert problem.code == "no_display" and "xvfb-run -a wedsync app" in problem.message


def test_a_missing_xcb_library_is_named_with_its_package():
    problem = display_problem({"DISPLAY": ":0"}, load=_loader({"libxcb-cursor.so.0"}))
    assert problem.code == "missing_libraries"
    assert "libxcb-cursor.so.0" in problem.message
    assert problem.message.endswith("apt-get install -y --no-install-recommends libxcb-cursor0")


def test_every_missing_library_is_named_not_only_the_first():
    missing = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    problem = display_problem({"DISPLAY": ":0"}, load=_loader(missing))
    assert problem.message.endswith("libxcb-icccm4 libxcb-keysyms1")


def test_an_x_server_that_does_not_answer_is_named():
    problem = display_problem({"DISPLAY": ":7"}, load=_loader(set(), x_server_answers=False))
    assert problem.code == "no_display" and "':7'" in problem.message


@pytest.mark.parametrize(
    "env",
    [{"DISPLAY": ":0"}, {"QT_QPA_PLATFORM": "offscreen"}, {"WAYLAND_DISPLAY": "wayland-0"}],
)
def test_a_usable_platform_raises_nothing(env):
    assert display_problem(env, load=_loader(set())) is None


def test_the_library_list_maps_each_to_a_debian_package():
    assert XCB_LIBRARIES["libxcb-cursor.so.0"] == "libxcb-cursor0"
    assert all(name.startswith("lib") and ".so." in name for name in XCB_LIBRARIES)


@pytest.mark.parametrize("display", [None, ":93"])
def test_the_app_command_ends_with_one_line_not_an_abort(tmp_path, display):
    """With no display, and with a display nobody serves (here: missing libraries or no X
    server, whichever this machine lacks first)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    if display:
        env["DISPLAY"] = display
    run = subprocess.run(
        [sys.executable, "-m", "wedsync", "app", "--profile", str(tmp_path / "p")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1, run.stderr
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith(("wedsync: error [no_display]", "wedsync: error [missing_lib"))
    assert "apt-get install" in run.stderr or "xvfb-run" in run.stderr
