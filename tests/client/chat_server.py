"""A chat-completions server on 127.0.0.1 for tests and the benchmark: it speaks the OpenAI
protocol and answers as it is told (good variants, slowly, malformed, or with an error)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from shared.content import APPROACHES


def good_variants(venue: str = "Hollow Barn") -> list[dict[str, str]]:
    subjects = {
        "benefit": f"A calmer run-up at {venue}",
        "urgency": "Eight weeks to go: book your tasting",
        "curiosity": f"Have you seen the new garden at {venue}?",
        "social_proof": f"Why couples choose {venue} in spring",
        "personal": '{{ first_name|default("Hello") }}, a note from the barn',
    }
    return [
        {
            "approach": a,
            "subject": subjects[a],
            "preheader": "A short line under the subject.",
            "body": 'Hi {{ first_name|default("there") }},\n\nSee you at the barn.\n\nThe team',
        }
        for a in APPROACHES
    ]


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
    }


@dataclass
class ChatServer:
    mode: str = "good"  # good | slow | malformed | wrong_shape | error | unfilled
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)  # ends "slow" answers

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.mode == "slow":
            await self.release.wait()  # until the test is over: the client must time out
        if self.mode == "error":
            return web.json_response({"error": {"message": "overloaded"}}, status=503)
        if self.mode == "malformed":
            return web.Response(text="<html>gateway</html>", content_type="text/html")
        if self.mode == "wrong_shape":
            return web.json_response(completion("Here are some ideas: 1. Hi 2. Hello"))
        variants = good_variants()
        if self.mode == "unfilled":
            variants[0]["subject"] = "Hi [First Name], your day at {venue}"
        return web.json_response(completion(json.dumps({"variants": variants})))


async def start_chat_server(mode: str = "good") -> tuple[ChatServer, web.AppRunner]:
    server = ChatServer(mode)
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # the port the OS chose
    server.url = f"http://127.0.0.1:{port}/v1"
    return server, runner


async def stop_chat_server(server: ChatServer, runner: web.AppRunner) -> None:
    server.release.set()
    await runner.cleanup()
