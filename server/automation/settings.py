"""Per-org delivery settings: the SMTP server (password sealed) and the tracking keys.

Both are read and written through the store (``AutomationStore``) with the server's
``SecretBox``; nothing here logs a password or puts one in a value's ``repr``. A new org gets a
tracking key the first time a message of its is built (``org_tracking_keys``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..delivery.errors import DeliveryCode, DeliveryError
from ..delivery.message import check_address
from ..delivery.smtp import SECURITY, SmtpSettings
from ..delivery.tracking import new_org_key
from ..storage import AutomationStore, SmtpRow
from .secrets import SecretBox

MAX_PASSWORD_CHARS = 1_000


def _password_purpose(org_id: str) -> str:
    return f"smtp-password:{org_id}"


def _key_purpose(org_id: str) -> str:
    return f"tracking-key:{org_id}"


@dataclass(frozen=True)
class OrgSmtp:
    """An org's SMTP settings as the server uses them (the password opened, kept out of
    ``repr``) and as an admin sees them (``public``: no password, whether one is set)."""

    settings: SmtpSettings
    from_address: str
    updated_at_ms: int
    password_set: bool = field(default=False)

    def public(self) -> dict[str, Any]:
        s = self.settings
        return {
            "host": s.host,
            "port": s.port,
            "security": s.security,
            "user": s.username,
            "from": self.from_address,
            "password_set": self.password_set,
        }


def load_smtp(storage: AutomationStore, box: SecretBox, org_id: str) -> OrgSmtp | None:
    row = storage.smtp_settings(org_id)
    if row is None:
        return None
    password = None
    if row.password_sealed is not None:
        password = box.open(row.password_sealed, purpose=_password_purpose(org_id)).decode()
    settings = SmtpSettings(
        host=row.host,
        port=row.port,
        security=row.security,
        username=row.username,
        password=password,
    )
    return OrgSmtp(settings, row.from_address, row.updated_at_ms, password is not None)


def validate_smtp(
    *,
    host: Any,
    port: Any,
    security: Any,
    user: Any,
    password: Any,
    from_address: Any,
) -> None:
    """DeliveryError(smtp_settings_invalid | address_invalid) for settings that cannot work."""
    if not isinstance(port, int) or isinstance(port, bool):
        raise DeliveryError(DeliveryCode.SMTP_SETTINGS_INVALID, "SMTP port must be 1-65535")
    if security not in SECURITY:
        raise DeliveryError(
            DeliveryCode.SMTP_SETTINGS_INVALID,
            f"SMTP security must be one of {', '.join(SECURITY)}",
        )
    for name, value in (("user", user), ("password", password)):
        if value is not None and (not isinstance(value, str) or not value):
            raise DeliveryError(
                DeliveryCode.SMTP_SETTINGS_INVALID, f"SMTP {name} must be non-empty text"
            )
    if isinstance(password, str) and len(password) > MAX_PASSWORD_CHARS:
        raise DeliveryError(DeliveryCode.SMTP_SETTINGS_INVALID, "SMTP password is too long")
    SmtpSettings(host=host, port=port, security=security, username=user, password=password)
    if not isinstance(from_address, str):
        raise DeliveryError(DeliveryCode.ADDRESS_INVALID, "the sender address must be text")
    check_address(from_address, what="sender")


def save_smtp(
    storage: AutomationStore,
    box: SecretBox,
    org_id: str,
    *,
    host: str,
    port: int,
    security: str,
    user: str | None,
    password: str | None,
    from_address: str,
    at_ms: int,
    keep_password: bool = False,
) -> OrgSmtp:
    """Validate and store an org's settings (writer thread). ``keep_password``: a ``None``
    password keeps the stored one (an admin changing the host does not retype it)."""
    sealed = None
    if password is None and keep_password:
        current = storage.smtp_settings(org_id)
        sealed = current.password_sealed if current is not None and user is not None else None
        if sealed is not None:
            password = box.open(sealed, purpose=_password_purpose(org_id)).decode()
    validate_smtp(
        host=host,
        port=port,
        security=security,
        user=user,
        password=password,
        from_address=from_address,
    )
    if password is not None and sealed is None:
        sealed = box.seal(password.encode(), purpose=_password_purpose(org_id))
    storage.save_smtp_settings(
        SmtpRow(org_id, host.strip(), port, security, user, sealed, from_address.strip(), at_ms)
    )
    loaded = load_smtp(storage, box, org_id)
    assert loaded is not None
    return loaded


def org_tracking_keys(
    storage: AutomationStore, box: SecretBox, org_id: str, *, at_ms: int, create: bool = True
) -> list[bytes]:
    """The org's tracking keys, newest first (the first signs, all verify); with ``create`` a
    first key is made for an org that has none (writer thread)."""
    sealed = storage.tracking_keys(org_id)
    if not sealed and create:
        key = new_org_key()
        storage.add_tracking_key(org_id, box.seal(key, purpose=_key_purpose(org_id)), at_ms=at_ms)
        return [key]
    return [box.open(s, purpose=_key_purpose(org_id)) for s in sealed]
