"""``wedsync attribution PATHS.csv``: the attribution models on an aggregated path file.

Library errors become one line on stderr in the console script's format
(``wedsync: error [code]: message``) and a non-zero exit code: 2 for a bad file or bad
arguments, 1 for a missing or unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys

EXIT_IO, EXIT_BAD_INPUT = 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``attribution`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "attribution",
        help="attribution models on an aggregated path file",
        description="Run attribution models on a CSV with columns path, total_conversions, "
        "total_conversion_value, total_null (channels joined by the separator).",
    )
    p.add_argument("paths_csv", metavar="PATHS.csv")
    p.add_argument("--model", default="all", help="one model, or all (default)")
    p.add_argument("--order", type=int, default=1, help="Markov order (1..4)")
    p.add_argument("--sep", default=">", help="channel separator (spaces around it ignored)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=run_attribution)


def _error(code: str, message: str, exit_code: int = EXIT_BAD_INPUT) -> int:
    """The console script's one error format (``wedsync: error [code]: message``)."""
    print(f"wedsync: error [{code}]: {message}", file=sys.stderr)
    return exit_code


def run_attribution(args: argparse.Namespace) -> int:
    from shared.analytics import MODELS, AnalyticsError, parse_paths, run_models

    if args.model not in (*MODELS, "all"):
        models = ", ".join((*MODELS, "all"))
        return _error("bad_request", f"--model {args.model!r} is not one of {models}")
    try:
        with open(args.paths_csv, encoding="utf-8-sig") as fh:
            text = fh.read()
    except OSError as exc:
        return _error("unreadable_file", f"cannot read {args.paths_csv}: {exc.strerror}", EXIT_IO)
    except UnicodeDecodeError:
        return _error("bad_request", f"{args.paths_csv} is not UTF-8 text")
    if not 1 <= args.order <= 4:
        return _error("bad_request", "--order must be between 1 and 4")
    try:
        paths = parse_paths(text, sep=args.sep)
        credits = run_models(paths, "all" if args.model == "all" else args.model, order=args.order)
    except AnalyticsError as exc:
        return _error(exc.code, f"{args.paths_csv}: {exc}")
    skipped = _skipped(paths)
    if args.json:
        out = {
            name: {"credit": c.as_dict(), **({"details": c.extra} if c.extra else {})}
            for name, c in credits.items()
        }
        summary = {"paths": paths.n_paths, "channels": paths.labels, "skipped": skipped}
        print(json.dumps({**summary, "models": out}, indent=2))
        return 0
    names = list(credits)
    width = max([len(label) for label in paths.labels] + [7])
    print(
        f"{paths.n_paths} paths, {paths.conversions.sum():g} conversions, "
        f"{len(paths.labels)} channels (credit in conversions)"
    )
    if skipped["paths"]:
        print(
            f"skipped {skipped['paths']} path{'s' if skipped['paths'] != 1 else ''} with no "
            f"channel: {skipped['conversions']:g} conversions, value {skipped['value']:,.2f}, "
            f"{skipped['nulls']:g} nulls (no model credits them)"
        )
    print("channel".ljust(width) + "".join(f"{n:>16}" for n in names))
    for i, label in enumerate(paths.labels):
        print(label.ljust(width) + "".join(f"{credits[n].conversions[i]:16.3f}" for n in names))
    return 0


def _skipped(paths) -> dict:
    """Rows of the file no model can credit (a path with no channel), and what they held."""
    given = paths.skipped or {}
    return {
        "paths": int(given.get("rows", 0)),
        "conversions": float(given.get("conversions", 0.0)),
        "value": float(given.get("value", 0.0)),
        "nulls": float(given.get("nulls", 0.0)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wedsync")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
