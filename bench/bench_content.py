"""Content benchmark, printed as JSON: generation latency (offline; through a chat-completions
server on 127.0.0.1, answering and timing out), the engagement model's held-out rank
correlation, and the bandit's cumulative regret against a fixed even split in the same runs.

Usage: python bench/bench_content.py [--generations N] [--llm N] [--seeds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from client.content import LlmEndpoint, generate_variants  # noqa: E402
from shared.content import (  # noqa: E402
    GenerationRecorder,
    fit,
    generate,
    offline,
    parse_request,
    synthetic,
    validate,
)
from shared.content.bandit import ArmCounts, reallocate, start  # noqa: E402
from shared.content.context import AUDIENCES  # noqa: E402
from shared.content.recorder import percentile  # noqa: E402
from shared.content.simulation import simulate  # noqa: E402
from shared.protocol.campaign import CAMPAIGN_TYPES  # noqa: E402
from tests.client.chat_server import start_chat_server, stop_chat_server  # noqa: E402

CONTEXT = {"venue": "Hollow Barn", "region": "Cotswolds", "days_to_wedding": 90}


def requests(n: int):
    out = []
    for i in range(n):
        kind = CAMPAIGN_TYPES[i % len(CAMPAIGN_TYPES)]
        audience = AUDIENCES[(i // len(CAMPAIGN_TYPES)) % 2]
        out.append((parse_request(kind, {**CONTEXT, "audience": audience}), i))
    return out


def ms_stats(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "max_ms": round(max(values), 3),
    }


def bench_offline(n: int, model) -> dict:
    gen_only, full = [], []
    for request, seed in requests(n):
        t = time.perf_counter()
        generate(request, seed=seed)
        gen_only.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        offline(request, model=model, seed=seed)
        full.append((time.perf_counter() - t) * 1000)
    return {"generate_only": ms_stats(gen_only), "generate_score_recommend": ms_stats(full)}


async def bench_llm(n: int, timeouts: int, model) -> dict:
    out = {}
    for mode, count, timeout_s in (("good", n, 10.0), ("slow", timeouts, 1.8)):
        server, runner = await start_chat_server(mode)
        recorder = GenerationRecorder()
        try:
            endpoint = LlmEndpoint(server.url, "bench", timeout_s=timeout_s)
            for request, seed in requests(count):
                await generate_variants(
                    request,
                    source="llm",
                    endpoint=endpoint,
                    model=model,
                    recorder=recorder,
                    seed=seed,
                )
        finally:
            await stop_chat_server(server, runner)
        summary = recorder.summary()
        out[mode] = {
            **ms_stats([r.latency_ms for r in recorder.records]),
            "success_rate": summary["success_rate"],
            "answered_by_llm": summary["llm_answered"],
            "fallbacks": summary["fallbacks"],
            "timeout_s": timeout_s,
        }
    return out


def bench_bandit(seeds: int) -> dict:
    runs = {}
    for name, rates in (
        ("2 arms 4% / 6%", [0.04, 0.06]),
        ("3 arms 2% / 3% / 5%", [0.02, 0.03, 0.05]),
    ):
        ratios, until, wrong, winners = [], [], 0, 0
        for seed in range(seeds):
            run = simulate(rates, seed=seed, batch=100, rounds=60)
            ratios.append(run.regret / run.fixed_regret)
            until.append(run.sends_until_share(0.9))
            winners += run.winner is not None
            wrong += run.winner is not None and run.winner != f"v{rates.index(max(rates))}"
        reached = [u for u in until if u is not None]
        runs[name] = {
            "seeds": seeds,
            "sends_per_minute": 100,
            "minutes": 60,
            "regret_ratio_vs_even_split_median": round(statistics.median(ratios), 4),
            "regret_ratio_max": round(max(ratios), 4),
            "sends_until_best_share_over_90pct_median": statistics.median(reached),
            "sends_until_best_share_over_90pct_max": max(reached),
            "runs_reaching_90pct": len(reached),
            "winners_declared": winners,
            "wrong_winners": wrong,
        }
    counts = {f"v{i}": ArmCounts(5000 + i * 100, 200 + i * 10) for i in range(5)}
    state = start(list(counts))
    times = []
    for r in range(50):
        t = time.perf_counter()
        reallocate(state, counts, seed=r)
        times.append((time.perf_counter() - t) * 1000)
    runs["reallocate_5_arms_20000_draws"] = ms_stats(times)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=500)
    parser.add_argument("--llm", type=int, default=100)
    parser.add_argument("--timeouts", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    history = synthetic.history(0)
    model = fit(history)
    result = {
        "offline": bench_offline(args.generations, model),
        "llm_local_server": asyncio.run(bench_llm(args.llm, args.timeouts, model)),
        "model_validation": [validate(history, seed=s).to_dict() for s in range(3)],
        "bandit": bench_bandit(args.seeds),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
