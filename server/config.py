"""Server configuration. Every limit and its default is listed in docs/security.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.protocol.messages import MAX_FRAME_BYTES

SYNCHRONOUS_MODES = ("NORMAL", "FULL")


@dataclass(frozen=True)
class ServerConfig:
    data_dir: Path
    #: a ``postgresql://`` URL: the store is that database, shared with other server processes
    #: (``docs/scaling.md``); None: the SQLite file in ``data_dir``
    database_url: str | None = None
    #: bind with SO_REUSEPORT beside other server processes (``wedsync server --workers``)
    reuse_port: bool = False
    host: str = "127.0.0.1"
    port: int = 8765
    #: the base of tracking links in sent mail (``--public-url``); None: http://host:port
    public_url: str | None = None
    max_frame_bytes: int = MAX_FRAME_BYTES
    hello_timeout_s: float = 10.0
    max_inflight_per_connection: int = 16
    #: PULLs answered at once on one connection; further ones wait (the socket is not read)
    max_pulls_per_connection: int = 1
    outgoing_queue_frames: int = 1_000
    #: bytes queued for one device before a pull's answer waits (and live fan-out disconnects)
    outgoing_queue_bytes: int = 16 * 1024 * 1024
    writer_max_items: int = 20_000
    # -- what a peer may cost before it logged in (``server.connections``)
    max_connections: int = 4096
    max_connections_per_address: int = 128
    preauth_frame_bytes: int = 64 * 1024
    header_timeout_s: float = 10.0
    idle_timeout_s: float = 60.0
    body_timeout_s: float = 30.0
    # -- fair shares between orgs (``server.fair``)
    reads_queued_per_org: int = 64
    reports_queued_per_org: int = 4
    # -- sessions and login
    #: a device token unused for this long stops working (sliding: each use renews it)
    token_idle_lifetime_s: float = 30 * 24 * 3600
    #: a dashboard sign-in (browser session) unused for this long ends; its cookie lasts as long
    web_session_idle_s: float = 12 * 3600
    login_failures_per_account: int = 5
    login_failures_per_address: int = 50
    login_lockout_max_s: float = 15 * 60
    # -- audit: identical refusals within this window are one entry with a count
    audit_coalesce_s: float = 60.0
    # -- durability: SQLite's synchronous mode, NORMAL (survives a process kill) or FULL
    #    (survives power loss too)
    synchronous: str = "NORMAL"
    # -- TLS served by the server itself (no proxy in front)
    tls_cert: Path | None = None
    tls_key: Path | None = None
