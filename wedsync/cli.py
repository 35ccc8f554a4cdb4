"""The `wedsync` command: the composition root of one console script for the server, the
headless client, the desktop app, analytics and the dev tools.

Each group declares its arguments in a module of its own that imports nothing heavy
(``client.cli``, ``server.cli``, ``devtools.cli``); a handler is named ``"module:function"`` and
imported only when its command runs, so ``wedsync --help`` and a command of one side never load
the other side's code.

Errors go to stderr as one line (``wedsync: error [code]: reason``) with a non-zero exit code;
``--json`` prints machine-readable output on stdout. Without it, a handler's result is printed by
the handler's own ``human`` attribute when it has one (a function of the result returning text),
else as an indented outline.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

EXIT_ERROR = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool stopped by it
DISTRIBUTION = "wedsync-marketing"

#: which module declares each command; a command line loads only its own group's module
GROUPS = {
    "server": "server.cli",
    "admin": "server.cli",
    "client": "client.cli",
    "app": "client.cli",
    "attribution": "client.cli",
    "content": "client.cli",
    "report": __name__,
    "demo": "devtools.cli",
    "simulate": "devtools.cli",
    "chaos-proxy": "devtools.cli",
    "seed-demo": "devtools.cli",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: with a known command first, only that command's group is
    registered (and imported); otherwise every group, so help and errors list them all."""
    command = next((a for a in (sys.argv[1:] if argv is None else argv) if a[:1] != "-"), None)
    modules = [GROUPS[command]] if command in GROUPS else list(dict.fromkeys(GROUPS.values()))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON")
    parser = argparse.ArgumentParser(
        prog="wedsync", description="WedSync Marketing: offline-first campaigns, sync and analytics"
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in modules:
        if module == __name__:
            _register_reports(sub, common)
        else:
            importlib.import_module(module).register(sub, common)
    return parser


def version() -> str:
    """The installed distribution's version (``unknown`` when run from a tree never installed)."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """``--version``: the version is read from the install's metadata only when asked for, so
    every other command line starts without it."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"wedsync {version()} (Python {sys.version.split()[0]})")
        parser.exit()


def _register_reports(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    r = sub.add_parser("report", help="business-intelligence reports")
    rsub = r.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    p = rsub.add_parser(
        "roi",
        parents=[common],
        help="the ROI report (attribution, viral, LTV/CAC, predictions, recommendations)",
    )
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--profile", type=Path, help="ask the server this profile is logged in to")
    where.add_argument("--data-dir", type=Path, help="read a server's data directory directly")
    p.add_argument("--org", default="Demo Weddings", help="with --data-dir: the organisation")
    p.add_argument("--from", dest="from_", metavar="ISO", help="start of the window")
    p.add_argument("--to", metavar="ISO", help="end of the window (exclusive)")
    p.add_argument(
        "--truth",
        type=Path,
        metavar="FILE.json",
        help="with --data-dir: the true channel shares (seed-demo's --json output, or a map of "
        "channel to share): the report says how far each attribution model is from them",
    )
    p.add_argument(
        "--period",
        choices=("this_quarter", "last_30_days", "last_90_days"),
        help="with --profile: the dashboard's period instead of --from/--to (offline: the last "
        "one this profile received)",
    )
    p.set_defaults(handler=report_roi)


def report_roi(args: argparse.Namespace) -> dict[str, Any]:
    """From the server a profile is logged in to (the client), or from a server's data
    directory (the server's code, no server running)."""
    if args.profile is not None:
        if getattr(args, "truth", None):
            from shared.analytics.accuracy import BadTruth

            raise BadTruth("--truth goes with --data-dir (the server's report knows no truth)")
        from client.commands import report_roi as from_server

        return from_server(args)
    from server.admin import report_roi as from_data_dir
    from shared.protocol.events import ms_from_iso

    return from_data_dir(
        args.data_dir,
        org=args.org,
        from_ms=ms_from_iso(args.from_) if args.from_ else None,
        to_ms=ms_from_iso(args.to) if args.to else None,
        truth=_truth(args.truth) if getattr(args, "truth", None) else None,
    )


def _truth(path: Path) -> dict[str, float]:
    """True channel shares from a JSON file (``shared.analytics.accuracy.truth_shares``)."""
    import json

    from shared.analytics.accuracy import BadTruth, truth_shares

    try:
        given = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadTruth(f"cannot read {path}: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadTruth(f"{path} is not JSON ({exc})") from None
    return truth_shares(given)


def _report_text(result: dict[str, Any]) -> str:
    from .report_text import report_lines  # for people; imported only when a report prints

    text = report_lines(result)
    if result.get("snapshot"):  # --profile: offline, the last report kept, and what is pending
        from client.dashboard import snapshot_lines

        note = snapshot_lines(result["snapshot"])
        return f"{note}\n\n{text}" if note else text
    return text


report_roi.human = _report_text  # type: ignore[attr-defined]


def _handler(args: argparse.Namespace) -> Any:
    handler = args.handler
    if isinstance(handler, str):  # "module:function", imported now that its command runs
        module, _, name = handler.partition(":")
        handler = getattr(importlib.import_module(module), name)
    return handler


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
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader went away (``wedsync ... | head``): stop quietly, as other Unix tools do;
        # stdout goes to /dev/null so the interpreter's final flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def _main(argv: list[str] | None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    handler = None
    try:
        handler = _handler(args)
        result = handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise  # not an error of the command: see main()
    except Exception as exc:  # every layer's known errors carry a code; anything else is a bug
        code = getattr(exc, "code", None)
        if code is None and not isinstance(exc, ValueError | OSError):
            raise
        message = getattr(exc, "message", None) or exc
        print(f"wedsync: error [{code or type(exc).__name__}]: {message}", file=sys.stderr)
        return EXIT_ERROR
    if isinstance(result, int):
        return result
    if result is not None:
        if getattr(args, "json", False):
            import json

            print(json.dumps(result, indent=2, sort_keys=True, default=str))
        else:
            print(getattr(handler, "human", _human)(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
