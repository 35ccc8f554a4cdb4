"""`wedsync server` and `wedsync admin`: the server's commands as the console script sees them.

Arguments only: handlers are named ``"module:function"`` and imported when their command runs
(``wedsync.cli``), so ``wedsync server --help`` loads neither aiohttp nor the storage.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

DATABASE_URL_ENV = "WEDSYNC_DATABASE_URL"


def _store_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir", type=Path, default=None, help="where the server keeps its data (SQLite)"
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="a postgresql:// URL: keep the data in that database instead, shared by several "
        f"server processes (default: ${DATABASE_URL_ENV})",
    )


def store_location(args: argparse.Namespace) -> Path | str:
    """The store a command works on: ``--database-url`` (or ``$WEDSYNC_DATABASE_URL``), else
    ``--data-dir``; one of them is required."""
    import os

    url = getattr(args, "database_url", None) or os.environ.get(DATABASE_URL_ENV) or None
    if url:
        return url
    if getattr(args, "data_dir", None) is None:
        raise ValueError(f"give --data-dir DIR or --database-url URL (or set ${DATABASE_URL_ENV})")
    return args.data_dir


def default_state_dir() -> Path:
    """Where a server whose data is in a database keeps its few local files (the server
    secret's file unless ``WEDSYNC_SERVER_SECRET`` is set, monitoring state) when no
    ``--data-dir`` is given: ``$XDG_STATE_HOME/wedsync/server``, shared by the workers of a
    host."""
    import os

    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wedsync" / "server"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("server", parents=[common], help="run the sync server")
    _store_arguments(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run N server processes sharing the port (SO_REUSEPORT); needs --database-url",
    )
    # a worker of `--workers`: bind with SO_REUSEPORT beside the others
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="the base of tracking links in sent mail, as recipients reach this server "
        "(e.g. https://mail.example.com; default: http://HOST:PORT)",
    )
    p.add_argument(
        "--durability",
        choices=("normal", "full"),
        default="normal",
        help="SQLite commits: normal survives a killed process, full also a power cut (slower)",
    )
    p.add_argument("--tls-cert", type=Path, help="serve https/wss with this certificate (PEM)")
    p.add_argument("--tls-key", type=Path, help="the certificate's private key (PEM)")
    p.set_defaults(handler="server.cli:run_server")

    a = sub.add_parser("admin", help="administer a server's store")
    _store_arguments(a)
    asub = a.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    cu = asub.add_parser("create-user", parents=[common], help="create a user (and its org)")
    cu.add_argument("--email", required=True)
    cu.add_argument("--password", required=True)
    cu.add_argument("--role", required=True, choices=("admin", "marketer", "viewer"))
    cu.add_argument("--org", default=None, help="organisation name (created if new)")
    cu.set_defaults(handler="server.admin:create_user_command")
    st = asub.add_parser("stats", parents=[common], help="what the server holds")
    st.set_defaults(handler="server.admin:stats_command")
    mg = asub.add_parser(
        "migrate", parents=[common], help="bring the store's schema up to this version"
    )
    mg.set_defaults(handler="server.admin:migrate_command")
    cp = asub.add_parser(
        "copy",
        parents=[common],
        help="copy a whole store to an empty one (SQLite <-> PostgreSQL) and verify it",
    )
    cp.add_argument("--from", dest="source", required=True, help="a data directory or a URL")
    cp.add_argument("--to", dest="target", required=True, help="a data directory or a URL")
    cp.set_defaults(handler="server.admin:copy_command")
    _register_smtp(asub, common)
    _register_backup(asub, common)
    _register_spend(asub, common)


def _register_spend(asub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`wedsync admin spend add`: money paid for a channel over a period (``server.spend``)."""
    sp = asub.add_parser("spend", help="record money paid for a channel over a period")
    ssub = sp.add_subparsers(dest="spend_command", required=True, metavar="ACTION")
    p = ssub.add_parser(
        "add",
        parents=[common],
        help="record a spend in the store (the same rules as a device's spend event)",
        description="Record money paid for a channel from one day to another, both included "
        "(UTC days). The amount is in the organisation's currency, e.g. 1200 or 1200.50.",
    )
    p.add_argument("--org", default=None, help="organisation name (default: the only one)")
    p.add_argument("--channel", required=True, help="e.g. wedding_fair, paid_search")
    p.add_argument("--amount", required=True, help="e.g. 1200 or 1200.50 (positive)")
    p.add_argument("--from", dest="from_", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", required=True, metavar="YYYY-MM-DD", help="the last day, included")
    p.add_argument("--note", help="what it was, e.g. 'Harrogate fair stand'")
    p.add_argument("--campaign", metavar="ID", help="the campaign it was for, if one")
    p.set_defaults(handler="server.spend:add_command")


def _register_backup(asub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`wedsync admin backup|restore`: a data directory's store to a file and back
    (``server.backup``)."""
    bk = asub.add_parser(
        "backup",
        parents=[common],
        help="copy the store to a file, consistent while the server runs (SQLite)",
    )
    bk.add_argument("--to", type=Path, required=True, metavar="FILE", help="a new file")
    bk.set_defaults(handler="server.backup:backup_command")
    rs = asub.add_parser(
        "restore",
        parents=[common],
        help="replace the store by a backup (server stopped); devices re-pull what changed",
    )
    rs.add_argument(
        "--from", dest="source", type=Path, required=True, metavar="FILE", help="a backup"
    )
    rs.set_defaults(handler="server.backup:restore_command")


def _register_smtp(asub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`wedsync admin ... smtp set|show|test`: an org's mail server (``server.automation``)."""
    sm = asub.add_parser("smtp", help="an organisation's mail server for campaign email")
    ssub = sm.add_subparsers(dest="smtp_command", required=True, metavar="ACTION")
    ss = ssub.add_parser("set", parents=[common], help="set the org's SMTP server")
    ss.add_argument("--org", required=True, help="organisation name")
    ss.add_argument("--host", required=True)
    ss.add_argument("--port", type=int, required=True)
    ss.add_argument("--security", choices=("starttls", "tls", "none"), default="starttls")
    ss.add_argument("--user", default=None, help="login name (with --password-file)")
    ss.add_argument(
        "--password-file",
        default=None,
        metavar="FILE",
        help="a file whose first line is the password ('-': standard input); never an argument",
    )
    ss.add_argument("--from", dest="from_address", required=True, metavar="ADDRESS")
    ss.set_defaults(handler="server.automation.commands:smtp_set_command")
    sw = ssub.add_parser("show", parents=[common], help="the org's SMTP server (no password)")
    sw.add_argument("--org", required=True, help="organisation name")
    sw.set_defaults(handler="server.automation.commands:smtp_show_command")
    st = ssub.add_parser("test", parents=[common], help="send a test message through it")
    st.add_argument("--org", required=True, help="organisation name")
    st.add_argument("--to", required=True, metavar="ADDRESS")
    st.set_defaults(handler="server.automation.commands:smtp_test_command")


def run_server(args: argparse.Namespace) -> dict[str, Any] | None:
    import asyncio
    import logging

    from .app import serve
    from .config import ServerConfig
    from .storage.errors import StorageError

    if not 0 < args.port < 65536:
        raise ValueError(f"--port {args.port} is not a TCP port")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    location = store_location(args)
    url = location if isinstance(location, str) else None
    if args.workers != 1:
        return run_workers(args, url)
    data_dir = args.data_dir if args.data_dir is not None else default_state_dir()
    config = ServerConfig(
        data_dir=data_dir,
        database_url=url,
        host=args.host,
        port=args.port,
        reuse_port=args.reuse_port,
        public_url=public_url(args.public_url),
        synchronous=args.durability.upper(),
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ValueError("--tls-cert and --tls-key go together")
    ready = asyncio.Event()

    async def main() -> None:
        task = asyncio.create_task(serve(config, ready=ready))
        waiting = asyncio.create_task(ready.wait())
        # Start-up fails in the serving task (port taken, data dir unreadable, bad migration):
        # wait for whichever comes first, so a failure ends the command at once.
        await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.is_set():
            waiting.cancel()
            try:
                await task
            except OSError as exc:
                raise StartupError.from_os_error(exc, host=args.host, port=args.port) from None
            except StorageError as exc:  # a schema too new, a database not reachable
                raise StartupError(exc.code, f"cannot start: {exc}") from None
            except Exception as exc:  # e.g. a data dir that is not a database, a bad migration
                logging.getLogger("wedsync.server").debug("start-up failed", exc_info=True)
                raise StartupError("startup_failed", f"cannot start: {exc}") from None
            return
        scheme = "https" if args.tls_cert else "http"
        print(f"wedsync server listening on {scheme}://{args.host}:{args.port}", flush=True)
        await task

    asyncio.run(main())
    return None


def run_workers(args: argparse.Namespace, url: str | None) -> None:
    """`--workers N`: N server processes behind one port (``server.workers``)."""
    import asyncio
    import logging

    from .workers import Workers, child_argv

    if not 1 <= args.workers <= 64:
        raise ValueError(f"--workers {args.workers}: give 1 to 64")
    if url is None:
        raise StartupError(
            "workers_need_a_database",
            "--workers needs --database-url: several processes cannot share one SQLite file",
        )
    if args.port == 0:
        raise ValueError("--workers needs a fixed --port (each worker binds the same one)")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from .storage import migrate_store

    migrate_store(url)  # once, before the workers race to
    argv = child_argv(database_url=url, host=args.host, port=args.port, data_dir=args.data_dir)
    workers = Workers(argv, args.workers)

    def ready(pids: list[int]) -> None:
        print(
            f"wedsync server listening on http://{args.host}:{args.port} "
            f"({len(pids)} workers: {', '.join(map(str, pids))})",
            flush=True,
        )

    asyncio.run(workers.run(on_ready=ready))
    return None


def public_url(text: str | None) -> str | None:
    """``--public-url``: an http(s) URL with a host and no query, without its trailing slash."""
    if text is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(
            f"--public-url {text!r} must be an http(s) URL like https://mail.example.com"
        )
    return text.strip().rstrip("/")


class StartupError(Exception):
    """The server could not start; ``code`` says why in one word."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def from_os_error(cls, exc: OSError, *, host: str, port: int) -> StartupError:
        import errno

        if exc.errno == errno.EADDRINUSE:
            return cls("address_in_use", f"{host}:{port} is in use")
        if exc.errno == errno.EADDRNOTAVAIL:
            return cls("address_unavailable", f"{host} is not an address of this machine")
        if exc.errno in (errno.EACCES, errno.EPERM):
            where = exc.filename or f"{host}:{port}"
            return cls("permission_denied", f"permission denied: {where}")
        return cls("startup_failed", f"cannot start: {exc.strerror or exc}")
