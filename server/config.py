"""Server configuration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.protocol.messages import MAX_FRAME_BYTES


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    #: a ``postgresql://`` URL: the store is that database, shared with other server processes
    #: (``docs/scaling.md``); None: the SQLite file in ``data_dir``
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    max_frame_bytes: int = MAX_FRAME_BYTES
    hello_timeout_s: float = 10.0
    max_inflight_per_connection: int = 16
    outgoing_queue_frames: int = 1_000
    writer_max_items: int = 20_000
