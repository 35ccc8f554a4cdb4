"""Two planners add notes to one campaign offline (one from the CLI), then sync through a real
server: every replica shows both notes as separate entries, in the same order."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import USERS
from wedsync.cli import main

pytestmark = pytest.mark.backends


async def test_notes_added_offline_on_two_laptops_stay_two_entries(server, capsys):
    anna = await server.device("anna", "marketer")
    mia = await server.device("mia", "marketer2")
    cid, _ = anna.replica.create_campaign(name="Autumn fair")
    await anna.sync_once()
    await mia.sync_once()

    for device in (anna, mia):
        device.replica.set_offline(True)
    profile = str(anna.replica.profile_dir)
    code = await asyncio.to_thread(
        main, ["client", "--profile", profile, "campaign", "note", cid, "book stand 14"]
    )
    assert code == 0 and "book stand 14" in capsys.readouterr().out
    mia.replica.add_campaign_note(cid, "bring brochures")
    for device in (anna, mia, anna):
        device.replica.set_offline(False)
        await device.sync_once()

    notes = anna.replica.campaign(cid)["notes"]
    assert {(n["author"], n["text"]) for n in notes} == {
        (USERS["marketer"][0], "book stand 14"),
        (USERS["marketer2"][0], "bring brochures"),
    }
    assert len(notes) == 2
    assert mia.replica.campaign(cid)["notes"] == notes
    assert anna.replica.campaign_state(cid) == mia.replica.campaign_state(cid)
