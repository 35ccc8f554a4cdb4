"""The transport a sync conversation runs over: one ordered, message-framed, bidirectional channel.

The sync engine and the server's websocket handler speak to this interface only, so the same code
runs over a real aiohttp websocket (``client.sync``, ``server.sync_ws``) or a simulated channel
with virtual time and injected faults (``client.simulate``). Pure interface, no I/O.

Contract:
* ``receive`` returns the next frame: ``bytes`` for a binary frame, ``str`` for a text frame, and
  ``None`` once the channel is closed (by either side or by the network); it raises
  ``TimeoutError`` when ``timeout_s`` passes first;
* ``send_bytes`` raises ``ConnectionError`` when the channel is closed;
* ``close`` is idempotent; ``close_code`` is the websocket close code once known.
"""

from __future__ import annotations

from typing import Protocol


class Transport(Protocol):
    @property
    def close_code(self) -> int | None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def receive(self, timeout_s: float | None = None) -> bytes | str | None: ...

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool: ...
