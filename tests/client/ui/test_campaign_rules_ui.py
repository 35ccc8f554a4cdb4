"""The builder over the shared campaign rules: it says why the server held a campaign, draws the
wait-for and split steps, and stores rule operators as the codes the server reads."""

from __future__ import annotations

import pytest

from shared.protocol import campaign_rules as rules

pytestmark = pytest.mark.ui


def test_the_status_panel_says_why_the_server_kept_the_campaign_a_draft(qtbot):
    from client.ui.campaign_panels import StatusPanel

    panel = StatusPanel(lambda fn: True)
    qtbot.addWidget(panel)
    panel.show()
    hold = {
        "status": "active",
        "problems": [
            {"code": rules.MISSING_TRIGGER, "field": "trigger", "message": "choose the event"},
            {"code": rules.MISSING_STEPS, "field": "steps", "message": "add at least one step"},
        ],
    }
    panel.show_snapshot({"status": "draft", "hold": hold})
    assert panel.held.isVisible()
    assert panel.held.text() == (
        "Kept as a draft, not active, until it is fixed:\n• choose the event\n• add at least one step"
    )
    panel.show_snapshot({"status": "draft", "hold": None})  # fixed: same status, hold gone
    assert not panel.held.isVisible()


def test_wait_for_and_split_steps_are_drawn_with_their_jumps(qtbot):
    from client.ui.flow_canvas import FlowCanvas, describe_step

    steps = [
        {"id": "s1", "kind": "split", "config": {"percent": 30, "then": "s3"}},
        {
            "id": "s2",
            "kind": "wait_for",
            "config": {"event": "click", "timeout_days": 5, "on_timeout": "s3"},
        },
        {"id": "s3", "kind": "goal", "config": {"event": "conversion"}},
    ]
    assert describe_step(steps[0], steps, []) == "30% at random → go to step 3; others next"
    assert describe_step(steps[1], steps, []) == "Until click, at most 5 d; on timeout go to step 3"
    canvas = FlowCanvas()
    qtbot.addWidget(canvas)
    canvas.set_flow({"steps": steps, "variants": [], "trigger": {"event": "lead"}})
    canvas.show()
    canvas.viewport().grab()  # paints every node: no kind lacks an icon
    assert canvas.order() == ["trigger", "s1", "s2", "s3"]
    labels = sorted(item.label for item in canvas.scene().items() if getattr(item, "jump", False))
    assert labels == ["30%", "timeout"]


def test_rules_are_stored_as_operator_codes_with_typed_values(qtbot):
    from client.ui.campaign_panels import RulesEditor

    editor = RulesEditor("Add rule")
    qtbot.addWidget(editor)
    stored = [
        {"field": "health_score", "op": "lte", "value": 40},
        {"field": "supplier_type", "op": "in", "value": ["venue", "florist"]},
    ]
    editor.set_rules(stored)
    assert editor.rules() == stored
    _, op, value = editor.row_editors(0)
    assert op.currentText() == "at most" and value.text() == "40"
    for rule in editor.rules():
        rules.check_rule(rule, "audience_segment.rules[0]", rules.BAD_AUDIENCE)


def test_wait_for_and_split_steps_are_configured_in_the_step_panel(qtbot):
    from client.ui import campaign_edits as edits
    from client.ui.campaign_panels import StepPanel
    from shared.protocol import campaign as schema

    doc = schema.new_doc()
    split = edits.add_step(doc, "split")
    wait_for = edits.add_step(doc, "wait_for")
    goal = edits.add_step(doc, "goal")

    def apply(change) -> bool:  # noqa: ANN001
        change(doc)
        panel.show_snapshot(schema.snapshot(doc))
        return True

    panel = StepPanel(apply)
    qtbot.addWidget(panel)
    panel.show_snapshot(schema.snapshot(doc))
    panel.select(wait_for)
    assert panel.title.text() == "Step 2 · Wait for event"
    assert panel.stack.currentIndex() == 5
    # only later steps are offered: jumps go forward
    assert [panel.on_timeout.itemData(i) for i in range(panel.on_timeout.count())] == [None, goal]
    panel.on_timeout.setCurrentIndex(1)
    panel.on_timeout.activated.emit(1)
    assert edits.step_config(doc, wait_for) == {
        "event": "click",
        "timeout_days": 7,
        "on_timeout": goal,
    }

    panel.select(split)
    assert panel.stack.currentIndex() == 6
    panel.percent.setValue(30)
    panel.percent.editingFinished.emit()
    assert edits.step_config(doc, split) == {"percent": 30, "then": None}
    assert rules.problems({**schema.snapshot(doc), "status": "draft"}) == []
