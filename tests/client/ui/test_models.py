"""Every Qt model of the app passes Qt's model tester (empty, filled, refreshed, filtered), and
the list headers and cells show what they should."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QStyleOptionHeader, QTableView

from client.ui import components
from client.ui.campaign_list import SORT_ROLE, CampaignFilter, CampaignListModel
from client.ui.capture_view import RecentCapturesModel
from client.ui.sync_view import SyncLogModel

pytestmark = pytest.mark.ui

NOW = time.time_ns() // 1_000_000


def _campaigns(n: int) -> list[dict]:
    kinds = ("nurture", "win_back", "milestone")
    return [
        {
            "id": f"01J0000000000000000000000{i}",
            "name": f"Campaign {i}",
            "type": kinds[i % 3],
            "status": "active" if i % 2 else "draft",
            "steps": [{"id": "s", "kind": "wait", "config": {}}] * i,
            "budget_cents": 10_000 * i or None,
            "description": "barn tour" if i == 1 else "",
            "updated_at_ms": NOW - i * 60_000,
        }
        for i in range(n)
    ]


def _captures(n: int) -> list[dict]:
    return [
        {
            "id": f"01J000000000000000000000E{i}",
            "kind": ("referral_invite", "conversion", "milestone")[i % 3],
            "occurred_at_ms": NOW - i * 1000,
            "contact": f"guest{i}@example.com",
            "channel": "instagram" if i % 2 else None,
            "value_cents": 50_000 if i % 3 == 1 else None,
            "payload": {"invitee": "a.very.long.invitee.address@example.com"} if i % 3 == 0 else {},
            "synced": bool(i % 2),
        }
        for i in range(n)
    ]


def test_the_campaign_list_model_and_its_filter_pass_the_model_tester(qapp, qtmodeltester):
    model = CampaignListModel()
    qtmodeltester.check(model)
    model.set_campaigns(_campaigns(5))
    model.set_open_conflicts({"01J00000000000000000000001": 2})
    model.set_campaigns(list(reversed(_campaigns(5))))
    qtmodeltester.check(model)
    proxy = CampaignFilter()
    proxy.setSourceModel(model)
    proxy.sort(5, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(proxy)
    proxy.set_search("barn")
    assert proxy.rowCount() == 1
    proxy.set_search("")
    proxy.set_status("active")
    qtmodeltester.check(proxy)
    assert {proxy.index(r, 2).data() for r in range(proxy.rowCount())} == {"Active"}
    model.set_campaigns([])
    qtmodeltester.check(proxy)


def test_the_recent_captures_and_sync_log_models_pass_the_model_tester(qapp, qtmodeltester):
    captures = RecentCapturesModel()
    qtmodeltester.check(captures)
    captures.set_rows(_captures(6))
    captures.set_rows([{**r, "synced": True} for r in _captures(6)])  # same ids: dataChanged
    qtmodeltester.check(captures)
    log = SyncLogModel()
    qtmodeltester.check(log)
    log.set_entries([{"at_ms": NOW, "ok": True, "sent": {"0": 3}, "duration_ms": 120}])
    qtmodeltester.check(log)


def test_updated_sorts_newest_first_with_a_downward_arrow(qtbot):
    model = CampaignListModel()
    model.set_campaigns(_campaigns(4))
    proxy = CampaignFilter()
    proxy.setSourceModel(model)
    table = QTableView()
    qtbot.addWidget(table)
    header = components.SortHeader(table)
    table.setHorizontalHeader(header)
    table.setModel(proxy)
    table.setSortingEnabled(True)
    table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    stamps = [proxy.index(r, 5).data(SORT_ROLE) for r in range(proxy.rowCount())]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    option = QStyleOptionHeader()
    header.initStyleOptionForIndex(option, 5)
    assert option.sortIndicator == QStyleOptionHeader.SortIndicator.SortDown
    table.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    header.initStyleOptionForIndex(option, 5)
    assert option.sortIndicator == QStyleOptionHeader.SortIndicator.SortUp


def test_recent_capture_details_are_shown_whole(qtbot):
    model = RecentCapturesModel()
    model.set_rows(_captures(3))
    invite = model.index(0, 3)
    assert invite.data() == "invites a.very.long.invitee.address@example.com"
    assert invite.data(Qt.ItemDataRole.ToolTipRole) == invite.data()
    assert model.index(1, 3).data() == "£500.00 · Instagram"
