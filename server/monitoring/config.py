"""The monitor's settings: thresholds per check (per org where it matters), alert channels,
the metrics endpoint and the log format, from one TOML file with defaults for everything.

Where the file is: ``$WEDSYNC_MONITOR_CONFIG``, else ``monitoring.toml`` in the server's data
directory when there is one, else none (every default applies). A key the file does not know,
a band whose critical side is better than its healthy side, or a secret file that cannot be
read stops the server at start-up with the key named: a typo must not silently disable an
alert. The file format and every default are in ``docs/monitoring.md``.

Secrets (the webhook's signing key, the metrics token) never sit in the file itself: it names
a file holding them (``*_file``) or an environment variable (``*_env``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .status import Band

CONFIG_ENV = "WEDSYNC_MONITOR_CONFIG"
CONFIG_NAME = "monitoring.toml"
CLASS_NAMES = ("attribution", "marketing", "contacts", "bulk")


@dataclass(frozen=True)
class Spec:
    """What a check is: its title, group, unit, default band and whether it is per org."""

    title: str
    group: str
    unit: str
    band: Band
    per_org: bool


def _b(healthy: float, critical: float, higher: bool) -> Band:
    return Band(healthy, critical, higher)


#: every check the monitor runs, by name, with its default thresholds
CHECKS: dict[str, Spec] = {
    "delivery.trigger_to_send_p50_s": Spec(
        "Trigger to send, median", "delivery", "s", _b(60, 300, False), True
    ),
    "delivery.trigger_to_send_p99_s": Spec(
        "Trigger to send, 99th percentile", "delivery", "s", _b(300, 900, False), True
    ),
    "delivery.trigger_evaluation_p99_ms": Spec(
        "Trigger evaluation, 99th percentile", "delivery", "ms", _b(100, 500, False), False
    ),
    "delivery.send_success_rate": Spec(
        "Send success rate", "delivery", "ratio", _b(0.98, 0.90, True), True
    ),
    "delivery.bounce_rate": Spec("Bounce rate", "delivery", "ratio", _b(0.02, 0.05, False), True),
    "delivery.smtp_failures": Spec(
        "SMTP server unreachable, probes in a row", "delivery", "count", _b(0, 1, False), True
    ),
    "delivery.scheduler_backlog_s": Spec(
        "Scheduler backlog, oldest overdue step", "delivery", "s", _b(60, 300, False), False
    ),
    "content.success_rate": Spec(
        "Content generation success", "content", "ratio", _b(0.95, 0.90, True), True
    ),
    "content.latency_p99_s": Spec(
        "Content generation latency, 99th percentile", "content", "s", _b(2.0, 5.0, False), True
    ),
    "attribution.accuracy": Spec(
        "Attribution accuracy", "attribution", "ratio", _b(0.90, 0.80, True), True
    ),
    "viral.k": Spec("Viral coefficient K", "viral", "", _b(1.2, 1.0, True), True),
    **{
        f"sync.queue_items.{name}": Spec(
            f"Writer queue, {name}", "sync", "count", _b(20_000, 200_000, False), False
        )
        for name in CLASS_NAMES
    },
    **{
        f"sync.lag_s.{name}": Spec(
            f"Sync lag, {name}",
            "sync",
            "s",
            _b(60, 600, False) if name == "bulk" else _b(5, 60, False),
            False,
        )
        for name in CLASS_NAMES
    },
    "sync.device_silence_s": Spec(
        "Time since the org's devices last synced", "sync", "s", _b(86_400, 604_800, False), True
    ),
    "sync.writer_busy_ratio": Spec(
        "Writer busy share", "sync", "ratio", _b(0.70, 0.95, False), False
    ),
    "storage.reachable": Spec("Database reachable", "storage", "", _b(1, 1, True), False),
    "storage.disk_free_ratio": Spec("Disk free", "storage", "ratio", _b(0.15, 0.05, True), False),
    "storage.disk_free_bytes": Spec(
        "Disk free space", "storage", "bytes", _b(2 << 30, 512 << 20, True), False
    ),
    "storage.wal_bytes": Spec(
        "Write-ahead log size", "storage", "bytes", _b(256 << 20, 1 << 30, False), False
    ),
    "storage.pool_saturation": Spec(
        "Connection pool in use", "storage", "ratio", _b(0.80, 0.95, False), False
    ),
}


class ConfigError(ValueError):
    """The monitoring file is wrong; the message names the key."""


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class AlertSettings:
    #: false: this process records no alert and sends none (several processes on one store:
    #: let one of them alert)
    enabled: bool = True
    #: after an alert, the same check of the same org alerts again only once this has passed
    cooldown_s: float = 3600.0
    webhook: Webhook | None = None
    webhook_attempts: int = 5
    webhook_backoff_s: float = 1.0
    webhook_timeout_s: float = 10.0
    email_admins: bool = True
    app_notices: bool = True
    #: alerts kept in the history file (the oldest are dropped when it is rewritten)
    history_max: int = 5000


@dataclass(frozen=True)
class MetricsSettings:
    enabled: bool = True
    #: a port of its own for ``/metrics`` (no token there; bind it to a private address);
    #: None: no such port
    port: int | None = None
    host: str = "127.0.0.1"
    #: ``/metrics`` on the main port answers only ``Authorization: Bearer <token>``; None:
    #: not served on the main port
    token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MonitorConfig:
    interval_s: float = 15.0
    business_interval_s: float = 900.0
    smtp_probe_timeout_s: float = 5.0
    delivery_window_s: float = 86_400.0
    content_window_s: float = 86_400.0
    trend_window_s: float = 86_400.0
    viral_window_days: int = 90
    min_sends: int = 10
    min_generations: int = 5
    thresholds: Mapping[str, Band] = field(default_factory=dict)
    #: org name -> check name -> band
    org_thresholds: Mapping[str, Mapping[str, Band]] = field(default_factory=dict)
    alerts: AlertSettings = AlertSettings()
    #: org name -> that org's own webhook (beside the server's)
    org_webhooks: Mapping[str, Webhook] = field(default_factory=dict)
    metrics: MetricsSettings = MetricsSettings()
    log_format: str = "text"  # text | json
    source: str | None = None  # the file read, if any

    def band(self, name: str, org_name: str | None = None) -> Band:
        """The band of check ``name`` for the org (its own, else the server's, else the
        default)."""
        if org_name is not None:
            own = self.org_thresholds.get(org_name, {}).get(name)
            if own is not None:
                return own
        return self.thresholds.get(name) or CHECKS[name].band


_MONITOR_KEYS = {
    "interval_s": float,
    "business_interval_s": float,
    "smtp_probe_timeout_s": float,
    "delivery_window_s": float,
    "content_window_s": float,
    "trend_window_s": float,
    "viral_window_days": int,
    "min_sends": int,
    "min_generations": int,
}


def locate(data_dir: Path | None) -> Path | None:
    """The monitoring file to read: ``$WEDSYNC_MONITOR_CONFIG``, else the data directory's."""
    named = os.environ.get(CONFIG_ENV)
    if named:
        return Path(named)
    if data_dir is not None and (Path(data_dir) / CONFIG_NAME).is_file():
        return Path(data_dir) / CONFIG_NAME
    return None


def load_config(path: Path | None) -> MonitorConfig:
    """The settings in ``path`` over the defaults (None: the defaults)."""
    if path is None:
        return MonitorConfig()
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not TOML ({exc})") from None
    return parse_config(raw, source=str(path), base=Path(path).parent)


def parse_config(
    raw: Mapping[str, Any], *, source: str = "", base: Path | None = None
) -> MonitorConfig:
    where = f"{source}: " if source else ""
    _only(raw, {"monitor", "thresholds", "alerts", "orgs", "metrics", "logs"}, where, "")
    values: dict[str, Any] = {}
    for key, value in _table(raw, "monitor", where).items():
        kind = _MONITOR_KEYS.get(key)
        if kind is None:
            raise ConfigError(f"{where}unknown key monitor.{key}")
        values[key] = _number(value, kind, f"{where}monitor.{key}", positive=True)
    thresholds = _bands(_table(raw, "thresholds", where), where, "thresholds")
    alerts_raw = dict(_table(raw, "alerts", where))
    alerts = _alerts(alerts_raw, where, base)
    org_thresholds: dict[str, dict[str, Band]] = {}
    org_webhooks: dict[str, Webhook] = {}
    for org, table in _table(raw, "orgs", where).items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where}orgs.{org} must be a table")
        _only(table, {"thresholds", "alerts"}, where, f"orgs.{org}.")
        bands = _bands(_table(table, "thresholds", where), where, f"orgs.{org}.thresholds")
        for name in bands:
            if not CHECKS[name].per_org:
                raise ConfigError(
                    f"{where}orgs.{org}.thresholds.{name}: a server-wide check has no per-org "
                    "thresholds"
                )
        org_thresholds[org] = bands
        org_alerts = _table(table, "alerts", where)
        _only(
            org_alerts,
            {"webhook_url", "webhook_secret_file", "webhook_secret_env"},
            where,
            f"orgs.{org}.alerts.",
        )
        hook = _webhook(org_alerts, where, f"orgs.{org}.alerts.", base)
        if hook is not None:
            org_webhooks[org] = hook
    metrics = _metrics(_table(raw, "metrics", where), where, base)
    logs = _table(raw, "logs", where)
    _only(logs, {"format"}, where, "logs.")
    log_format = logs.get("format", "text")
    if log_format not in ("text", "json"):
        raise ConfigError(f'{where}logs.format must be "text" or "json"')
    return MonitorConfig(
        **values,
        thresholds=thresholds,
        org_thresholds=org_thresholds,
        alerts=alerts,
        org_webhooks=org_webhooks,
        metrics=metrics,
        log_format=log_format,
        source=source or None,
    )


def _only(table: Mapping[str, Any], keys: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise ConfigError(
            f"{where}unknown key {prefix}{unknown[0]} (known: {', '.join(sorted(keys))})"
        )


def _table(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}{key} must be a table")
    return value


def _number(value: Any, kind: type, what: str, *, positive: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what} must be a number")
    if kind is int and not isinstance(value, int):
        raise ConfigError(f"{what} must be a whole number")
    if positive and value <= 0:
        raise ConfigError(f"{what} must be above 0")
    return kind(value)


def _bands(table: Mapping[str, Any], where: str, prefix: str) -> dict[str, Band]:
    bands = {}
    for name, value in table.items():
        spec = CHECKS.get(name)
        if spec is None:
            raise ConfigError(f"{where}{prefix}: unknown check {name!r}")
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}{prefix}.{name} must be a table {{healthy, critical}}")
        _only(value, {"healthy", "critical"}, where, f"{prefix}.{name}.")
        healthy = _number(
            value.get("healthy", spec.band.healthy), float, f"{where}{prefix}.{name}.healthy"
        )
        critical = _number(
            value.get("critical", spec.band.critical), float, f"{where}{prefix}.{name}.critical"
        )
        try:
            bands[name] = Band(healthy, critical, spec.band.higher_is_better)
        except ValueError as exc:
            raise ConfigError(f"{where}{prefix}.{name}: {exc}") from None
    return bands


def _secret(
    table: Mapping[str, Any], stem: str, where: str, prefix: str, base: Path | None
) -> str | None:
    path, env = table.get(f"{stem}_file"), table.get(f"{stem}_env")
    if path is not None and env is not None:
        raise ConfigError(f"{where}{prefix}{stem}: give {stem}_file or {stem}_env, not both")
    if path is not None:
        if not isinstance(path, str):
            raise ConfigError(f"{where}{prefix}{stem}_file must be a path")
        full = Path(path) if base is None else base / path
        try:
            secret = full.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{where}{prefix}{stem}_file: cannot read {full} ({exc.strerror})"
            ) from None
    elif env is not None:
        if not isinstance(env, str):
            raise ConfigError(f"{where}{prefix}{stem}_env must be a variable name")
        secret = os.environ.get(env, "").strip()
        if not secret:
            raise ConfigError(f"{where}{prefix}{stem}_env: ${env} is not set")
    else:
        return None
    if len(secret) < 16:
        raise ConfigError(f"{where}{prefix}{stem}: at least 16 characters")
    return secret


def _webhook(
    table: Mapping[str, Any], where: str, prefix: str, base: Path | None
) -> Webhook | None:
    url = table.get("webhook_url")
    secret = _secret(table, "webhook_secret", where, prefix, base)
    if url is None:
        if secret is not None:
            raise ConfigError(f"{where}{prefix}webhook_secret without webhook_url")
        return None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}{prefix}webhook_url must be an http(s) URL")
    if secret is None:
        raise ConfigError(
            f"{where}{prefix}webhook_url needs webhook_secret_file or _env (HMAC key)"
        )
    return Webhook(url, secret.encode())


def _alerts(table: Mapping[str, Any], where: str, base: Path | None) -> AlertSettings:
    known = {
        "cooldown_s",
        "webhook_url",
        "webhook_secret_file",
        "webhook_secret_env",
        "webhook_attempts",
        "webhook_backoff_s",
        "webhook_timeout_s",
        "email_admins",
        "app_notices",
        "history_max",
        "enabled",
    }
    _only(table, known, where, "alerts.")
    values: dict[str, Any] = {"webhook": _webhook(table, where, "alerts.", base)}
    for key, kind in (
        ("cooldown_s", float),
        ("webhook_attempts", int),
        ("webhook_backoff_s", float),
        ("webhook_timeout_s", float),
        ("history_max", int),
    ):
        if key in table:
            values[key] = _number(table[key], kind, f"{where}alerts.{key}", positive=True)
    for key in ("email_admins", "app_notices", "enabled"):
        if key in table:
            if not isinstance(table[key], bool):
                raise ConfigError(f"{where}alerts.{key} must be true or false")
            values[key] = table[key]
    return AlertSettings(**values)


def _metrics(table: Mapping[str, Any], where: str, base: Path | None) -> MetricsSettings:
    _only(table, {"enabled", "port", "host", "token_file", "token_env"}, where, "metrics.")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}metrics.enabled must be true or false")
    port = table.get("port")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536
    ):
        raise ConfigError(f"{where}metrics.port must be a TCP port (0: any free one)")
    host = table.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host:
        raise ConfigError(f"{where}metrics.host must be an address")
    token = _secret(table, "token", where, "metrics.", base)
    return MetricsSettings(enabled=enabled, port=port, host=host, token=token)
