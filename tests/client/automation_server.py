"""A server on 127.0.0.1 that answers the automation endpoints exactly as the HTTP contract
says (run view, preview, test send, SMTP settings), for tests of the client's side: what it
serves is set by the test, and it records what it was asked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from server.automation.run_view import allocation_view
from shared.content import bandit

TOKEN = "automation-test-token"


def problem(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def run_view(campaign_id: str, variants: list[dict[str, Any]], *, as_of_ms: int) -> dict:
    """A run view of a three-step campaign (send A/B, wait, goal), figures as the contract
    names them; with two or more variants, the first step's live test as the server gives it
    after one allocation round on those figures."""
    view = _figures(campaign_id, variants, as_of_ms=as_of_ms)
    send = view["steps"][0]
    if len(variants) >= 2:
        counts = {v["id"]: bandit.ArmCounts(v["sent"], v["clicked"]) for v in send["variants"]}
        state = bandit.reallocate(bandit.start(list(counts)), counts, seed=0, now_ms=as_of_ms)
        send["test"] = allocation_view(state.to_dict(), send["variants"])
    return view


def _figures(campaign_id: str, variants: list[dict[str, Any]], *, as_of_ms: int) -> dict:
    return {
        "campaign_id": campaign_id,
        "status": "active",
        "as_of_ms": as_of_ms,
        "holdout_pct": 10,
        "totals": {
            "enrolled": 120,
            "waiting": 31,
            "sent": 104,
            "opened": 52,
            "clicked": 21,
            "converted": 9,
            "held_out": 12,
            "bounced": 3,
            "suppressed": 1,
            "exited": 40,
        },
        "steps": [
            {
                "index": 0,
                "kind": "send_email",
                "label": "",
                "enrolled": 120,
                "waiting": 0,
                "sent": 104,
                "opened": 52,
                "clicked": 21,
                "converted": 9,
                "held_out": 12,
                "bounced": 3,
                "suppressed": 1,
                "variants": [
                    {
                        "id": v["id"],
                        "subject": v["subject"],
                        "sent": 52,
                        "opened": 30 - i * 8,
                        "clicked": 13 - i * 5,
                        "converted": 6 - i * 3,
                    }
                    for i, v in enumerate(variants)
                ],
            },
            {
                "index": 1,
                "kind": "wait",
                "label": "",
                "enrolled": 104,
                "waiting": 31,
                "sent": 0,
                "opened": 0,
                "clicked": 0,
                "converted": 0,
                "held_out": 0,
                "bounced": 0,
                "suppressed": 0,
                "variants": [],
            },
        ],
    }


@dataclass
class AutomationServer:
    role: str = "admin"
    url: str = ""
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    sends: list[dict[str, Any]] = field(default_factory=list)
    previews: list[dict[str, Any]] = field(default_factory=list)
    smtp: dict[str, Any] | None = None
    smtp_password: str | None = None
    smtp_tests: list[str] = field(default_factory=list)
    refuse_sends: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    templates: dict[str, dict[str, str]] = field(default_factory=dict)  # variant id -> content

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/api/v1/login", self.login)
        app.router.add_get("/api/v1/campaigns/{cid}/run", self.run)
        app.router.add_post("/api/v1/campaigns/{cid}/preview", self.preview)
        app.router.add_post("/api/v1/campaigns/{cid}/test-send", self.test_send)
        app.router.add_get("/api/v1/smtp", self.get_smtp)
        app.router.add_put("/api/v1/smtp", self.put_smtp)
        app.router.add_post("/api/v1/smtp/test", self.smtp_test)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path != "/api/v1/login" and request.headers.get("Authorization") != (
            f"Bearer {TOKEN}"
        ):
            return problem(401, "unauthorized", "missing or unknown device token")
        return await handler(request)

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {
                "token": TOKEN,
                "user": body["email"],
                "org": "Venue",
                "role": self.role,
                "device_id": "server-side-device-id",
            }
        )

    async def run(self, request: web.Request) -> web.Response:
        view = self.runs.get(request.match_info["cid"])
        if view is None:
            return problem(404, "not_found", "no such campaign on the server")
        return web.json_response(view)

    def _render(self, body: dict[str, Any]) -> dict[str, str]:
        content = self.templates.get(body.get("variant") or "") or next(
            iter(self.templates.values()), {"subject": "", "body": ""}
        )
        fields = body.get("contact") if isinstance(body.get("contact"), dict) else {}

        def fill(text: str) -> str:
            return re.sub(
                r"\{\{\s*(\w+)\s*\}\}", lambda m: str(fields.get(m.group(1), "there")), text
            )

        text = fill(content["body"])
        return {
            "subject": fill(content["subject"]),
            "text": text,
            "html": f"<!doctype html><html><body><p>{text}</p></body></html>",
        }

    async def preview(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.previews.append(body)
        return web.json_response(self._render(body))

    async def test_send(self, request: web.Request) -> web.Response:
        if self.role not in ("admin", "marketer"):
            return problem(403, "forbidden", "viewers cannot send email")
        body = await request.json()
        self.sends.append(body)
        if body["to"] in self.refuse_sends:
            return web.json_response(
                {
                    "message_id": None,
                    "accepted": False,
                    "error": {"code": "bounced", "message": self.refuse_sends[body["to"]]},
                }
            )
        return web.json_response(
            {"message_id": f"<{len(self.sends)}@venue.test>", "accepted": True}
        )

    def _admin(self) -> web.Response | None:
        if self.role != "admin":
            return problem(403, "forbidden", "only admins manage the mail server")
        return None

    async def get_smtp(self, request: web.Request) -> web.Response:
        if refused := self._admin():
            return refused
        if self.smtp is None:
            return web.json_response({"configured": False})
        return web.json_response({**self.smtp, "password_set": self.smtp_password is not None})

    async def put_smtp(self, request: web.Request) -> web.Response:
        if refused := self._admin():
            return refused
        body = await request.json()
        if body.get("port") == 0:
            return problem(400, "smtp_settings_invalid", "the port must be 1 to 65535")
        if "password" in body:
            self.smtp_password = body.pop("password")
        self.smtp = {k: body.get(k) for k in ("host", "port", "security", "user", "from")}
        return web.json_response({"saved": True})

    async def smtp_test(self, request: web.Request) -> web.Response:
        if refused := self._admin():
            return refused
        body = await request.json()
        self.smtp_tests.append(body["to"])
        if self.smtp is None:
            return web.json_response(
                {
                    "accepted": False,
                    "error": {"code": "smtp_not_configured", "message": "no SMTP settings"},
                }
            )
        return web.json_response({"accepted": True})


async def start(server: AutomationServer, port: int) -> web.AppRunner:
    runner = web.AppRunner(server.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    server.url = f"http://127.0.0.1:{port}"
    return runner
