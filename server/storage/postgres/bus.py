"""Messages between the server processes sharing one database, through LISTEN/NOTIFY.

``announce`` runs ``pg_notify`` inside the caller's transaction, so PostgreSQL delivers the
message exactly when that transaction commits, and never if it rolls back. ``Listener`` keeps
one connection of its own (outside the pool) LISTENing on a thread, hands each message to a
callback, and after losing the connection (a database restart) reconnects with a growing pause
and says so with ``on_gap``: messages sent meanwhile are lost, and whoever follows them must
treat what they cover as unknown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

from ..errors import StoreUnavailable
from .connection import PgHandle, PgSettings, connect

log = logging.getLogger(__name__)
#: PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more
MAX_MESSAGE_BYTES = 7_900


class PostgresBus(PgHandle):
    shared = True

    def announce(self, message: str) -> None:
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            raise ValueError(f"a message of {len(message)} characters is too long to announce")
        self._one("SELECT pg_notify(%s, %s)", (self.settings.channel, message))

    def listen(
        self, on_message: Callable[[str], None], on_gap: Callable[[], None] | None = None
    ) -> Listener:
        return Listener(self.settings, on_message, on_gap)


class Listener:
    def __init__(
        self,
        settings: PgSettings,
        on_message: Callable[[str], None],
        on_gap: Callable[[], None] | None,
    ) -> None:
        self._settings = settings
        self._on_message = on_message
        self._on_gap = on_gap
        self._stopping = threading.Event()
        self.listening = threading.Event()  # set while a LISTEN connection is up
        self._thread = threading.Thread(target=self._run, name="wedsync-listen", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        pause_s = 0.1
        first = True
        while not self._stopping.is_set():
            try:
                with connect(self._settings, timeout_s=5) as conn:
                    conn.execute(f"LISTEN {self._settings.channel}")
                    self.listening.set()
                    if not first and self._on_gap is not None:
                        self._on_gap()
                    first, pause_s = False, 0.1
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            try:
                                self._on_message(note.payload)
                            except Exception:  # a bad message must not stop the listener
                                log.exception("commit message not handled")
            except (psycopg.Error, StoreUnavailable) as exc:
                if self.listening.is_set():
                    log.warning("lost the LISTEN connection (%s); reconnecting", exc)
                self.listening.clear()
                self._stopping.wait(pause_s)
                pause_s = min(pause_s * 2, 5.0)
        self.listening.clear()
