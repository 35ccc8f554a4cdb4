import json

from shared.analytics.events import EventFrame
from shared.analytics.paths import build_paths
from shared.analytics.report import build_roi_report
from shared.analytics.synthetic import generate
from shared.protocol.events import event_from_wire
from shared.protocol.ids import is_id
from shared.protocol.kinds import EVENT_CLASSES


def test_generator_is_deterministic_and_valid():
    a = generate(seed=3, suppliers=40, couples=300, campaigns=5, days=120)
    b = generate(seed=3, suppliers=40, couples=300, campaigns=5, days=120)
    assert [e.id for e in a.events] == [e.id for e in b.events]
    assert a.campaigns == b.campaigns
    assert all(is_id(c["id"]) for c in a.campaigns)
    for e in a.events:
        assert e.kind in EVENT_CLASSES
        event_from_wire(e.to_wire())
    assert abs(sum(a.truth["shares"].values()) - 1.0) < 1e-9


def test_report_on_synthetic_data_is_json_and_consistent():
    data = generate(seed=5, suppliers=60, couples=800, campaigns=6, days=150)
    frame = EventFrame.from_events(data.events)
    report = build_roi_report(
        frame, from_ms=data.start_ms, to_ms=data.end_ms, campaigns=data.campaigns
    )
    json.dumps(report, allow_nan=False)
    total = report["summary"]["conversions"]
    unattributed = report["attribution"]["paths"]["unattributed_conversions"]
    for model, section in report["attribution"]["channels"].items():
        credited = sum(c["conversions"] for c in section["credit"].values())
        assert abs(credited + unattributed - total) < 1e-6, model
    assert report["predictions"]["churn"]["trained"]
    assert 0.5 < report["predictions"]["churn"]["test"]["auc"] <= 1.0


def test_attribution_recovers_known_channel_effects_roughly():
    data = generate(seed=9, suppliers=20, couples=4000, campaigns=4, days=150)
    paths = build_paths(EventFrame.from_rows(data.rows)).channels
    from shared.analytics.models import run_model
    from shared.analytics.synthetic import attribution_accuracy

    truth = data.truth["shares"]
    shares = run_model(paths, "last_touch").shares()
    # the strongest true channel gets more credit than the weakest one
    strongest = max(truth, key=truth.get)
    weakest = min(truth, key=truth.get)
    assert shares[strongest] > shares[weakest]
    acc = attribution_accuracy(shares, truth)
    assert 0.0 <= acc["total_variation"] < 0.5
    assert attribution_accuracy(truth, truth)["total_variation"] == 0.0
