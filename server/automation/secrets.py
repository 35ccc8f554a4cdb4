"""The server's secret and what it seals: per-org SMTP passwords and tracking keys.

Secrets are kept out of plain files and logs: the store holds them sealed with AES-256-GCM
(``cryptography``) under a 32-byte server secret, each bound to what it is for (the org and the
purpose are the associated data, so a sealed value moved to another org's row does not open).

Where the server secret comes from, in order:

1. ``WEDSYNC_SERVER_SECRET`` in the environment (64 hex digits or 43 base64url characters):
   for containers and a store several server processes share (PostgreSQL), where the secret
   belongs to the deployment's secret manager, never to the database it protects;
2. ``server-secret.key`` in the data directory, created on first use with mode 0600 (refused
   if another user can read it).

Why not the database: a copy of the database (a backup, a file sent for support) must not
carry the passwords it holds. Why not the OS keyring: the server runs headless and never
imports keyring. What it does not protect against: someone who can read both the key file and
the database (the server's own user, or root) can open the passwords; that is the most a
process that must send mail unattended can offer.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import ServerError

ENV_SECRET = "WEDSYNC_SERVER_SECRET"
SECRET_FILE = "server-secret.key"
_VERSION = b"\x01"
_NONCE_BYTES = 12


class SecretError(ServerError):
    """The server secret is missing, malformed or unsafe, or a sealed value does not open."""

    code = "secret_invalid"  # type: ignore[assignment]
    http_status = 500


def _decode(text: str) -> bytes:
    text = text.strip()
    try:
        if len(text) == 64:
            return bytes.fromhex(text)
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raise SecretError(f"{ENV_SECRET} is not 32 bytes in hex or base64url") from None
    if len(raw) != 32:
        raise SecretError(f"{ENV_SECRET} is not 32 bytes in hex or base64url")
    return raw


def load_secret(data_dir: Path | None, *, environ: dict[str, str] | None = None) -> bytes:
    """The server secret (see the module's order); creates the key file when neither is there."""
    env = os.environ if environ is None else environ
    if env.get(ENV_SECRET):
        return _decode(env[ENV_SECRET])
    if data_dir is None:
        raise SecretError(
            f"no server secret: set {ENV_SECRET} (a store without a data directory keeps none)"
        )
    path = Path(data_dir) / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SecretError(
                f"{path} can be read by other users (mode {stat.filemode(mode)}): chmod 600 it"
            ) from None
        raw = path.read_bytes()
        if len(raw) != 32:
            raise SecretError(f"{path} is not a 32-byte key") from None
        return raw
    key = secrets.token_bytes(32)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key


class SecretBox:
    """Seals and opens small secrets under the server secret, bound to a purpose."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretError("the server secret must be 32 bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<hidden>)"

    def seal(self, plaintext: bytes, *, purpose: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose.encode())

    def open(self, sealed: bytes, *, purpose: str) -> bytes:
        if len(sealed) < 1 + _NONCE_BYTES + 16 or sealed[:1] != _VERSION:
            raise SecretError(f"a sealed {purpose.split(':')[0]} is not readable")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, purpose.encode())
        except InvalidTag:
            raise SecretError(
                f"a sealed {purpose.split(':')[0]} does not open with this server's secret "
                "(was the secret changed or the data copied from another server?)"
            ) from None
