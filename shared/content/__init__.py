"""Content, pure and I/O-free: subject lines and bodies for a campaign, their predicted
engagement, and live allocation between variants.

* ``context``: what a generation is asked for (type, audience, wedding context, tone, length).
* ``generator`` / ``phrases``: the offline generator, five variants, one per approach.
* ``checks``: spam words, capitals, punctuation, phone length, unfilled fields.
* ``features`` / ``scoring`` / ``history``: the engagement model learned from an org's sends,
  the recommendation and its reason, validation on held-out subjects.
* ``llm``: the chat-completions request and the checks its answer must pass (the HTTP half
  lives in ``client.content``).
* ``generation``: one generation as the user sees it.
* ``recorder``: success and latency of every generation.
* ``bandit`` / ``simulation``: Thompson sampling between a send step's variants.

Numpy and scipy load with ``scoring`` and ``bandit``; import this package inside the commands
that need it, not at start-up.
"""

from .bandit import ArmCounts, BanditState, Settings, reallocate, start, tally
from .checks import Issue, check_subject, check_text, preview, unfilled
from .context import ContentRequest, parse_request, request_dict
from .errors import ContentCode, ContentError
from .generation import Generation, assemble, offline
from .generator import SOURCE_LLM, SOURCE_OFFLINE, Variant, generate
from .history import SubjectOutcome, outcome_from_dict, outcomes_from_events
from .llm import chat_request, parse_answer
from .phrases import APPROACH_LABELS, APPROACHES
from .recorder import GenerationRecord, GenerationRecorder
from .scoring import EngagementModel, Recommendation, cold_start, fit, recommend, validate

__all__ = [
    "APPROACHES",
    "APPROACH_LABELS",
    "ArmCounts",
    "BanditState",
    "ContentCode",
    "ContentError",
    "ContentRequest",
    "EngagementModel",
    "Generation",
    "GenerationRecord",
    "GenerationRecorder",
    "Issue",
    "Recommendation",
    "SOURCE_LLM",
    "SOURCE_OFFLINE",
    "Settings",
    "SubjectOutcome",
    "Variant",
    "assemble",
    "chat_request",
    "check_subject",
    "check_text",
    "cold_start",
    "fit",
    "generate",
    "offline",
    "outcome_from_dict",
    "outcomes_from_events",
    "parse_answer",
    "parse_request",
    "preview",
    "reallocate",
    "recommend",
    "request_dict",
    "start",
    "tally",
    "unfilled",
    "validate",
]
