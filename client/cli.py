"""The client's commands as the console script sees them: arguments only.

Handlers are named as ``"module:function"`` and imported when their command runs (see
``wedsync.cli``), so ``wedsync --help`` loads no store, no keyring and no aiohttp.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import analytics_cli, app_main


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``client …``, ``app``, ``attribution`` and ``content``."""
    register_client(sub, common)
    app_main.register(sub, common)
    analytics_cli.register(sub)
    register_content(sub, common)


def register_content(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    c = sub.add_parser("content", help="subject lines: generate, LLM endpoint, model validation")
    csub = c.add_subparsers(dest="content_command", required=True, metavar="ACTION")

    p = csub.add_parser(
        "generate",
        parents=[common],
        help="five subject-line variants with predicted engagement and a recommendation",
    )
    p.add_argument(
        "--type",
        required=True,
        help="nurture, viral_referral, super_connector, churn_prevention, milestone, win_back "
        "or premium",
    )
    p.add_argument("--audience", choices=("couples", "suppliers"))
    p.add_argument("--tone", choices=("warm", "playful", "professional"))
    p.add_argument("--length", choices=("short", "medium", "long"))
    p.add_argument(
        "--context",
        metavar="JSON",
        help='wedding context, e.g. \'{"venue": "Hollow Barn", "wedding_date": "2026-09-12", '
        '"region": "Cotswolds"}\' (also season, days_to_wedding, milestone, health_band, '
        "supplier_kind, sender, offer)",
    )
    p.add_argument("--source", choices=("offline", "llm"), default="offline")
    p.add_argument(
        "--profile", type=Path, help="a profile: its LLM endpoint, and its sends as history"
    )
    p.add_argument(
        "--history", metavar="FILE.jsonl", help="per-subject send outcomes to learn from"
    )
    p.add_argument("--endpoint", metavar="URL", help="an OpenAI-compatible base URL (overrides)")
    p.add_argument("--model", help="with --endpoint: the model name")
    p.add_argument("--timeout-s", type=float, help="the endpoint's timeout (default 1.8)")
    p.add_argument("--seed", type=int, default=0, help="another seed: other wording")
    p.set_defaults(handler="client.content_commands:generate")

    p = csub.add_parser(
        "endpoint",
        parents=[common],
        help="this profile's LLM endpoint; the API key goes to the keyring",
    )
    p.add_argument("--profile", type=Path, required=True)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--url", help="base URL, e.g. http://127.0.0.1:11434/v1")
    what.add_argument("--clear", action="store_true", help="forget the endpoint and its key")
    p.add_argument("--model", help="with --url: the model name")
    p.add_argument("--timeout-s", type=float, help="with --url: seconds (default 1.8)")
    p.add_argument("--api-key-stdin", action="store_true", help="with --url: read the key")
    p.set_defaults(handler="client.content_commands:endpoint")

    p = csub.add_parser(
        "validate",
        parents=[common],
        help="the engagement model's rank correlation on held-out subjects",
    )
    p.add_argument("--history", metavar="FILE.jsonl", help="default: a synthetic history")
    p.add_argument("--metric", choices=("click", "conversion"), default="click")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--splits", type=int, default=3, help="random splits to report")
    p.set_defaults(handler="client.content_commands:validate")


def register_client(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    c = sub.add_parser("client", help="the headless client (one profile = one local replica)")
    c.add_argument("--profile", type=Path, required=True, help="profile directory (created if new)")
    csub = c.add_subparsers(dest="client_command", required=True, metavar="COMMAND")

    p = csub.add_parser(
        "login", parents=[common], help="log in; the device token goes to the keyring"
    )
    p.add_argument("--server", required=True, help="server URL, e.g. http://127.0.0.1:8765")
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--device-name", help="how admins see this device (default: the host name)")
    p.add_argument(
        "--ca-file",
        help="a CA certificate (PEM) to verify an https server with, as well as the system's",
    )
    p.set_defaults(handler="client.commands:login")

    p = csub.add_parser(
        "logout", parents=[common], help="revoke this device's token on the server and forget it"
    )
    p.set_defaults(handler="client.commands:logout")

    p = csub.add_parser(
        "rotate-token", parents=[common], help="replace this device's token (the queue stays)"
    )
    p.set_defaults(handler="client.commands:rotate_token")

    p = csub.add_parser("offline", parents=[common], help="work offline (queue everything) or not")
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(handler="client.commands:offline")

    p = csub.add_parser(
        "tester", parents=[common], help="show the tester's tools in the app (network control)"
    )
    p.add_argument("state", choices=("on", "off"))
    p.set_defaults(handler="client.commands:tester")

    camp = csub.add_parser("campaign", help="create, edit and read campaigns")
    csub2 = camp.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    p = csub2.add_parser("create", parents=[common])
    p.add_argument("--name", required=True)
    p.add_argument("--type", default="nurture")
    p.set_defaults(handler="client.commands:campaign_create")
    p = csub2.add_parser(
        "set",
        parents=[common],
        help="set one field (text fields merge by character; trigger, audience and "
        "frequency_cap are JSON checked with the campaign rules)",
    )
    p.add_argument("id")
    p.add_argument("field")
    p.add_argument("value")
    p.set_defaults(handler="client.campaign_commands:campaign_set")
    p = csub2.add_parser(
        "note", parents=[common], help="add a note (each note stays a separate entry)"
    )
    p.add_argument("id")
    p.add_argument("text")
    p.set_defaults(handler="client.commands:campaign_note")
    p = csub2.add_parser("show", parents=[common])
    p.add_argument("id")
    p.set_defaults(handler="client.commands:campaign_show")
    p = csub2.add_parser("list", parents=[common])
    p.set_defaults(handler="client.commands:campaign_list")
    register_automation(csub2, common)

    ev = csub.add_parser("event", help="capture engagement")
    esub = ev.add_subparsers(dest="event_command", required=True, metavar="ACTION")
    p = esub.add_parser("add", parents=[common])
    p.add_argument("--kind", required=True)
    p.add_argument("--contact")
    p.add_argument("--campaign")
    p.add_argument("--channel")
    p.add_argument("--value-cents", type=int)
    p.add_argument("--occurred-at", help="ISO-8601 time (default: now)")
    p.add_argument("--payload", help="JSON object with extra fields")
    p.set_defaults(handler="client.commands:event_add")
    p = esub.add_parser("import", parents=[common], help="import a JSONL file (all or nothing)")
    p.add_argument("file", type=Path)
    p.set_defaults(handler="client.commands:event_import")

    register_spend(csub, common)

    con = csub.add_parser("conflicts", help="campaign conflicts flagged by the server")
    consub = con.add_subparsers(dest="conflicts_command", required=True, metavar="ACTION")
    p = consub.add_parser("list", parents=[common])
    p.add_argument("--status", choices=("open", "resolved", "all"), default="open")
    p.set_defaults(handler="client.commands:conflicts_list")
    p = consub.add_parser("show", parents=[common])
    p.add_argument("id")
    p.set_defaults(handler="client.commands:conflicts_show")
    p = consub.add_parser("resolve", parents=[common], help="admins: pick a candidate or a value")
    p.add_argument("id")
    choice = p.add_mutually_exclusive_group(required=True)
    choice.add_argument("--candidate", type=int, help="index of the candidate to keep")
    choice.add_argument("--value", help="a value of your own (JSON for structured fields)")
    p.add_argument("--comment")
    p.set_defaults(handler="client.commands:conflicts_resolve")

    p = csub.add_parser("audit", parents=[common], help="admins: resolutions and refused attempts")
    p.add_argument("--limit", type=int, default=200)
    p.set_defaults(handler="client.commands:audit")
    p = csub.add_parser(
        "health", parents=[common], help="admins: the server's health checks and the overall status"
    )
    p.add_argument("--refresh", action="store_true", help="have the server read them now")
    p.set_defaults(handler="client.monitoring:health")
    p = csub.add_parser("alerts", parents=[common], help="admins: health alerts, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(handler="client.monitoring:alerts")

    p = csub.add_parser("sync", parents=[common], help="push the queue by priority, pull campaigns")
    p.add_argument("--batch-size", type=int, default=1000, help="events per frame (1..5000)")
    p.set_defaults(handler="client.commands:sync")
    p = csub.add_parser(
        "status", parents=[common], help="offline or not, server reachable or not, queue, last sync"
    )
    p.set_defaults(handler="client.commands:status")


def register_automation(csub2: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``campaign step|variant|activate|pause|archive|run|preview|test-send``."""
    handlers = "client.campaign_commands:"
    step = csub2.add_parser("step", help="the campaign's flow: add, list and remove steps")
    ssub = step.add_subparsers(dest="step_command", required=True, metavar="ACTION")
    p = ssub.add_parser(
        "add",
        parents=[common],
        help="add a step (send_email, wait, wait_for, branch, split, goal)",
        description="Settings not given keep their defaults (docs/campaigns.md, Steps). A jump "
        '(then, on_timeout) names a step by its number in `step list`, e.g. {"then": 4}.',
    )
    p.add_argument("id")
    p.add_argument("kind", choices=("send_email", "wait", "wait_for", "branch", "split", "goal"))
    p.add_argument("--config", metavar="JSON", help='settings, e.g. {"days": 3, "hours": 0}')
    p.add_argument("--at", type=int, metavar="N", help="position from 1 (default: last)")
    p.set_defaults(handler=handlers + "step_add")
    p = ssub.add_parser("list", parents=[common], help="the steps, numbered, in words")
    p.add_argument("id")
    p.set_defaults(handler=handlers + "step_list")
    p = ssub.add_parser("remove", parents=[common], help="remove a step (by number or id)")
    p.add_argument("id")
    p.add_argument("step", help="the step's number in `step list`, or its id")
    p.set_defaults(handler=handlers + "step_remove")

    variant = csub2.add_parser("variant", help="content variants (subject and body)")
    vsub = variant.add_subparsers(dest="variant_command", required=True, metavar="ACTION")
    p = vsub.add_parser("add", parents=[common], help="add a variant (labelled A, B, …)")
    p.add_argument("id")
    p.add_argument("--subject", required=True, help="may use {{ first_name }} and other fields")
    p.add_argument("--body", required=True, help="the plain-text body (a template too)")
    p.add_argument("--html", metavar="FILE", help="an HTML part (default: made from the body)")
    p.set_defaults(handler=handlers + "variant_add")

    for name, what in (
        ("activate", "make the campaign active; the server refuses an incomplete one and says why"),
        ("pause", "hold every enrolment where it is"),
        ("archive", "end the campaign and every enrolment in it"),
    ):
        p = csub2.add_parser(name, parents=[common], help=what + " (syncs when online)")
        p.add_argument("id")
        p.set_defaults(handler=handlers + name)

    p = csub2.add_parser(
        "run",
        parents=[common],
        help="the run view: per step and variant, enrolled, waiting, sent, opened, clicked, "
        "converted, held out (offline: the last known figures)",
    )
    p.add_argument("id")
    p.set_defaults(handler=handlers + "run")

    for name, what in (
        ("preview", "the email as a contact would get it, rendered by the server"),
        ("test-send", "send the email once to an address of yours"),
    ):
        p = csub2.add_parser(name, parents=[common], help=what)
        p.add_argument("id")
        if name == "test-send":
            p.add_argument("--to", required=True, metavar="EMAIL")
        p.add_argument("--variant", metavar="V", help="a variant's letter (A) or id")
        p.add_argument(
            "--contact",
            metavar="JSON",
            help='personalisation fields, e.g. {"first_name": "Ella", "email": "ella@example.com"}',
        )
        p.set_defaults(handler=handlers + ("preview" if name == "preview" else "send_test"))


def register_spend(csub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """``spend add`` and ``spend list`` (``client.spend_commands``)."""
    sp = csub.add_parser("spend", help="record money paid for a channel over a period")
    ssub = sp.add_subparsers(dest="spend_command", required=True, metavar="ACTION")
    p = ssub.add_parser(
        "add",
        parents=[common],
        help="record a spend (captured offline, synced like any event)",
        description="Record money paid for a channel from one day to another, both included "
        "(UTC days). The amount is in the organisation's currency, e.g. 1200 or 1200.50.",
    )
    p.add_argument("--channel", required=True, help="e.g. wedding_fair, paid_search")
    p.add_argument("--amount", required=True, help="e.g. 1200 or 1200.50 (positive)")
    p.add_argument("--from", dest="from_", required=True, metavar="YYYY-MM-DD")
    p.add_argument("--to", required=True, metavar="YYYY-MM-DD", help="the last day, included")
    p.add_argument("--note", help="what it was, e.g. 'Harrogate fair stand'")
    p.add_argument("--campaign", metavar="ID", help="the campaign it was for, if one")
    p.set_defaults(handler="client.spend_commands:add")
    p = ssub.add_parser("list", parents=[common], help="spend recorded on this profile")
    p.add_argument("--limit", type=int, default=500, help="among the newest N events")
    p.set_defaults(handler="client.spend_commands:list_entries")
