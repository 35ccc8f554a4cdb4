"""One entry point for every attribution model, so reports and the CLI run them alike."""

from __future__ import annotations

from .attribution import DEFAULT_HALF_LIFE_MS, HEURISTICS, Credit, weighted_credit
from .errors import UnknownModelError
from .markov import markov
from .paths import PathSet
from .shapley import DEFAULT_PERMUTATIONS, shapley

MODELS: tuple[str, ...] = (*HEURISTICS, "markov", "shapley")


def run_model(
    paths: PathSet,
    model: str,
    *,
    order: int = 1,
    half_life_ms: float = DEFAULT_HALF_LIFE_MS,
    half_life_steps: float = 1.0,
    seed: int = 0,
    permutations: int = DEFAULT_PERMUTATIONS,
) -> Credit:
    """Credit under ``model`` (one of ``MODELS``)."""
    if model == "markov":
        return markov(paths, order=order)
    if model == "shapley":
        return shapley(paths, seed=seed, permutations=permutations)
    if model == "time_decay":
        return weighted_credit(
            paths, model, half_life_ms=half_life_ms, half_life_steps=half_life_steps
        )
    if model in HEURISTICS:
        return weighted_credit(paths, model)
    raise UnknownModelError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")


def run_models(
    paths: PathSet, models: str | tuple[str, ...] = "all", **options
) -> dict[str, Credit]:
    """Several models on the same paths; ``"all"`` runs the seven in ``MODELS``."""
    names = MODELS if models == "all" else (models,) if isinstance(models, str) else models
    return {name: run_model(paths, name, **options) for name in names}
