"""Generation through a real chat-completions server on 127.0.0.1: a good answer is used; a
slow, malformed, wrong or failing one falls back to the offline generator, recorded; the key
stays in the keyring."""

from __future__ import annotations

import pytest

from client.content import (
    LlmEndpoint,
    forget_endpoint,
    generate_variants,
    key_account,
    load_endpoint,
    save_endpoint,
)
from client.credentials import KeyringTokens
from client.store import Replica
from shared.content import ContentError, GenerationRecorder, parse_request
from tests.client.chat_server import start_chat_server, stop_chat_server
from tests.conftest import free_port

REQUEST = parse_request("nurture", {"venue": "Hollow Barn", "days_to_wedding": 56})


@pytest.fixture
async def chat(request):
    server, runner = await start_chat_server(getattr(request, "param", "good"))
    yield server
    await stop_chat_server(server, runner)


async def test_a_good_answer_is_shown_with_scores_and_recorded(chat):
    recorder = GenerationRecorder()
    endpoint = LlmEndpoint(chat.url, "llama3.2", api_key="sk-test", timeout_s=5)
    gen = await generate_variants(REQUEST, source="llm", endpoint=endpoint, recorder=recorder)
    assert gen.source == "llm" and gen.fallback is None and len(gen.variants) == 5
    assert gen.variants[2].subject == "Have you seen the new garden at Hollow Barn?"
    assert gen.rates[gen.recommended] == max(gen.rates) and gen.reason
    sent = chat.requests[0]
    assert sent["model"] == "llama3.2" and "Hollow Barn" in sent["messages"][1]["content"]
    assert chat.headers[0]["Authorization"] == "Bearer sk-test"
    summary = recorder.summary()
    assert summary["llm_answered"] == 1 and summary["success_rate"] == 1.0


@pytest.mark.parametrize(
    ("chat", "code"),
    [
        ("slow", "llm_timeout"),
        ("malformed", "llm_answer_invalid"),
        ("wrong_shape", "llm_answer_invalid"),
        ("error", "llm_http_error"),
        ("unfilled", "llm_answer_invalid"),
    ],
    indirect=["chat"],
)
async def test_any_failure_falls_back_to_the_offline_generator_and_says_why(chat, code):
    recorder = GenerationRecorder()
    endpoint = LlmEndpoint(chat.url, "m", timeout_s=0.3)
    gen = await generate_variants(REQUEST, source="llm", endpoint=endpoint, recorder=recorder)
    assert gen.requested == "llm" and gen.source == "offline" and gen.fallback == code
    assert len(gen.variants) == 5 and {v.source for v in gen.variants} == {"offline"}
    assert len(chat.requests) == 1
    assert gen.latency_ms < 2000  # the fallback still lands inside the brief's 2 s
    (record,) = recorder.records
    assert record.ok and record.fallback == code and record.source == "offline"
    assert recorder.summary()["llm_answered"] == 0


async def test_an_endpoint_nobody_listens_on_falls_back():
    endpoint = LlmEndpoint(f"http://127.0.0.1:{free_port()}/v1", "m", timeout_s=1)
    gen = await generate_variants(REQUEST, source="llm", endpoint=endpoint)
    assert gen.fallback == "llm_unreachable" and gen.source == "offline"


async def test_no_endpoint_configured_falls_back_saying_so():
    gen = await generate_variants(REQUEST, source="llm", endpoint=None)
    assert gen.fallback == "llm_not_configured" and "offline generator" in gen.fallback_message


async def test_offline_needs_no_network_and_is_fast():
    gen = await generate_variants(REQUEST, source="offline")
    assert gen.source == gen.requested == "offline" and gen.fallback is None
    assert gen.latency_ms < 200


def test_the_endpoint_lives_in_the_profile_and_its_key_in_the_keyring(tmp_path, test_keyring):
    replica = Replica(tmp_path / "p")
    tokens = KeyringTokens()
    assert load_endpoint(replica, tokens) is None
    save_endpoint(
        replica, tokens, url="http://127.0.0.1:11434/v1/", model="llama3.2", api_key="sk-1"
    )
    endpoint = load_endpoint(replica, tokens)
    assert endpoint.url == "http://127.0.0.1:11434/v1" and endpoint.api_key == "sk-1"
    assert "sk-1" not in repr(endpoint)
    assert test_keyring.items[("wedsync-marketing", key_account(endpoint.url))] == "sk-1"
    settings = replica.db.execute("SELECT group_concat(value) FROM settings").fetchone()[0]
    assert "sk-1" not in settings
    forget_endpoint(replica, tokens)
    assert load_endpoint(replica, tokens) is None and not test_keyring.items
    with pytest.raises(ContentError):
        save_endpoint(replica, tokens, url="ftp://x", model="m")
    replica.close()
