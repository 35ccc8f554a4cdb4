"""The run view, the email preview with its test send, and the mail server dialog, against a
server on 127.0.0.1 that answers the automation contract: figures per step and variant named in
words, the last known ones offline with their as-of time, and every request off the GUI
thread."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, Qt

from client.ui.preview_dialog import PreviewDialog
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
    assert model.index(1, 4, QModelIndex()).data() == "52  (50\u00a0%)"  # opened, of sent
    variant_b = model.index(1, 0, send)
    assert variant_b.data() == "Variant B: Hi"
    assert model.index(1, 1, send).data() == ""  # variants have no enrolments of their own
    assert model.index(1, 4, send).data(Qt.ItemDataRole.ToolTipRole) == (
        "22 of 52 emails sent (42\u00a0%)"
    )
    assert model.parent(variant_b) == send.siblingAtColumn(0)
    model.set_view(None)
    qtmodeltester.check(model)
    assert model.rowCount() == 0


async def test_results_show_live_figures_then_the_last_known_ones_offline(
    automation, open_window, qtbot
):
    window = await open_window(server=automation)
    cid, variants = spring_open_day(window.replica)
    automation.runs[cid] = run_view(cid, variants, as_of_ms=AS_OF_MS)
    await settle(window)
    page = window.campaigns
    page.select(cid)
    qtbot.mouseClick(page.results_button, Qt.MouseButton.LeftButton)
    results = page.results
    await until(results.loaded, lambda: results.view is not None, what="the run view")

    assert page.stack.currentWidget() is results
    assert results.title.text() == "Spring open day"
    assert results.freshness.text().startswith("Live · as of ")
    assert results.status.text() == "Active"
    assert results.figures["enrolled"].value.text() == "120"
    assert results.figures["opened"].note.text() == "50\u00a0% of sent"
    assert results.figures["held_out"].note.text() == "10\u00a0% of enrolled"
    texts = shown_texts(results.model)
    assert "1. Send email: the best variant" in texts and "2. Wait 2 days" in texts
    assert "Variant A: Come and see the barn, {{ first_name }}" in texts
    assert not any(cid in t or variants[0]["id"] in t for t in texts)  # words, not ids

    window.replica.set_offline(True)
    automation.runs[cid] = run_view(cid, variants, as_of_ms=AS_OF_MS + 60_000)  # not asked
    results.refresh()
    await until(results.loaded, lambda: not results.view["live"], what="the last known view")
    assert results.freshness.text().startswith("Last known · as of ")
    assert results.view["as_of_ms"] == AS_OF_MS
    assert not results.notice.isHidden()
    assert results.notice.text().startswith("Offline: these are the last figures")
    assert "This profile works offline." in results.notice.text()
    assert results.figures["sent"].value.text() == "104"

    qtbot.mouseClick(results.back, Qt.MouseButton.LeftButton)
    assert page.stack.currentIndex() == 0
    await settle(window)


async def test_without_figures_the_results_say_why(automation, open_window, qtbot):
    window = await open_window(server=automation)
    cid, _ = spring_open_day(window.replica)
    await settle(window)
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


async def test_the_preview_renders_on_the_server_and_sends_a_test(automation, open_window, qtbot):
    window = await open_window(server=automation)
    cid, variants = spring_open_day(window.replica)
    automation.templates = {
        v["id"]: {"subject": v["subject"], "body": "Hi {{ first_name }}"} for v in variants
    }
    dialog = PreviewDialog(window.ops, window.replica.campaign(cid), window)
    qtbot.addWidget(dialog)
    await until(dialog.rendered, lambda: "Ella" in dialog.subject.text(), what="the preview")
    assert dialog.subject.text() == "Come and see the barn, Ella"
    assert dialog.text.toPlainText() == "Hi Ella"
    assert "Hi Ella" in dialog.html.toPlainText()
    assert automation.previews[-1] == {
        "variant": variants[0]["id"],
        "contact": {"first_name": "Ella", "email": "ella@example.com"},
    }

    dialog.variant.setCurrentIndex(1)
    await until(dialog.rendered, lambda: dialog.subject.text() == "Your date, our meadow")
    assert dialog.to.text() == "admin@venue.test"  # the user's own address to start with
    qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    await until(dialog.send_finished, lambda: dialog.send_result.text().startswith("Sent"))
    assert dialog.send_result.text() == (
        "Sent to admin@venue.test: the mail server accepted it (<1@venue.test>)."
    )
    assert automation.sends[-1]["variant"] == variants[1]["id"]

    automation.refuse_sends["nobody@venue.test"] = "550 no such mailbox"
    dialog.to.setText("nobody@venue.test")
    dialog.send_test()
    await until(dialog.send_finished, lambda: dialog.send_result.text().startswith("Not sent"))
    assert "550 no such mailbox" in dialog.send_result.text()

    window.replica.set_offline(True)
    dialog.variant.setCurrentIndex(0)
    await until(dialog.rendered, lambda: not dialog.notice.isHidden(), what="the notice")
    assert dialog.subject.text() == "Come and see the barn, {{ first_name }}"
    assert dialog.notice.text().startswith("Not rendered: the server fills in each contact")
    dialog.close()
    await settle(window)


async def test_admins_set_the_mail_server_and_the_password_never_comes_back(
    automation, open_window, qtbot
):
    window = await open_window(server=automation)
    assert window.campaigns.mail_button.isVisible()
    dialog = window.campaigns.show_mail_server()
    qtbot.addWidget(dialog)
    await until(dialog.loaded, lambda: bool(dialog.state.text()), what="the settings")
    assert dialog.state.text().startswith("No mail server yet")

    dialog.host.setText("smtp example")
    dialog.save()
    assert dialog.state.text() == "The SMTP host is a name or an address, e.g. smtp.example.com"
    assert automation.smtp is None  # nothing was sent

    dialog.host.setText("smtp.venue.test")
    dialog.security.setCurrentIndex(1)
    dialog._security_chosen()
    dialog.user.setText("mailer")
    dialog.password.setText("s3cret")
    dialog.sender.setText("hello@venue.test")
    dialog.save()
    await until(dialog.saved, lambda: dialog.state.text().startswith("Saved"))
    assert automation.smtp == {
        "host": "smtp.venue.test",
        "port": 465,
        "security": "tls",
        "user": "mailer",
        "from": "hello@venue.test",
    }
    assert automation.smtp_password == "s3cret"
    assert (
        dialog.password.text() == ""
        and "leave empty to keep it" in dialog.password.placeholderText()
    )

    dialog.port.setValue(2465)
    dialog.save()  # the password field is empty: the saved one is kept
    await until(dialog.saved, lambda: automation.smtp["port"] == 2465)
    assert automation.smtp_password == "s3cret"

    dialog.to.setText("anna@venue.test")
    dialog.send_test()
    await until(dialog.tested, lambda: "accepted the test" in dialog.state.text())
    assert automation.smtp_tests == ["anna@venue.test"]
    dialog.close()
    await settle(window)


async def test_the_mail_server_button_is_for_admins_only(automation, open_window):
    automation.role = "marketer"
    window = await open_window(server=automation, email="mia@venue.test")
    await settle(window)
    assert not window.campaigns.mail_button.isVisible()


async def test_results_and_the_dialogs_fit_the_smallest_window(automation, open_window, qtbot):
    from .test_layout_fits import problems

    window = await open_window(server=automation)
    window.resize(960, 600)
    cid, variants = spring_open_day(window.replica)
    automation.runs[cid] = run_view(cid, variants, as_of_ms=AS_OF_MS)
    automation.templates = {v["id"]: {"subject": v["subject"], "body": "Hi"} for v in variants}
    await settle(window)
    results = window.campaigns.results
    window.campaigns.show_results(cid)
    await until(results.loaded, lambda: results.view is not None, what="the run view")
    await settle(window)
    window.message.clear()  # the sync loop's complaint: this server speaks HTTP only
    assert problems(window) == []

    preview = PreviewDialog(window.ops, window.replica.campaign(cid), window)
    qtbot.addWidget(preview)
    preview.show()
    await until(preview.rendered, lambda: bool(preview.subject.text()), what="the preview")
    assert problems(preview) == []
    preview.close()
    dialog = window.campaigns.show_mail_server()
    qtbot.addWidget(dialog)
    await until(dialog.loaded, lambda: bool(dialog.state.text()), what="the settings")
    assert problems(dialog) == []
    dialog.close()
    await settle(window)
