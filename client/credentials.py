"""Device tokens in the OS keyring — never in a plain file.

Where the machine has no keyring service (a headless server, CI), saving fails with a clear
``CredentialsError`` that names the fix; it never falls back to a plaintext file on its own.
"""

from __future__ import annotations

from typing import Protocol

import keyring
import keyring.errors

SERVICE = "wedsync-marketing"

NO_KEYRING_HELP = (
    "no OS keyring is available on this machine (keyring backend: {backend}). Unlock or install a "
    "Secret Service (e.g. gnome-keyring), or configure a backend explicitly, e.g. "
    "`pip install keyrings.alt` and `export PYTHON_KEYRING_BACKEND=keyrings.alt.file.EncryptedKeyring`"
)


class CredentialsError(Exception):
    code = "keyring_unavailable"


class TokenStore(Protocol):
    def get(self, account: str) -> str | None: ...
    def set(self, account: str, token: str) -> None: ...
    def delete(self, account: str) -> None: ...


class KeyringTokens:
    """Tokens in the keyring configured for this process (``keyring.get_keyring()``)."""

    def _fail(self, exc: Exception) -> CredentialsError:
        backend = (
            type(keyring.get_keyring()).__module__ + "." + type(keyring.get_keyring()).__name__
        )
        if isinstance(exc, keyring.errors.NoKeyringError):
            return CredentialsError(NO_KEYRING_HELP.format(backend=backend))
        return CredentialsError(f"the keyring ({backend}) refused: {exc}")

    def get(self, account: str) -> str | None:
        try:
            return keyring.get_password(SERVICE, account)
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from None

    def set(self, account: str, token: str) -> None:
        try:
            keyring.set_password(SERVICE, account, token)
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from None

    def delete(self, account: str) -> None:
        try:
            keyring.delete_password(SERVICE, account)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise self._fail(exc) from None


class MemoryTokens:
    """Tokens held only in this process (the demo's throwaway devices; tests)."""

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def get(self, account: str) -> str | None:
        return self._tokens.get(account)

    def set(self, account: str, token: str) -> None:
        self._tokens[account] = token

    def delete(self, account: str) -> None:
        self._tokens.pop(account, None)


def account_for(device_id: str) -> str:
    """The keyring account of a profile: one token per device (profile)."""
    return f"device:{device_id}"
