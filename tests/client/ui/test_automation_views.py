"""The app against a real server with its automation engine and a real SMTP server: a campaign
activated in the app enrols a lead, the email arrives, and Results shows it per step and
variant, then the last known figures offline with their as-of time; the preview is rendered by
the server and its test send reaches the mail server; admins set the mail server in a dialog
and the password never comes back."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from client import journey_edits
from client.ui.preview_dialog import PreviewDialog

from .conftest import settle, until
from .live_server import live_server
from .smtp_process import mail_server

pytestmark = pytest.mark.ui


@pytest.fixture
async def live(tmp_path):
    async with live_server(tmp_path) as server:
        yield server


@pytest.fixture
async def inbox(tmp_path):
    async with mail_server(tmp_path) as server:
        yield server


def spring_open_day(replica, *, trigger: bool = True) -> tuple[str, list[dict]]:  # noqa: ANN001
    cid, _ = replica.create_campaign(name="Spring open day")
    for subject in ("Come and see the barn, {{ first_name }}", "Your date, our meadow"):
        journey_edits.add_variant(
            replica, cid, subject=subject, body="Hi {{ first_name }},\n\nSee you on 12 April."
        )
    journey_edits.add_step(replica, cid, "send_email")
    journey_edits.add_step(replica, cid, "wait", '{"days": 2}')
    if trigger:
        journey_edits.set_rules_field(replica, cid, "trigger", '{"event": "lead"}')
    return cid, replica.campaign(cid)["variants"]


def shown_texts(model) -> list[str]:  # noqa: ANN001
    texts = []
    for row in range(model.rowCount()):
        parent = model.index(row, 0)
        texts.extend(model.index(row, c).data() for c in range(model.columnCount()))
        for child in range(model.rowCount(parent)):
            texts.extend(model.index(child, c, parent).data() for c in range(model.columnCount()))
    return texts


async def test_results_show_the_servers_figures_then_the_last_known_ones_offline(
    live, inbox, open_window, qtbot
):
    window = await open_window(server=live)
    await window.engine.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    cid, variants = spring_open_day(window.replica)
    journey_edits.set_status(window.replica, cid, "active")
    await window.sync.sync_now()  # the campaign runs on the server before the lead arrives
    window.replica.capture(kind="lead", contact="ella@couple.test")
    await window.sync.sync_now()
    await live.mail_sent(1)
    (mail,) = inbox.messages()
    assert mail["To"] == "ella@couple.test"
    await settle(window)

    page = window.campaigns
    page.select(cid)
    qtbot.mouseClick(page.results_button, Qt.MouseButton.LeftButton)
    results = page.results
    await until(results.loaded, lambda: results.view is not None, what="the run view")
    assert page.stack.currentWidget() is results
    assert results.title.text() == "Spring open day" and results.status.text() == "Active"
    assert results.freshness.text().startswith("Live · as of ")
    assert [results.figures[k].value.text() for k in ("enrolled", "waiting", "sent")] == [
        "1",
        "1",
        "1",
    ]
    texts = shown_texts(results.model)
    assert "1. Send email · the best variant" in texts and "2. Wait 2 days" in texts
    send = results.model.index(1, 0)
    shown = {
        results.model.index(r, 0, send).data(): results.model.index(r, 3, send).data()
        for r in range(results.model.rowCount(send))
    }  # each variant's emails sent: one of the two got the single email
    assert sorted(shown.values()) == ["0", "1"]
    assert f"Variant A: {variants[0]['subject']}" in shown
    assert not any(cid in t or variants[0]["id"] in t for t in texts)  # words, not ids

    window.replica.set_offline(True)
    results.refresh()
    await until(results.loaded, lambda: not results.view["live"], what="the last known view")
    assert results.freshness.text().startswith("Last known · as of ")
    assert results.notice.text().startswith("Offline: these are the last figures")
    assert results.figures["sent"].value.text() == "1"

    qtbot.mouseClick(results.back, Qt.MouseButton.LeftButton)
    assert page.stack.currentIndex() == 0
    await settle(window)


async def test_offline_with_nothing_fetched_the_results_say_so(live, open_window):
    window = await open_window(server=live)
    cid, _ = spring_open_day(window.replica)
    window.replica.set_offline(True)
    await settle(window)
    window.go("campaigns")  # the first page is the Dashboard
    results = window.campaigns.results
    window.campaigns.show_results(cid)
    await until(results.loaded, lambda: results.empty.isVisible(), what="the explanation")
    assert results.empty.title.text() == "No figures on this computer yet"
    assert "this profile works offline" in results.empty.hint.text()
    await settle(window)


async def test_the_preview_is_rendered_by_the_server_and_its_test_send_arrives(
    live, inbox, open_window, qtbot
):
    window = await open_window(server=live)
    await window.engine.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    cid, variants = spring_open_day(window.replica)
    await window.sync.sync_now()
    dialog = PreviewDialog(window.ops, window.replica.campaign(cid), window)
    qtbot.addWidget(dialog)
    await until(dialog.rendered, lambda: "Ella" in dialog.subject.text(), what="the preview")
    assert dialog.subject.text() == "Come and see the barn, Ella"
    assert dialog.text.toPlainText() == "Hi Ella,\n\nSee you on 12 April."
    assert "See you on 12 April." in dialog.html.toPlainText()

    dialog.first_name.setText("Sam")
    dialog.render()
    await until(dialog.rendered, lambda: dialog.subject.text() == "Come and see the barn, Sam")
    dialog.variant.setCurrentIndex(1)
    await until(dialog.rendered, lambda: dialog.subject.text() == "Your date, our meadow")
    assert dialog.to.text() == "admin@venue.test"  # the user's own address to start with
    qtbot.mouseClick(dialog.send_button, Qt.MouseButton.LeftButton)
    await until(dialog.send_finished, lambda: dialog.send_result.text().startswith("Sent"))
    (mail,) = inbox.messages()
    assert mail["To"] == "admin@venue.test" and mail["Subject"] == "Your date, our meadow"
    assert dialog.send_result.text() == (
        f"Sent to admin@venue.test: the mail server accepted it ({mail['Message-ID']})."
    )

    dialog.to.setText("nobody@refused.test")
    dialog.send_test()
    await until(dialog.send_finished, lambda: dialog.send_result.text().startswith("Not sent"))
    assert "550" in dialog.send_result.text() and "no such mailbox" in dialog.send_result.text()
    assert len(inbox.messages()) == 1

    window.replica.set_offline(True)
    dialog.variant.setCurrentIndex(0)
    await until(dialog.rendered, lambda: not dialog.notice.isHidden(), what="the notice")
    assert dialog.subject.text() == "Come and see the barn, {{ first_name }}"
    assert dialog.notice.text().startswith("Not rendered: the server fills in each contact")
    dialog.close()
    await settle(window)


async def test_admins_set_the_mail_server_and_the_password_never_comes_back(
    live, inbox, open_window, qtbot
):
    window = await open_window(server=live)
    window.go("campaigns")  # the first page is the Dashboard
    assert window.campaigns.mail_button.isVisible()
    dialog = window.campaigns.show_mail_server()
    qtbot.addWidget(dialog)
    await until(dialog.loaded, lambda: bool(dialog.state.text()), what="the settings")
    assert dialog.state.text().startswith("No mail server yet")

    dialog.host.setText("smtp example")
    dialog.save()
    assert dialog.state.text() == "The SMTP host is a name or an address, e.g. smtp.example.com"
    assert await window.engine.api("GET", "/api/v1/smtp") == {"configured": False}

    dialog.host.setText("127.0.0.1")
    dialog.port.setValue(inbox.port)
    dialog.security.setCurrentIndex(dialog.security.findData("none"))
    dialog.user.setText("mailer")
    dialog.password.setText("s3cret-smtp")
    dialog.sender.setText("Venue Team <hello@venue.test>")
    dialog.save()
    await until(dialog.saved, lambda: dialog.state.text().startswith("Saved"))
    stored = await window.engine.api("GET", "/api/v1/smtp")
    assert stored == {
        "host": "127.0.0.1",
        "port": inbox.port,
        "security": "none",
        "user": "mailer",
        "from": "Venue Team <hello@venue.test>",
        "password_set": True,
    }
    assert dialog.password.text() == ""
    assert "leave empty to keep it" in dialog.password.placeholderText()
    assert b"s3cret-smtp" not in (live.data_dir / "server.sqlite").read_bytes()

    dialog.sender.setText("hello@venue.test")
    dialog.save()  # the password field is empty: the saved password is kept
    await until(dialog.saved, lambda: dialog.sender.text() == "hello@venue.test")
    assert (await window.engine.api("GET", "/api/v1/smtp"))["password_set"] is True

    dialog.user.clear()  # no login: the password goes too (this mail server takes no login)
    dialog.save()
    await until(dialog.saved, lambda: "keep it" not in dialog.password.placeholderText())
    assert (await window.engine.api("GET", "/api/v1/smtp"))["password_set"] is False
    dialog.to.setText("anna@venue.test")
    dialog.send_test()
    await until(dialog.tested, lambda: "accepted the test" in dialog.state.text())
    (mail,) = inbox.messages()
    assert mail["To"] == "anna@venue.test" and mail["From"] == "hello@venue.test"
    dialog.close()
    await settle(window)


async def test_the_mail_server_button_is_for_admins_only(live, open_window):
    window = await open_window(server=live, email="mia@venue.test")
    await settle(window)
    assert not window.campaigns.mail_button.isVisible()


async def test_results_and_the_dialogs_fit_the_smallest_window(live, inbox, open_window, qtbot):
    from .test_layout_fits import problems

    window = await open_window(server=live)
    window.go("campaigns")  # the first page is the Dashboard
    window.resize(960, 600)
    await window.engine.api("PUT", "/api/v1/smtp", inbox.smtp_settings())
    cid, _ = spring_open_day(window.replica)
    journey_edits.set_status(window.replica, cid, "active")
    await window.sync.sync_now()
    window.replica.capture(kind="lead", contact="ella@couple.test")
    await window.sync.sync_now()
    await live.mail_sent(1)
    await settle(window)
    results = window.campaigns.results
    window.campaigns.show_results(cid)
    await until(results.loaded, lambda: results.view is not None, what="the run view")
    await settle(window)
    assert results.tree.isVisible()  # the figures, not an explanation
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
