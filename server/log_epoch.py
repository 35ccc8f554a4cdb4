"""The epoch of a data directory's change log: which history a device's change cursor counts in.

A change cursor is a seq of the campaign update log. Restoring a backup takes the log back to
an older seq; the server then logs new changes under the numbers it had already given out, and
a device whose cursor was ahead of the backup would, by cursor, skip the changes logged under
them. So every restore starts a new epoch: a random name kept in the data directory beside the
store (``log-epoch.json``), sent with each pull's cursor (protocol version 2); a cursor of
another epoch is answered by state vector (``server.sync_ws``), then the device counts in the
new one. Devices of protocol version 1 send no epoch: their cursor is honoured only while the
log was never restored.

``wedsync admin restore`` writes the new epoch before it replaces the store, so a restore
stopped half-way leaves at worst a needless re-pull, never a cursor honoured across histories.
A store given by ``--database-url`` (PostgreSQL) has no epoch here: its cursors are honoured by
value, as before epochs.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

EPOCH_FILENAME = "log-epoch.json"


@dataclass(frozen=True)
class LogEpoch:
    epoch: str
    #: when the log was last restored from a backup (epoch ms); None: never
    restored_at_ms: int | None = None
    restored_from: str | None = None

    def honours(self, cursor_epoch: str | None) -> bool:
        """Whether a cursor sent with ``cursor_epoch`` (None: a device that sends none) counts
        in this log's history."""
        if cursor_epoch is None:
            return self.restored_at_ms is None
        return cursor_epoch == self.epoch

    def to_dict(self) -> dict[str, str | int | None]:
        return {
            "epoch": self.epoch,
            "restored_at_ms": self.restored_at_ms,
            "restored_from": self.restored_from,
        }


def load_or_create(data_dir: Path) -> LogEpoch:
    """The data directory's epoch; a directory without one (new, or from before epochs) gets a
    fresh one that was never restored."""
    path = Path(data_dir) / EPOCH_FILENAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _write(path, LogEpoch(_new_name()))
    except ValueError as exc:
        raise OSError(f"{path} is not a log epoch file ({exc}); restore it or remove it") from None
    return LogEpoch(raw["epoch"], raw.get("restored_at_ms"), raw.get("restored_from"))


def start_new(data_dir: Path, *, at_ms: int, restored_from: str) -> LogEpoch:
    """A new epoch for a log restored (or about to be) from ``restored_from``."""
    return _write(
        Path(data_dir) / EPOCH_FILENAME,
        LogEpoch(_new_name(), restored_at_ms=at_ms, restored_from=restored_from),
    )


def _new_name() -> str:
    return secrets.token_hex(8)


def _write(path: Path, epoch: LogEpoch) -> LogEpoch:
    """Atomically: a temporary file synced, renamed over the old one, the directory synced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(epoch.to_dict(), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return epoch
