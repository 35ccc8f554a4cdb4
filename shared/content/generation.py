"""One generation as the user sees it: five variants, each with its predicted rate and the
source that wrote it, the recommended one with its reason, and how the generation went (the
source asked for, a fallback and why, the latency).

``offline`` runs the whole offline path (generate, score, recommend); the LLM path's caller
(``client.content``) gets variants from its endpoint, or falls back, and calls ``assemble``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .checks import preview
from .context import ContentRequest, request_dict
from .generator import SOURCE_OFFLINE, Variant, generate
from .history import SubjectOutcome
from .phrases import APPROACH_LABELS
from .recorder import GenerationRecord
from .scoring import EngagementModel, fit, recommend


@dataclass(frozen=True)
class Generation:
    request: ContentRequest
    variants: tuple[Variant, ...]
    rates: tuple[float, ...]  # predicted rate per send, per variant
    recommended: int
    reason: str
    metric: str  # what the rates predict: click | conversion
    requested: str  # offline | llm
    source: str  # who wrote the variants shown: offline | llm
    fallback: str | None = None  # the error code that made an llm request fall back
    fallback_message: str | None = None
    latency_ms: float = 0.0
    seed: int = 0

    @property
    def record(self) -> GenerationRecord:
        return GenerationRecord(
            self.requested, self.source, len(self.variants) == 5, self.latency_ms, self.fallback
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": request_dict(self.request),
            "requested": self.requested,
            "source": self.source,
            "fallback": self.fallback,
            "fallback_message": self.fallback_message,
            "latency_ms": round(self.latency_ms, 2),
            "metric": self.metric,
            "recommended": self.recommended,
            "reason": self.reason,
            "variants": [
                {
                    **v.to_dict(),
                    "subject_preview": preview(v.subject),
                    "label": APPROACH_LABELS[v.approach],
                    "predicted_rate": round(rate, 5),
                    "recommended": i == self.recommended,
                }
                for i, (v, rate) in enumerate(zip(self.variants, self.rates, strict=True))
            ],
        }


def assemble(
    request: ContentRequest,
    variants: Sequence[Variant],
    model: EngagementModel,
    *,
    requested: str,
    fallback: str | None = None,
    fallback_message: str | None = None,
    latency_ms: float = 0.0,
    seed: int = 0,
) -> Generation:
    rec = recommend([v.subject for v in variants], request.campaign_type, request.audience, model)
    return Generation(
        request,
        tuple(variants),
        rec.rates,
        rec.index,
        rec.reason,
        model.metric,
        requested,
        variants[0].source if variants else SOURCE_OFFLINE,
        fallback,
        fallback_message,
        latency_ms,
        seed,
    )


def offline(
    request: ContentRequest,
    *,
    history: Sequence[SubjectOutcome] = (),
    model: EngagementModel | None = None,
    seed: int = 0,
    metric: str = "click",
) -> Generation:
    """The offline path: generate, score on the org's history (or the prior), recommend."""
    model = model or fit(history, metric=metric)
    return assemble(request, generate(request, seed=seed), model, requested="offline", seed=seed)
