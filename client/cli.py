"""The `wedsync` command: one console script for the server, the headless client, the demo,
analytics and the desktop app.

Errors go to stderr as one line (``wedsync: error [code]: reason``) with a non-zero exit code;
``--json`` prints machine-readable output on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from shared.protocol.errors import ProtocolError

from . import commands
from .credentials import CredentialsError
from .store import StoreError
from .sync import SyncError

EXIT_ERROR = 1


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON")
    parser = argparse.ArgumentParser(
        prog="wedsync", description="WedSync Marketing: offline-first campaigns, sync and analytics"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from server import cli as server_cli  # the server side never imports the client

    server_cli.register(sub, common)
    commands.register(sub, common)
    commands.register_reports(sub, common)
    from . import app_main, demo

    demo.register(sub, common)
    from .simulate import cli as simulate_cli

    simulate_cli.register(sub, common)
    from . import chaos_proxy

    chaos_proxy.register(sub, common)
    app_main.register(sub, common)
    try:
        from . import analytics_cli
    except ImportError:  # the analytics commands are optional until installed
        analytics_cli = None
    if analytics_cli is not None:
        analytics_cli.register(sub)
    return parser


def _human(value: Any, indent: str = "") -> str:
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{indent}{key}:")
                lines.append(_human(item, indent + "  "))
            else:
                lines.append(f"{indent}{key}: {item}")
        return "\n".join(lines)
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, dict | list) and item:
                block = _human(item, indent + "  ")
                lines.append(f"{indent}- " + block.lstrip())  # the first line carries the bullet
            else:
                lines.append(f"{indent}- {item}")
        return "\n".join(lines)
    return f"{indent}{value}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except (StoreError, SyncError, CredentialsError, ProtocolError) as exc:
        code = getattr(exc, "code", "error")
        print(f"wedsync: error [{code}]: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # known server-side errors carry a code; anything else is a bug
        code = getattr(exc, "code", None)
        if code is None and not isinstance(exc, ValueError | OSError):
            raise
        print(f"wedsync: error [{code or type(exc).__name__}]: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if isinstance(result, int):
        return result
    if result is not None:
        if getattr(args, "json", False):
            print(json.dumps(result, indent=2, sort_keys=True, default=str))
        else:
            print(_human(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
