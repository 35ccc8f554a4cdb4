"""The app's asyncio loop leaves no Qt timers behind when it closes.

Regression: qasync's timer object, freed later by the cycle collector on a worker thread, could
not unregister its pending timers and the GUI thread then dispatched to freed memory (a segfault
a few tests after the loop closed)."""

from __future__ import annotations

import gc
import threading

import pytest
import shiboken6

from client.ui.app import new_event_loop

pytestmark = pytest.mark.ui


def test_closing_the_loop_destroys_its_timer_object_on_the_gui_thread(qapp):
    loop = new_event_loop()
    loop.call_later(3600, lambda: None)  # still pending when the loop closes
    timer = loop._timer
    loop.close()
    assert not shiboken6.isValid(timer)


def test_a_closed_loop_collected_on_a_worker_thread_leaves_qt_consistent(qapp, qtbot):
    for _ in range(3):
        loop = new_event_loop()
        loop.call_later(0.05, lambda: None)
        loop.close()
    del loop
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    qtbot.wait(100)  # the dead loops' timers would have fired here
