from shared.content import GenerationRecord, GenerationRecorder
from shared.content.recorder import percentile


def test_summary_gives_success_rate_percentiles_and_fallbacks():
    rec = GenerationRecorder(capacity=100)
    for i in range(98):
        rec.record(GenerationRecord("offline", "offline", True, float(i + 1)))
    rec.record(GenerationRecord("llm", "offline", True, 1900.0, "llm_timeout"))
    rec.record(GenerationRecord("llm", "none", False, 2500.0, "llm_answer_invalid"))
    s = rec.summary()
    assert s["count"] == 100 and s["success_rate"] == 0.99
    assert s["p50_ms"] == 50.0 and s["p99_ms"] == 1900.0
    assert s["llm_requests"] == 2 and s["llm_answered"] == 0
    assert s["fallbacks"] == {"llm_timeout": 1, "llm_answer_invalid": 1}
    assert s["meets_target"] is True


def test_the_window_drops_the_oldest():
    rec = GenerationRecorder(capacity=3)
    for ms in (1.0, 2.0, 3.0, 4.0):
        rec.record(GenerationRecord("offline", "offline", True, ms))
    assert [r.latency_ms for r in rec.records] == [2.0, 3.0, 4.0] and rec.total == 4
    assert GenerationRecorder().summary()["success_rate"] is None
    assert percentile([5.0], 99) == 5.0 and percentile([], 50) is None
