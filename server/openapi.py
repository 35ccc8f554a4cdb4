"""The HTTP API's OpenAPI 3 description, served at ``GET /api/v1/openapi.json`` (no token needed).

It documents the API for integrators and is what the API is fuzzed against
(``tests/security/test_fuzz_http.py``, schemathesis): every operation, with any input its
schema allows and many it does not, must answer with a status it describes, never a 5xx. The
websocket sync protocol is described in ``shared.protocol.messages``, not here.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shared.protocol import messages as m

ID = {
    "type": "string",
    "pattern": "^[0-9A-HJKMNP-TV-Z]{26}$",
    "example": "01J9Z3K4M5N6P7Q8R9S0T1V2W3",
}
PROBLEM = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def _problems(*statuses: int) -> dict[str, Any]:
    words = {
        400: "the request is malformed (a JSON problem says what)",
        401: "no valid device token",
        403: "the caller's role may not do this",
        404: "no such thing in the caller's org",
        408: "the body did not arrive in time",
        409: "it exists already",
        413: "the body is too large",
        429: "too many failed logins: wait Retry-After seconds",
        503: "the org's queue is full or the server is busy: retry",
    }
    return {
        str(s): {
            "description": words[s],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }


def _op(
    summary: str,
    *,
    ok: int = 200,
    body: dict | None = None,
    params: list | None = None,
    public: bool = False,
    errors: tuple[int, ...] = (),
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {
                "description": "done",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **_problems(*(((400, 413, 503) if body else (400, 503)) + errors)),
        },
    }
    if not public:
        op["responses"].update(_problems(401, 429))
    else:
        op["security"] = []
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
        op["responses"].update(_problems(408))
    if params:
        op["parameters"] = params
    return op


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def _text(max_length: int = 320) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


_CONTACT = {"schema": {"type": "string", "minLength": 1, "maxLength": 320}}
_TIME = {
    "schema": {"type": "string"},
    "description": "epoch milliseconds or ISO-8601, between 2000 and 2100",
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "WedSync Marketing sync server",
        "version": f"1 (sync protocol {m.PROTOCOL_VERSION})",
        "description": "JSON over HTTP. Every route but login and this description needs "
        "'Authorization: Bearer <device token>'; every refusal is a JSON problem "
        '{"error": {"code", "message"}}. Limits and sessions: docs/security.md.',
    },
    "components": {
        "securitySchemes": {"device": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Problem": PROBLEM},
    },
    "security": [{"device": []}],
    "paths": {
        "/api/v1/login": {
            "post": _op(
                "Log in: a device token for this device",
                public=True,
                errors=(401, 409, 429),
                body={
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {
                        "email": _text(),
                        "password": _text(1024),
                        "device_name": _text(200),
                        "device_id": ID,
                        "org": _text(200),
                    },
                },
            )
        },
        "/api/v1/logout": {"post": _op("Revoke the calling device's token")},
        "/api/v1/token/rotate": {"post": _op("A new token for the calling device")},
        "/api/v1/me": {"get": _op("Who the token belongs to")},
        "/api/v1/users": {
            "get": _op("The org's users (admins)", errors=(403,)),
            "post": _op(
                "Create a user in the caller's org (admins)",
                ok=201,
                errors=(403, 409),
                body={
                    "type": "object",
                    "required": ["email", "password", "role"],
                    "properties": {
                        "email": _text(254),
                        "password": _text(1024),
                        "role": {"type": "string", "enum": ["admin", "marketer", "viewer"]},
                    },
                },
            ),
        },
        "/api/v1/users/{user_id}": {
            "delete": _op(
                "Delete a user of the org (admins)",
                params=[_path_id("user_id")],
                errors=(403, 404),
            )
        },
        "/api/v1/users/{user_id}/devices": {
            "get": _op("A user's devices (admins)", params=[_path_id("user_id")], errors=(403,))
        },
        "/api/v1/users/{user_id}/disable": {
            "post": _op("Disable a user (admins)", params=[_path_id("user_id")], errors=(403, 404))
        },
        "/api/v1/users/{user_id}/enable": {
            "post": _op("Enable a user (admins)", params=[_path_id("user_id")], errors=(403, 404))
        },
        "/api/v1/devices/{device_id}/revoke": {
            "post": _op(
                "Revoke a device's token (admins)",
                params=[_path_id("device_id")],
                errors=(403, 404),
            )
        },
        "/api/v1/campaigns": {"get": _op("The org's campaigns")},
        "/api/v1/campaigns/{campaign_id}": {
            "get": _op("One campaign", params=[_path_id("campaign_id")], errors=(404,))
        },
        "/api/v1/conflicts": {
            "get": _op(
                "The org's conflicts",
                params=[
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["open", "resolved", "all"]},
                    }
                ],
            )
        },
        "/api/v1/conflicts/{conflict_id}": {
            "get": _op("One conflict", params=[_path_id("conflict_id")], errors=(404,))
        },
        "/api/v1/conflicts/{conflict_id}/resolve": {
            "post": _op(
                "Decide a conflict (admins)",
                params=[_path_id("conflict_id")],
                errors=(403, 404),
                body={
                    "type": "object",
                    "properties": {
                        "candidate": {"type": "integer", "minimum": 0},
                        "value": {},
                        "comment": {"type": "string", "maxLength": 2000},
                    },
                },
            )
        },
        "/api/v1/audit": {
            "get": _op(
                "The org's audit log, newest first (admins)",
                errors=(403,),
                params=[
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 5000},
                    }
                ],
            )
        },
        "/api/v1/stats": {"get": _op("The org's figures (admins)", errors=(403,))},
        "/api/v1/health": {"get": _op("Up, and the org's connected devices")},
        "/api/v1/reports/roi": {
            "get": _op(
                "The ROI report of the org",
                params=[
                    {"name": "from", "in": "query", **_TIME},
                    {"name": "to", "in": "query", **_TIME},
                ],
            )
        },
        "/api/v1/viral/tree": {
            "get": _op(
                "A contact's invite tree, generations down",
                errors=(404,),
                params=[
                    {"name": "contact", "in": "query", "required": True, **_CONTACT},
                    {
                        "name": "depth",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 4},
                    },
                ],
            )
        },
        "/api/v1/contacts/journey": {
            "get": _op(
                "A contact's events in the order they happened",
                errors=(404,),
                params=[
                    {"name": "contact", "in": "query", "required": True, **_CONTACT},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                    },
                ],
            )
        },
        "/api/v1/openapi.json": {"get": _op("This description", public=True)},
    },
}


def _page(summary: str, statuses: dict[int, str], **extra: Any) -> dict[str, Any]:
    """An operation of the dashboard (``server.web.dashboard``): HTML pages and redirects,
    authenticated by the session cookie, not a device token."""
    op: dict[str, Any] = {
        "summary": summary,
        "security": [{"session": []}],
        "responses": {
            str(status): {"description": words, "content": {"text/html": {"schema": {}}}}
            if status not in (303, 401)
            else {"description": words}
            for status, words in statuses.items()
        },
        **extra,
    }
    if 401 in statuses:
        op["responses"]["401"] = _problems(401)["401"]
    return op


_FORM = {"email": _text(), "password": _text(1024), "org": _text(200), "csrf": _text(100)}
_PERIOD = {
    "name": "period",
    "in": "query",
    "schema": {"type": "string", "enum": ["quarter", "30d", "90d"]},
}
SPEC["components"]["securitySchemes"]["session"] = {
    "type": "apiKey",
    "in": "cookie",
    "name": "wedsync_session",
}
SPEC["paths"].update(
    {
        "/dashboard": {
            "get": _page(
                "The CMO's dashboard (signed in), or a redirect to its sign-in",
                {200: "the page", 303: "not signed in: to /dashboard/login", 400: "bad period"},
                parameters=[_PERIOD],
            )
        },
        "/dashboard/login": {
            "get": {
                **_page("The sign-in form", {200: "the form", 303: "signed in already"}),
                "security": [],
            },
            "post": {
                **_page(
                    "Sign in (a form with the CSRF value of the sign-in page and its cookie)",
                    {
                        303: "signed in: the session cookie is set",
                        400: "a field is missing or too long",
                        401: "wrong email or password",
                        403: "the CSRF value is missing or wrong, or the form came from elsewhere",
                        409: "the email and password open several organisations: name one",
                        413: "the body is too large",
                        429: "too many failed sign-ins: wait Retry-After seconds",
                        503: "too many sign-ins at once",
                    },
                ),
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {"type": "object", "properties": _FORM}
                        }
                    },
                },
            },
        },
        "/dashboard/logout": {
            "post": _page(
                "Sign out: the session is revoked",
                {
                    303: "signed out (or not signed in): to /dashboard/login",
                    400: "not a form",
                    403: "the CSRF value is wrong",
                    413: "the body is too large",
                },
                requestBody={
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {"type": "object", "properties": {"csrf": _text(100)}}
                        }
                    },
                },
            )
        },
        "/dashboard/report": {
            "get": {
                **_op("The org's ROI report for a period, as the dashboard draws it"),
                "security": [{"session": []}],
                "parameters": [_PERIOD],
            }
        },
        "/dashboard/events": {
            "get": {
                "summary": "Server-sent events: report_changed {as_of_ms} when the report changes",
                "security": [{"session": []}],
                "responses": {
                    "200": {
                        "description": "the stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **_problems(401, 503),
                },
            }
        },
    }
)


routes = web.RouteTableDef()


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(SPEC)
