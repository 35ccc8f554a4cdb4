"""One server per data directory: a running server holds an exclusive lock on
``<data dir>/server.lock``, and what must not run beside it (``wedsync admin restore``, a second
server) takes the same lock or refuses.

An ``flock`` lock: the kernel releases it when the process ends, ``kill -9`` included, so a
crashed server never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILENAME = "server.lock"


class DataDirInUse(OSError):
    """Another process (a running server) holds the data directory."""

    code = "data_dir_in_use"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@contextmanager
def hold(data_dir: Path, *, purpose: str) -> Iterator[None]:
    """Hold the data directory's lock for the block; ``DataDirInUse`` at once if another
    process holds it (``purpose`` says what was refused)."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise DataDirInUse(
                f"cannot {purpose}: a server (pid {holder}) is running on {data_dir}; stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
