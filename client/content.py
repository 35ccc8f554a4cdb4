"""Subject-line generation for the app and the CLI: the offline generator, or an
OpenAI-compatible chat-completions endpoint when one is configured and reachable.

The endpoint (base URL, e.g. ``http://127.0.0.1:11434/v1`` for a local Ollama, and model) is a
per-device setting of the profile; its API key, if it needs one, lives in the OS keyring
(account ``llm:<base URL>``), never in a file. A generation asked of the endpoint gets a strict
timeout (``timeout_s``, 1.8 s by default, so a fallback still lands inside the brief's 2 s);
any failure — refused connection, timeout, an HTTP error, an answer that is not five valid
variants — falls back to the offline generator, and the generation says so
(``fallback`` = the error code). Every generation is recorded in a ``GenerationRecorder``.

No Qt here; the app runs ``generate`` on its loop (aiohttp) and the offline work in a thread.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from shared.content import (
    ContentCode,
    ContentError,
    ContentRequest,
    EngagementModel,
    Generation,
    GenerationRecorder,
    SubjectOutcome,
    assemble,
    chat_request,
    fit,
    offline,
    outcomes_from_events,
    parse_answer,
)

from .credentials import CredentialsError, TokenStore

DEFAULT_TIMEOUT_S = 1.8
MAX_ANSWER_BYTES = 256 * 1024
SETTING_URL, SETTING_MODEL, SETTING_TIMEOUT = "llm_url", "llm_model", "llm_timeout_s"


@dataclass(frozen=True)
class LlmEndpoint:
    url: str  # the base URL; requests go to {url}/chat/completions
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S


def key_account(url: str) -> str:
    return f"llm:{url}"


def endpoint_url(text: str) -> str:
    """A base URL as typed, checked: http(s), a host, no query; without a trailing slash."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ContentError(
            ContentCode.LLM_NOT_CONFIGURED,
            f"{text!r} is not an endpoint URL like http://127.0.0.1:11434/v1",
        )
    return text.strip().rstrip("/")


def save_endpoint(
    replica: Any,
    tokens: TokenStore,
    *,
    url: str,
    model: str,
    api_key: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> LlmEndpoint:
    """Store the endpoint in the profile and its key (if any) in the keyring."""
    url = endpoint_url(url)
    if not model.strip():
        raise ContentError(ContentCode.LLM_NOT_CONFIGURED, "name the model, e.g. llama3.2")
    if not 0.1 <= timeout_s <= 60:
        raise ContentError(ContentCode.LLM_NOT_CONFIGURED, "timeout_s must be 0.1 to 60 seconds")
    if api_key:
        tokens.set(key_account(url), api_key)  # first: a keyring refusal leaves nothing half-set
    replica.set_setting(SETTING_URL, url)
    replica.set_setting(SETTING_MODEL, model.strip())
    replica.set_setting(SETTING_TIMEOUT, str(timeout_s))
    return LlmEndpoint(url, model.strip(), api_key, timeout_s)


def forget_endpoint(replica: Any, tokens: TokenStore) -> None:
    url = replica.get_setting(SETTING_URL)
    if url:
        tokens.delete(key_account(url))
    for key in (SETTING_URL, SETTING_MODEL, SETTING_TIMEOUT):
        replica.set_setting(key, None)


def read_key(tokens: TokenStore | None, url: str) -> str | None:
    """The endpoint's key, or None when there is none or the keyring cannot be read (a local
    endpoint needs no key; one that does answers 401 and the generation falls back, saying so)."""
    if tokens is None:
        return None
    try:
        return tokens.get(key_account(url))
    except CredentialsError:
        return None


def load_endpoint(replica: Any, tokens: TokenStore | None) -> LlmEndpoint | None:
    """The profile's endpoint with its key from the keyring; None when none is configured."""
    url, model = replica.get_setting(SETTING_URL), replica.get_setting(SETTING_MODEL)
    if not url or not model:
        return None
    key = read_key(tokens, url)
    timeout = float(replica.get_setting(SETTING_TIMEOUT) or DEFAULT_TIMEOUT_S)
    return LlmEndpoint(url, model, key, timeout)


async def complete(
    endpoint: LlmEndpoint, body: dict[str, Any], *, session: aiohttp.ClientSession | None = None
) -> Any:
    """POST the chat-completions ``body``; the decoded JSON answer, or a ``ContentError``."""
    headers = {"Content-Type": "application/json"}
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with asyncio.timeout(endpoint.timeout_s):
            async with session.post(
                f"{endpoint.url}/chat/completions", json=body, headers=headers
            ) as resp:
                if resp.status >= 300:
                    raise ContentError(
                        ContentCode.LLM_HTTP_ERROR, f"the endpoint answered HTTP {resp.status}"
                    )
                raw = await resp.content.read(MAX_ANSWER_BYTES + 1)
                if len(raw) > MAX_ANSWER_BYTES:
                    raise ContentError(ContentCode.LLM_ANSWER_INVALID, "the answer is too large")
                try:
                    return json.loads(raw)
                except ValueError:
                    raise ContentError(
                        ContentCode.LLM_ANSWER_INVALID, "the answer is not JSON"
                    ) from None
    except TimeoutError:
        raise ContentError(
            ContentCode.LLM_TIMEOUT, f"no answer within {endpoint.timeout_s:g} s"
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        os_error = getattr(exc, "os_error", None) or (exc if isinstance(exc, OSError) else None)
        why = getattr(os_error, "strerror", None) or type(exc).__name__
        raise ContentError(
            ContentCode.LLM_UNREACHABLE, f"cannot reach {endpoint.url} ({why.lower()})"
        ) from None
    finally:
        if own:
            await session.close()


async def generate_variants(
    request: ContentRequest,
    *,
    source: str = "offline",
    endpoint: LlmEndpoint | None = None,
    history: Sequence[SubjectOutcome] = (),
    model: EngagementModel | None = None,
    recorder: GenerationRecorder | None = None,
    seed: int = 0,
    session: aiohttp.ClientSession | None = None,
) -> Generation:
    """Five scored variants from ``source`` (``offline`` or ``llm``), falling back to the offline
    generator on any failure of the endpoint; recorded in ``recorder``."""
    if source not in ("offline", "llm"):
        raise ContentError(ContentCode.REQUEST_INVALID, "source must be offline or llm")
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    if model is None:  # fitting reads the whole history: off the loop
        model = await loop.run_in_executor(None, lambda: fit(history))
    fallback: ContentError | None = None
    if source == "llm":
        try:
            if endpoint is None:
                raise ContentError(
                    ContentCode.LLM_NOT_CONFIGURED,
                    "no LLM endpoint is set up on this device: using the offline generator",
                )
            answer = await complete(
                endpoint, chat_request(request, model=endpoint.model), session=session
            )
            variants = parse_answer(answer, request)
            result = assemble(request, variants, model, requested="llm", seed=seed)
        except ContentError as exc:
            fallback = exc
    if source == "offline" or fallback is not None:
        result = await loop.run_in_executor(None, lambda: offline(request, model=model, seed=seed))
    elapsed_ms = (time.perf_counter() - started) * 1000
    result = replace(
        result,
        requested=source,
        fallback=str(fallback.code) if fallback else None,
        fallback_message=fallback.message if fallback else None,
        latency_ms=elapsed_ms,
    )
    if recorder is not None:
        recorder.record(result.record)
    return result


def audience_of(campaign: dict[str, Any]) -> str:
    """Suppliers when the campaign's audience asks for them by role or supplier kind."""
    seg = campaign.get("audience_segment")
    text = json.dumps(seg).lower() if seg else ""
    return "suppliers" if "supplier" in text else "couples"


def profile_history(replica: Any) -> list[SubjectOutcome]:
    """Per-subject outcomes of the sends this profile's replica holds."""
    campaigns = {c["id"]: (c.get("type") or "nurture", audience_of(c)) for c in replica.campaigns()}
    return outcomes_from_events(replica.event_rows(), campaigns)
