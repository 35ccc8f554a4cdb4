"""The Content tab's generator, driven through its widgets: five scored variants offline, the
recommended one with its reason, "Use" fills the campaign's variant, and an LLM endpoint that
does not answer in time falls back to the offline generator, saying so."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from client.content import save_endpoint
from client.credentials import KeyringTokens
from tests.client.chat_server import start_chat_server, stop_chat_server

from .conftest import settle

pytestmark = pytest.mark.ui


async def _content_tab(window, name="Spring open day", kind="nurture", variant=None):  # noqa: ANN001
    from client.ui import campaign_edits as edits

    replica = window.replica
    cid, _ = replica.create_campaign(name=name, campaign_type=kind)
    if variant is not None:
        replica.edit_campaign(cid, lambda doc: [edits.add_variant(doc, **variant)] and [])
    window.go("campaigns")
    window.campaigns.open_campaign(cid)
    await settle(window)
    builder = window.campaigns.builder
    builder.tabs.setCurrentIndex(3)
    panel = builder.tabs.currentWidget()
    return cid, builder, panel


async def test_generate_shows_five_scored_variants_and_use_fills_the_subject(open_window, qtbot):
    window = await open_window()
    cid, builder, panel = await _content_tab(window, variant={"subject": "", "body": "Our body"})
    qtbot.mouseClick(panel.generate, Qt.MouseButton.LeftButton)
    await settle(window)
    gen = panel.generator
    assert panel.pages.currentWidget() is gen and gen.result is not None
    assert [r.isVisible() for r in gen.rows] == [True] * 5
    assert sum(r.recommended.isVisible() for r in gen.rows) == 1
    best = gen.result["recommended"]
    assert gen.rows[0].index == best and gen.rows[0].recommended.isVisible()  # shown first
    assert sorted(r.index for r in gen.rows) == [0, 1, 2, 3, 4]
    assert gen.reason.text().startswith(f"<b>Recommended: {gen.rows[0].approach.text()}.")
    assert "offline generator" in gen.status.text()
    assert all("% predicted clicks" in r.score.text() for r in gen.rows)
    assert all("written by the offline generator" in r.score.text() for r in gen.rows)
    assert "{{" not in " ".join(r.subject.text() for r in gen.rows)

    # regenerate: other wording where the templates allow it
    first = [r.subject.text() for r in gen.rows]
    qtbot.mouseClick(gen.generate_button, Qt.MouseButton.LeftButton)
    await settle(window)
    assert gen.generate_button.text() == "Regenerate"
    assert [r.subject.text() for r in gen.rows] != first

    # pick the third card: it becomes the subject; the body the user wrote stays
    chosen = gen.result["variants"][gen.rows[2].index]
    assert gen.rows[2].subject.text() == chosen["subject_preview"]
    qtbot.mouseClick(gen.rows[2].button, Qt.MouseButton.LeftButton)
    await settle(window)
    assert panel.pages.currentIndex() == 0
    (stored,) = window.replica.campaign(cid)["variants"]
    assert stored["subject"] == chosen["subject"] and stored["body"] == "Our body"
    assert panel.subject.text() == chosen["subject"]  # ready to edit


async def test_use_with_no_variant_adds_one_with_subject_and_body(open_window, qtbot):
    window = await open_window()
    cid, builder, panel = await _content_tab(window, kind="milestone")
    qtbot.mouseClick(panel.generate, Qt.MouseButton.LeftButton)
    await settle(window)
    row = panel.generator.rows[4]
    chosen = panel.generator.result["variants"][row.index]
    qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)
    await settle(window)
    (stored,) = window.replica.campaign(cid)["variants"]
    assert (stored["subject"], stored["body"]) == (chosen["subject"], chosen["body"])


async def test_a_slow_llm_endpoint_falls_back_to_the_offline_generator(open_window, qtbot):
    server, runner = await start_chat_server("slow")
    try:
        window = await open_window()
        save_endpoint(
            window.replica, KeyringTokens(), url=server.url, model="llama3.2", timeout_s=0.3
        )
        cid, builder, panel = await _content_tab(window)
        qtbot.mouseClick(panel.generate, Qt.MouseButton.LeftButton)
        await settle(window)
        gen = panel.generator
        assert [gen.source.itemText(i) for i in range(gen.source.count())] == [
            "Offline generator",
            "LLM: llama3.2",
        ]
        gen.source.setCurrentIndex(1)
        qtbot.mouseClick(gen.generate_button, Qt.MouseButton.LeftButton)
        await settle(window)
        assert len(server.requests) == 1
        assert gen.result["fallback"] == "llm_timeout" and gen.result["source"] == "offline"
        assert gen.status.text().startswith("No answer within 0.3 s.")
        assert "Used the offline generator" in gen.status.text()
        assert gen.recorder.summary()["fallbacks"] == {"llm_timeout": 1}
    finally:
        await stop_chat_server(server, runner)
