"""`wedsync content …`: generate subject lines, set up the LLM endpoint, validate the model.

``client.cli`` declares the arguments; each handler returns JSON-ready data, and ``generate``
has a ``human`` form for the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from typing import Any

from shared.content import (
    ContentCode,
    ContentError,
    SubjectOutcome,
    outcome_from_dict,
    parse_request,
)

from .content import (
    DEFAULT_TIMEOUT_S,
    LlmEndpoint,
    endpoint_url,
    forget_endpoint,
    generate_variants,
    load_endpoint,
    profile_history,
    read_key,
    save_endpoint,
)


def _context(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ContentError(
            ContentCode.REQUEST_INVALID, f"--context is not JSON ({exc.msg})"
        ) from None
    if not isinstance(value, dict):
        raise ContentError(ContentCode.REQUEST_INVALID, "--context must be a JSON object")
    return value


def read_history(path: str) -> list[SubjectOutcome]:
    """A JSONL file of per-subject outcomes (``SubjectOutcome.to_dict`` records)."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ContentError(
            ContentCode.HISTORY_INVALID, f"cannot read {path}: {exc.strerror}"
        ) from None
    out = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                out.append(outcome_from_dict(json.loads(line)))
            except (json.JSONDecodeError, ContentError, AttributeError) as exc:
                message = getattr(exc, "message", None) or "not a JSON object"
                raise ContentError(
                    ContentCode.HISTORY_INVALID, f"{path}:{number}: {message}"
                ) from None
    return out


def generate(args: argparse.Namespace) -> dict[str, Any]:
    context = _context(args.context)
    for key in ("audience", "tone", "length"):
        if getattr(args, key) is not None:
            context[key] = getattr(args, key)
    request = parse_request(args.type, context, today=date.today())
    history: list[SubjectOutcome] = read_history(args.history) if args.history else []
    endpoint: LlmEndpoint | None = None
    replica = None
    if args.profile is not None:
        from .store import Replica

        replica = Replica(args.profile)
        history += profile_history(replica)
    if args.source == "llm":
        from .credentials import KeyringTokens

        tokens = KeyringTokens()
        if args.endpoint:
            url = endpoint_url(args.endpoint)
            endpoint = LlmEndpoint(
                url,
                args.model or "default",
                read_key(tokens, url),
                args.timeout_s or DEFAULT_TIMEOUT_S,
            )
        elif replica is not None:
            endpoint = load_endpoint(replica, tokens)
            if endpoint is not None and args.timeout_s:
                endpoint = LlmEndpoint(
                    endpoint.url, endpoint.model, endpoint.api_key, args.timeout_s
                )
    if replica is not None:
        replica.close()
    result = asyncio.run(
        generate_variants(
            request, source=args.source, endpoint=endpoint, history=history, seed=args.seed
        )
    )
    return result.to_dict()


def _generate_human(result: dict[str, Any]) -> str:
    lines = []
    source = result["source"]
    if result["fallback"]:
        source += f" (asked for llm: {result['fallback_message']})"
    lines.append(f"Source: {source} · {result['latency_ms']:.0f} ms")
    best = result["variants"][result["recommended"]]
    lines.append(f"Recommended: {best['label']} — {result['reason']}")
    lines.append("")
    width = max(len(v["label"]) for v in result["variants"])
    noun = "clicks" if result["metric"] == "click" else "conversions"
    for v in result["variants"]:
        mark = "★" if v["recommended"] else " "
        rate = f"{v['predicted_rate'] * 100:.1f} % {noun}"
        lines.append(f"{mark} {v['label']:<{width}}  {rate}  {v['subject_preview']}")
        lines.append(f"  {'':<{width}}  {'':<{len(rate)}}  {v['preheader']}")
        for issue in v["issues"]:
            lines.append(f"  {'':<{width}}  {'':<{len(rate)}}  ⚠ {issue['message']}")
    return "\n".join(lines)


generate.human = _generate_human  # type: ignore[attr-defined]


def endpoint(args: argparse.Namespace) -> dict[str, Any]:
    from .credentials import KeyringTokens
    from .store import Replica

    replica = Replica(args.profile)
    tokens = KeyringTokens()
    try:
        if args.clear:
            forget_endpoint(replica, tokens)
        elif args.url:
            key = sys.stdin.readline().strip() if args.api_key_stdin else None
            save_endpoint(
                replica,
                tokens,
                url=args.url,
                model=args.model or "",
                api_key=key or None,
                timeout_s=args.timeout_s or DEFAULT_TIMEOUT_S,
            )
        current = load_endpoint(replica, tokens)
    finally:
        replica.close()
    if current is None:
        return {"endpoint": None}
    return {
        "endpoint": current.url,
        "model": current.model,
        "timeout_s": current.timeout_s,
        "api_key": "in the keyring" if current.api_key else None,
    }


def validate(args: argparse.Namespace) -> dict[str, Any]:
    from shared.content import synthetic
    from shared.content import validate as held_out

    if args.history:
        history, data = read_history(args.history), args.history
    else:
        history, data = synthetic.history(args.seed), f"synthetic (seed {args.seed})"
    results = [held_out(history, seed=s, metric=args.metric).to_dict() for s in range(args.splits)]
    return {
        "data": data,
        "subjects": len(history),
        "sends": sum(h.sends for h in history),
        "splits": results,
    }
