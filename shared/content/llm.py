"""The LLM path's pure half: the chat-completions request for a generation, and the checks
its answer must pass before any of it is shown.

The request follows the OpenAI chat-completions protocol (hosted services, and a local Ollama,
llama.cpp or vLLM server speak it): a system message with the rules, a user message with the
request as JSON (the same wedding context the offline generator uses), JSON output asked for.
The answer is accepted only whole: exactly five variants, one per approach, each subject,
preheader and body within its length, no field left unfilled (a personalisation field must
carry its default). Anything else raises ``llm_answer_invalid`` and the caller falls back to the
offline generator. Spam words, capitals and punctuation are warnings, shown as for offline
variants.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import checks
from .context import ContentRequest, request_dict
from .errors import ContentCode, ContentError
from .generator import SOURCE_LLM, SUBJECT_CHARS, Variant
from .phrases import APPROACHES

SYSTEM_PROMPT = """You write email subject lines for WedSync, a wedding marketplace in the UK.
Write five variants for the campaign described by the user's JSON, one per approach:
benefit, urgency, curiosity, social_proof, personal. They must differ in approach, not wording.
Rules:
- British English; no spam words (free, guarantee, act now, winner, cash, urgent), no words in
  capitals, at most one exclamation mark, never "!!".
- Subject: at most {subject_chars} characters as read; preheader: one sentence of at most
  {preheader_chars} characters; body: a short plain-text email (greeting, two to four sentences,
  sign-off) of at most {body_chars} characters.
- Use the context you are given (venue, region, season, days to the wedding, milestone, health
  band). Never invent numbers, prices, dates or names you were not given.
- Personalisation fields only as {{{{ first_name|default("Hello") }}}} (also partner_name and
  business_name), always with the default a reader without that value should see. No other
  placeholders of any kind.
Answer with JSON only: {{"variants": [{{"approach": "...", "subject": "...", "preheader": "...",
"body": "..."}}, ...]}}"""


def chat_request(
    request: ContentRequest, *, model: str, temperature: float = 0.8
) -> dict[str, Any]:
    """The body of ``POST {base}/chat/completions`` for ``request``."""
    system = SYSTEM_PROMPT.format(
        subject_chars=SUBJECT_CHARS[request.length],
        preheader_chars=checks.MAX_PREHEADER_CHARS,
        body_chars=1200 if request.length == "long" else 700,
    )
    return {
        "model": model,
        "temperature": temperature,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": json.dumps(request_dict(request), sort_keys=True)},
        ],
    }


def _invalid(message: str) -> ContentError:
    return ContentError(ContentCode.LLM_ANSWER_INVALID, message)


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def answer_content(answer: Any) -> str:
    """The assistant message's text of a chat-completions answer."""
    try:
        content = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise _invalid("the answer has no choices[0].message.content") from None
    if not isinstance(content, str):
        raise _invalid("the message content is not text")
    return content


def parse_answer(answer: Any, request: ContentRequest) -> list[Variant]:
    """Five checked variants in ``APPROACHES`` order, or ``llm_answer_invalid``."""
    text = answer_content(answer)
    fenced = _FENCE.match(text)
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError as exc:
        raise _invalid(f"the message is not JSON ({exc.msg})") from None
    items = data.get("variants") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) != len(APPROACHES):
        got = len(items) if isinstance(items, list) else "no"
        raise _invalid(f"expected {len(APPROACHES)} variants, got {got}")
    by_approach: dict[str, Variant] = {}
    limit = max(SUBJECT_CHARS[request.length], checks.MOBILE_SUBJECT_CHARS)
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise _invalid(f"variant {n} is not an object")
        approach = item.get("approach")
        values = [item.get(k) for k in ("subject", "preheader", "body")]
        if approach not in APPROACHES or approach in by_approach:
            raise _invalid(f"variant {n}: approach {approach!r} is unknown or repeated")
        if not all(isinstance(v, str) and v.strip() for v in values):
            raise _invalid(f"variant {n}: subject, preheader and body must be text")
        subject, preheader, body = (v.strip() for v in values)
        if len(checks.longest_preview(subject)) > limit:
            raise _invalid(f"variant {n}: the subject is over {limit} characters")
        issues = (
            *checks.check_subject(subject),
            *checks.check_text(preheader, "preheader", checks.MAX_PREHEADER_CHARS),
            *checks.check_text(body, "body", checks.MAX_BODY_CHARS),
        )
        blocked = checks.blocking(list(issues))
        if blocked:
            raise _invalid(f"variant {n}: {blocked[0].message}")
        by_approach[approach] = Variant(approach, subject, preheader, body, SOURCE_LLM, issues)
    return [by_approach[a] for a in APPROACHES]
