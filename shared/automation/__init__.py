"""Automation rules, pure and I/O-free: trigger matching, journeys, guards across campaigns.

The server's engine feeds these functions committed events, the clock and what its store knows,
and carries out the actions they return; nothing here touches a database, a socket or a clock.

* ``triggers``: whether a committed event starts a campaign; when a date-relative trigger fires.
* ``steps``: the journey schema, read and validated into frozen values.
* ``journey``: enrolment, re-entry, and ``advance``, the one interpreter of a journey.
* ``guards``: suppression, quiet hours and the frequency cap at the moment of a send.
* ``conditions``: the rule language that triggers, branches and audiences share.
* ``audience``: which contacts a campaign is for.

These parsers are the one owner of what a trigger, a step, a jump, a condition, an audience, a
cap, quiet hours, re-entry and a holdout may be; ``shared.protocol.campaign_rules`` calls them.
"""

from .audience import Audience, parse_audience
from .conditions import Conditions, Rule, compare, parse_conditions
from .errors import AutomationCode, AutomationError
from .facts import Fact, as_fact
from .guards import (
    FrequencyCap,
    QuietHours,
    capped_by,
    in_quiet_hours,
    next_allowed_ms,
    parse_frequency_cap,
    parse_quiet_hours,
    suppression_reason,
)
from .journey import (
    Action,
    Enrolment,
    Exit,
    Facts,
    Hold,
    Refused,
    Schedule,
    Send,
    Skip,
    advance,
    cancel,
    enrol,
    enrolment_id,
    in_holdout,
    may_enter,
    send_key,
    split_path,
)
from .steps import (
    Journey,
    Reentry,
    jump_problems,
    parse_holdout,
    parse_journey,
    parse_reentry,
    parse_step,
)
from .triggers import (
    Bands,
    DateRule,
    Trigger,
    TriggerMatch,
    date_key,
    due_fire_ms,
    fire_time_ms,
    match_event,
    parse_trigger,
)

__all__ = [
    "Action",
    "Audience",
    "AutomationCode",
    "AutomationError",
    "Bands",
    "Conditions",
    "DateRule",
    "Enrolment",
    "Exit",
    "Fact",
    "Facts",
    "FrequencyCap",
    "Hold",
    "Journey",
    "QuietHours",
    "Reentry",
    "Refused",
    "Rule",
    "Schedule",
    "Send",
    "Skip",
    "Trigger",
    "TriggerMatch",
    "advance",
    "as_fact",
    "cancel",
    "capped_by",
    "compare",
    "date_key",
    "due_fire_ms",
    "enrol",
    "enrolment_id",
    "fire_time_ms",
    "in_holdout",
    "in_quiet_hours",
    "jump_problems",
    "match_event",
    "may_enter",
    "next_allowed_ms",
    "parse_audience",
    "parse_conditions",
    "parse_frequency_cap",
    "parse_holdout",
    "parse_journey",
    "parse_quiet_hours",
    "parse_reentry",
    "parse_step",
    "parse_trigger",
    "send_key",
    "split_path",
    "suppression_reason",
]
