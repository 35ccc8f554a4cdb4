"""The run view's model (Qt's model tester; figures per step and variant in words) and what the
page says when the server refuses the figures, from a server on 127.0.0.1 that answers the
automation contract as the test tells it (the real server's figures, the preview, test sends and
the mail server dialog are in test_automation_views.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from client.ui.run_view import METRIC_ROLE, RunViewModel
from tests.client.automation_server import AutomationServer, run_view, start
from tests.client.ui.conftest import _free_port, settle, until

pytestmark = pytest.mark.ui
AS_OF_MS = 1_767_000_000_000


@pytest.fixture
async def automation():
    server = AutomationServer()
    runner = await start(server, _free_port())
    yield server
    await runner.cleanup()


def spring_open_day(replica) -> tuple[str, list[dict]]:  # noqa: ANN001
    from client import journey_edits

    cid, _ = replica.create_campaign(name="Spring open day")
    for subject in ("Come and see the barn, {{ first_name }}", "Your date, our meadow"):
        journey_edits.add_variant(replica, cid, subject=subject, body="Hi {{ first_name }}")
    journey_edits.add_step(replica, cid, "send_email")
    journey_edits.add_step(replica, cid, "wait", '{"days": 2}')
    return cid, replica.campaign(cid)["variants"]


def shown_texts(model) -> list[str]:  # noqa: ANN001
    texts = []
    for row in range(model.rowCount()):
        parent = model.index(row, 0)
        for col in range(model.columnCount()):
            texts.append(model.index(row, col).data())
        for child in range(model.rowCount(parent)):
            texts.extend(model.index(child, c, parent).data() for c in range(model.columnCount()))
    return texts


def test_the_run_view_model_passes_the_model_tester(qtmodeltester):
    model = RunViewModel()
    qtmodeltester.check(model)
    variants = [
        {"id": "v1", "label": "A", "subject": "Hello"},
        {"id": "v2", "label": "B", "subject": "Hi"},
    ]
    from client.automation import _named, normalise_run_view

    campaign = {
        "name": "Spring open day",
        "variants": variants,
        "steps": [
            {"id": "s1", "kind": "send_email", "config": {"variant": "auto"}},
            {"id": "s2", "kind": "wait", "config": {"days": 2}},
        ],
    }
    view = _named(normalise_run_view(run_view("c1", variants, as_of_ms=AS_OF_MS)), campaign)
    model.set_view(view)
    qtmodeltester.check(model)
    assert model.rowCount() == 3  # all steps, then two steps
    send = model.index(1, 0)
    assert model.rowCount(send) == 2 and model.rowCount(model.index(2, 0)) == 0
    assert model.index(0, 1).data(METRIC_ROLE) == 120
    assert model.index(0, 3).data(Qt.ItemDataRole.ToolTipRole) == (
        "104 sent · 3 bounced · 1 not sent to suppressed contacts"
    )
    assert model.index(1, 4, QModelIndex()).data() == "52"  # opened
    assert (
        model.index(1, 4).data(Qt.ItemDataRole.ToolTipRole) == "52 of 104 emails sent (50\u00a0%)"
    )
    variant_b = model.index(1, 0, send)
    subject, test_line = variant_b.data().split("\n")
    assert subject == "Variant B: Hi"
    # the live test: A clicked more, so it has the larger share of the next sends
    a, b = (v["allocation"] for v in view["steps"][0]["variants"])
    assert b["share"] < 0.5 < a["share"] and a["share"] + b["share"] == pytest.approx(1, abs=1e-3)
    assert b["low"] < b["mean"] < b["high"] and b["mean"] < a["mean"]
    assert test_line.startswith(f"Share {b['share'] * 100:.0f}\u00a0% · P(best) ")
    assert f"click rate {b['mean'] * 100:.0f}\u00a0%" in test_line
    assert "likely to be the best on clicks" in variant_b.data(Qt.ItemDataRole.ToolTipRole)
    assert "live test on clicks" in send.data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, 3, send).data() == "52"  # the variant's sends
    assert model.index(1, 1, send).data() == ""  # variants have no enrolments of their own
    assert model.index(1, 4, send).data(Qt.ItemDataRole.ToolTipRole) == (
        "22 of 52 emails sent (42\u00a0%)"
    )
    assert model.parent(variant_b) == send.siblingAtColumn(0)
    view["steps"][0]["variants"][1]["sent"] = 0  # a variant not sent yet: its share alone
    model.set_view(view)
    assert model.index(1, 0, model.index(1, 0)).data().split("\n")[1] == (
        f"Share {b['share'] * 100:.0f}\u00a0% · no sends yet"
    )
    model.set_view(None)
    qtmodeltester.check(model)
    assert model.rowCount() == 0


def test_a_declared_winner_is_named_on_its_step_and_variant(qtmodeltester):
    from client.automation import _named, normalise_run_view

    variants = [
        {"id": "v1", "label": "A", "subject": "Hello"},
        {"id": "v2", "label": "B", "subject": "Hi"},
    ]
    campaign = {
        "name": "Spring open day",
        "variants": variants,
        "steps": [{"id": "s1", "kind": "send_email", "config": {"variant": "auto"}}],
    }
    raw = run_view("c1", variants, as_of_ms=AS_OF_MS)
    raw["steps"][0]["test"]["winner"] = "v1"
    view = _named(normalise_run_view(raw), campaign)
    model = RunViewModel()
    model.set_view(view)
    qtmodeltester.check(model)
    send = model.index(1, 0)
    assert send.data() == "1. Send email · Variant A won"
    assert model.index(0, 0, send).data().split("\n")[0] == "Variant A: Hello · Winner"
    assert "Winner" not in model.index(1, 0, send).data()


def test_a_view_without_a_test_shows_no_allocation():
    from client.automation import normalise_run_view

    raw = run_view("c1", [{"id": "v1", "label": "A", "subject": "Hello"}], as_of_ms=AS_OF_MS)
    view = normalise_run_view(raw)
    assert view["steps"][0]["test"] is None and "allocation" not in view["steps"][0]["variants"][0]
    model = RunViewModel()
    model.set_view(view)
    assert model.index(0, 0, model.index(1, 0)).data() == "Variant: Hello"


async def test_without_figures_the_results_say_why(automation, open_window, qtbot):
    window = await open_window(server=automation)
    cid, _ = spring_open_day(window.replica)
    await settle(window)
    window.go("campaigns")  # the first page is the Dashboard
    results = window.campaigns.results
    window.campaigns.show_results(cid)
    await until(results.loaded, lambda: results.empty.isVisible(), what="the explanation")
    assert results.empty.title.text() == "The server did not give the figures"
    assert results.empty.hint.text() == "No such campaign on the server"

    window.replica.set_offline(True)
    results.refresh()
    await until(
        results.loaded,
        lambda: results.empty.title.text() == "No figures on this computer yet",
        what="the offline explanation",
    )
    assert "this profile works offline" in results.empty.hint.text()
    await settle(window)
