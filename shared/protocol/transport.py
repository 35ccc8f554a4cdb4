"""The transport a sync conversation runs over: one ordered, message-framed, bidirectional channel.

The sync engine and the server's websocket handler speak to this interface only, so the same code
runs over a real aiohttp websocket (``WebSocketTransport`` below, used by ``client.sync`` and
``server.sync_ws``) or a simulated channel with virtual time and injected faults
(``devtools.simulate``). No I/O of its own: the adapter only forwards to the socket it is given.

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


class WebSocketTransport:
    """``Transport`` over an aiohttp websocket, client or server side (both have the same API).

    Binary and text frames carry ``bytes`` and ``str`` data; closing and error messages carry
    something else (a close code, an exception), which ends the conversation: ``None``."""

    def __init__(self, ws) -> None:  # noqa: ANN001 - aiohttp's client or server websocket
        self.ws = ws

    @property
    def close_code(self) -> int | None:
        return self.ws.close_code

    async def send_bytes(self, data: bytes) -> None:
        await self.ws.send_bytes(data)

    async def receive(self, timeout_s: float | None = None) -> bytes | str | None:
        data = (await self.ws.receive(timeout=timeout_s)).data
        return data if isinstance(data, bytes | str) else None

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        return await self.ws.close(code=code, message=message)
