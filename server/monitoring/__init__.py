"""Monitoring: health checks, alerts, Prometheus metrics and structured logs.

* ``status``: ``Check``, ``Status``, ``Band``, ``overall`` — checks as values.
* ``config``: the monitoring file (thresholds per check and org, alert channels, metrics, logs).
* ``checks``: readings in, graded checks out; ``probes``: the readings that need I/O;
  ``recorders``: what the automation engine and content generation report (``DeliveryObserver``).
* ``monitor``: ``Monitor``, the reading loop and commit listener; ``trends``: readings over time.
* ``alerts``: episodes, deduplication, cooldown, the history; ``channels``: webhook, email, app.
* ``metrics``: the Prometheus registry and the request middleware; ``jsonlog``: JSON log lines.
* ``routes``: ``/healthz``, ``/metrics``, ``/api/v1/monitor/...``; ``setup``:
  ``install_monitoring(app, config)``.

What each check means, its thresholds and how to scrape and alert: ``docs/monitoring.md``.
"""

from .alerts import Alert, AlertHistory, AlertRouter
from .config import CHECKS, ConfigError, MonitorConfig, load_config, parse_config
from .monitor import Monitor
from .recorders import ContentRecorder, DeliveryObserver, DeliveryRecorder
from .setup import install_monitoring
from .status import Band, Check, Status, overall

__all__ = [
    "CHECKS",
    "Alert",
    "AlertHistory",
    "AlertRouter",
    "Band",
    "Check",
    "ConfigError",
    "ContentRecorder",
    "DeliveryObserver",
    "DeliveryRecorder",
    "Monitor",
    "MonitorConfig",
    "Status",
    "install_monitoring",
    "load_config",
    "overall",
    "parse_config",
]
