"""Passwords, device tokens, roles.

Passwords are stored as scrypt hashes (standard library, memory-hard); device tokens are 256-bit
random strings stored as SHA-256 digests, so a stolen database yields neither.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from .errors import Forbidden

ROLES = ("admin", "marketer", "viewer")
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a device token on every connection and request."""

    user_id: str
    email: str
    org_id: str
    role: str
    device_id: str | None = None

    def require(self, action: str) -> None:
        """Raise Forbidden unless the role may perform ``action``."""
        if self.role not in ALLOWED[action]:
            raise Forbidden(f"role {self.role!r} may not {action.replace('_', ' ')}")


#: action -> roles allowed. Viewers read only; marketers edit and capture; admins do everything.
ALLOWED: dict[str, tuple[str, ...]] = {
    "read": ROLES,
    "capture": ("admin", "marketer"),
    "edit_campaigns": ("admin", "marketer"),
    "resolve_conflicts": ("admin",),
    "manage_users": ("admin",),
    "read_audit": ("admin",),
    "read_health": ("admin",),
}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(candidate.hex(), digest)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
