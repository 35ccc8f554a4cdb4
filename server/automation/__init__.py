"""The automation engine on the server: campaigns that run.

* ``engine``: ``AutomationEngine``, the commit listener and its tasks (events, due, mail,
  dates), and ``EngineConfig``;
* ``rounds``: the engine's work in the writer's transaction (triggers, enrolments, advancing,
  suppression, the date scan);
* ``mailer``: each org's delivery lane (claim, render, mark sending, SMTP, record);
* ``index``: the campaigns indexed per org by trigger kind and by what they wait for;
* ``records``: the server's own events (enrolment, send, open, click, bounce, unsubscribe);
* ``settings`` and ``secrets``: per-org SMTP settings and tracking keys, sealed with the
  server's secret;
* ``run_view``: a campaign's counts per step and variant.

The pure rules (triggers, journeys, guards) are ``shared.automation``; sending, templates and
tracking tokens are ``server.delivery``. What is guaranteed is written in ``mailer`` and in
``docs/automation.md``.
"""

from .engine import AutomationEngine, EngineConfig
from .rounds import Round, Rounds
from .secrets import SecretBox, SecretError, load_secret

__all__ = [
    "AutomationEngine",
    "EngineConfig",
    "Round",
    "Rounds",
    "SecretBox",
    "SecretError",
    "load_secret",
]
