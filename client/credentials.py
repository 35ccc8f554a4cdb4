"""Device tokens in the OS keyring — never in a plain file unless the user chose one.

Where the machine has no keyring service (a headless server, CI), saving fails with a clear
``CredentialsError`` that names the fix. A backend that keeps secrets unencrypted
(keyrings.alt's ``PlaintextKeyring``) or that keyring itself ranks as a last resort (priority
below 1) is refused unless the user chose it: ``PYTHON_KEYRING_BACKEND`` or keyring's config
file names it, or ``WEDSYNC_ALLOW_PLAINTEXT_KEYRING=1`` is set. Installing keyrings.alt is not
a choice: keyring then picks its plaintext file on its own, with no word to the user.
"""

from __future__ import annotations

import configparser
import os
from typing import Protocol

import keyring
import keyring.backend
import keyring.backends.chainer
import keyring.backends.fail
import keyring.errors

SERVICE = "wedsync-marketing"
#: set to 1 to let WedSync keep tokens in a backend that stores them unencrypted
ALLOW_PLAINTEXT_ENV = "WEDSYNC_ALLOW_PLAINTEXT_KEYRING"

HEADLESS_RECIPE = (
    "on a machine without a desktop session, run WedSync inside a D-Bus session with an "
    "unlocked gnome-keyring (README, 'Keyring')"
)
NO_KEYRING_HELP = (
    "no OS keyring is available on this machine (keyring backend: {backend}). Unlock or install a "
    "Secret Service (e.g. gnome-keyring); " + HEADLESS_RECIPE
)
INSECURE_HELP = (
    "the keyring backend {backend} keeps tokens unencrypted (or is keyring's last resort), and "
    "WedSync does not use it unless you choose it. Use a Secret Service (e.g. gnome-keyring; "
    + HEADLESS_RECIPE
    + "), or accept the file knowingly: export "
    + ALLOW_PLAINTEXT_ENV
    + "=1"
)


class CredentialsError(Exception):
    code = "keyring_unavailable"


class InsecureKeyring(CredentialsError):
    code = "keyring_insecure"


class TokenStore(Protocol):
    def get(self, account: str) -> str | None: ...
    def set(self, account: str, token: str) -> None: ...
    def delete(self, account: str) -> None: ...


def backend_name(backend: keyring.backend.KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def is_fallback(backend: keyring.backend.KeyringBackend) -> bool:
    """Whether ``backend`` stores secrets unencrypted, or keyring ranks it a last resort."""
    if "plaintext" in backend_name(backend).lower():
        return True
    try:
        return float(backend.priority) < 1
    except Exception:  # a backend whose priority cannot be computed cannot be trusted either
        return True


def _chosen_names() -> set[str]:
    """Backends the user named: ``PYTHON_KEYRING_BACKEND`` and keyring's config file."""
    names = {os.environ.get("PYTHON_KEYRING_BACKEND", "").strip()}
    try:
        from keyring.core import _config_path  # keyringrc.cfg, where keyring itself reads it

        config = configparser.RawConfigParser()
        config.read(_config_path(), encoding="utf-8")
        names.add(config.get("backend", "default-keyring", fallback="").strip())
    except (ImportError, OSError, configparser.Error):
        pass
    return names - {""}


def chosen_explicitly(backend: keyring.backend.KeyringBackend) -> bool:
    return os.environ.get(ALLOW_PLAINTEXT_ENV) == "1" or backend_name(backend) in _chosen_names()


def _members(configured: keyring.backend.KeyringBackend) -> list[keyring.backend.KeyringBackend]:
    """The backends a configured keyring stands for: a chain's members, or itself."""
    if isinstance(configured, keyring.backends.chainer.ChainerBackend):
        return list(configured.backends) or [configured]
    return [configured]


class KeyringTokens:
    """Tokens in the keyring configured for this process (``keyring.get_keyring()``), through
    the backends WedSync accepts: a chain of backends is narrowed to its safe members."""

    def _backends(self) -> list[keyring.backend.KeyringBackend]:
        members = _members(keyring.get_keyring())
        safe = [b for b in members if not is_fallback(b) or chosen_explicitly(b)]
        if safe:
            return safe
        names = ", ".join(backend_name(b) for b in members)
        if all(isinstance(b, keyring.backends.fail.Keyring) for b in members):
            raise CredentialsError(NO_KEYRING_HELP.format(backend=names))
        raise InsecureKeyring(INSECURE_HELP.format(backend=names))

    def _fail(self, backend: keyring.backend.KeyringBackend, exc: Exception) -> CredentialsError:
        if isinstance(exc, keyring.errors.NoKeyringError):
            return CredentialsError(NO_KEYRING_HELP.format(backend=backend_name(backend)))
        return CredentialsError(f"the keyring ({backend_name(backend)}) refused: {exc}")

    def get(self, account: str) -> str | None:
        for backend in self._backends():
            try:
                token = backend.get_password(SERVICE, account)
            except keyring.errors.KeyringError as exc:
                raise self._fail(backend, exc) from None
            if token is not None:
                return token
        return None

    def set(self, account: str, token: str) -> None:
        backend = self._backends()[0]
        try:
            backend.set_password(SERVICE, account, token)
        except keyring.errors.KeyringError as exc:
            raise self._fail(backend, exc) from None

    def delete(self, account: str) -> None:
        """Forget the token everywhere it may be, the refused backends included: removing a
        secret from a plaintext file is always welcome."""
        configured = keyring.get_keyring()
        for backend in _members(configured):
            try:
                backend.delete_password(SERVICE, account)
            except (keyring.errors.PasswordDeleteError, NotImplementedError):
                pass
            except keyring.errors.NoKeyringError:
                if backend is configured:
                    raise self._fail(backend, keyring.errors.NoKeyringError()) from None
            except keyring.errors.KeyringError as exc:
                raise self._fail(backend, exc) from None


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
