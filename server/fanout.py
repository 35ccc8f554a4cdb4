"""Live fan-out: every commit's campaign changes and notices, to the org's connected devices.

One listener (``LiveFanout``) for every path that changes campaigns (a device's push, an admin's
resolution), so a change reaches the other devices the same way whichever path made it. A change
goes to every device of its org but the one it came from (it has it already); a notice goes to
the roles it names. Each connection has its own bounded queue (``Hub``), so fan-out never waits
for a device: it only queues frames, as the commit listener contract requires.
"""

from __future__ import annotations

from itertools import groupby

from shared.protocol import messages as m

from .commits import Commit
from .hub import Hub


class LiveFanout:
    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    def committed(self, commit: Commit) -> None:
        for org_id, changes in commit.orgs.items():
            # one DOCS frame per run of changes from one device (a push's batch)
            for device_id, run in groupby(changes.campaigns, key=lambda c: c.device_id):
                updates = [(c.campaign_id, c.update) for c in run]
                frame = m.docs(updates, done=False, live=True)
                self._hub.broadcast(org_id, frame, exclude_device=device_id)
            for notice in changes.notices:
                self._hub.broadcast(org_id, m.notice(notice.kind, notice.body), roles=notice.roles)
