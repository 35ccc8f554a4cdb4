"""Logging in with a password: throttled per account and per address, the same cost whether or not
the email is known.

* **Throttle.** Failed attempts are counted per account (the email, known or not, so the
  throttle itself tells nothing) and per client address within ``window_s``. Past
  ``per_account`` (or ``per_address``) failures, each further attempt must wait: 2 s, then twice
  as long after each failure, up to ``max_lockout_s``. An attempt while locked is answered 429
  with ``Retry-After`` at once, without checking the password, so a guesser costs the server
  nothing and learns nothing. A success clears the account's count.
* **Same cost.** Every attempt checks one scrypt hash per account with that email, and at least
  one: an unknown email is checked against a decoy hash with the same parameters, so the time of
  an answer does not say whether the email exists.
* **Own threads.** The scrypt checks run on their own small pool, with at most
  ``max_waiting`` attempts waiting for it (503 beyond), so a burst of logins never delays sync or
  other requests.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .auth import hash_password, verify_password
from .errors import Overloaded, RateLimited
from .storage import UserRow


@dataclass
class _Count:
    failures: int = 0
    first_s: float = 0.0
    locked_until_s: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        *,
        per_account: int = 5,
        per_address: int = 50,
        window_s: float = 15 * 60,
        first_lockout_s: float = 2.0,
        max_lockout_s: float = 15 * 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"account": per_account, "address": per_address}
        self.window_s = window_s
        self.first_lockout_s = first_lockout_s
        self.max_lockout_s = max_lockout_s
        self._clock = clock
        self._counts: dict[tuple[str, str], _Count] = {}
        self._lock = threading.Lock()

    def check(self, *, account: str, address: str) -> None:
        """Raise ``RateLimited`` while the account or the address must wait."""
        now = self._clock()
        with self._lock:
            wait = max(
                self._wait(("account", account.lower()), now),
                self._wait(("address", address), now),
            )
        if wait > 0:
            raise RateLimited(
                f"too many failed logins; try again in {wait:.0f} s", retry_after_s=wait
            )

    def failed(self, *, account: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._counts) > 100_000:  # forget what has expired
                self._counts = {
                    k: c for k, c in self._counts.items() if now - c.first_s < self.window_s
                }
            for key in (("account", account.lower()), ("address", address)):
                count = self._counts.get(key)
                if count is None or now - count.first_s >= self.window_s:
                    count = self._counts[key] = _Count(first_s=now)
                count.failures += 1
                over = count.failures - self.limits[key[0]]
                if over >= 0:
                    lockout = min(self.first_lockout_s * 2**over, self.max_lockout_s)
                    count.locked_until_s = now + lockout

    def succeeded(self, *, account: str) -> None:
        with self._lock:
            self._counts.pop(("account", account.lower()), None)

    def _wait(self, key: tuple[str, str], now: float) -> float:
        count = self._counts.get(key)
        return max(0.0, count.locked_until_s - now) if count is not None else 0.0


class PasswordChecker:
    """scrypt checks on their own threads, the same number for a known email and an unknown one."""

    def __init__(self, *, threads: int = 2, max_waiting: int = 64) -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wedsync-login")
        self._max_waiting = max_waiting
        self._waiting = 0
        self._decoy = hash_password("a decoy that no account has")

    async def matching(self, password: str, users: list[UserRow]) -> list[UserRow]:
        """The users (with one email) whose password this is; checks a decoy when there are
        none, so both cost one check or more."""
        if self._waiting >= self._max_waiting:
            raise Overloaded("too many logins at once; retry shortly")
        self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            hashes = [u.password_hash for u in users] or [self._decoy]
            found = []
            for user, stored in zip(users or [None] * len(hashes), hashes, strict=True):
                ok = await loop.run_in_executor(self._executor, verify_password, password, stored)
                if ok and user is not None:
                    found.append(user)
            return found
        finally:
            self._waiting -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=True)
