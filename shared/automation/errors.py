"""Errors of the automation rules, each with a stable code.

A malformed trigger, step, guard or saved enrolment is refused with one of these codes; the
server turns them into HTTP problems (activation refused with the reason) and audit entries.
"""

from __future__ import annotations

from enum import StrEnum


class AutomationCode(StrEnum):
    TRIGGER_INVALID = "trigger_invalid"  # a campaign trigger that cannot be read
    STEP_INVALID = "step_invalid"  # a journey step with a bad kind, config or jump
    GUARD_INVALID = "guard_invalid"  # quiet hours, frequency cap, re-entry or holdout settings
    AUDIENCE_INVALID = "audience_invalid"  # an audience segment that cannot be read
    STATE_INVALID = "state_invalid"  # a saved enrolment that does not belong to the campaign


class AutomationError(ValueError):
    """A campaign rule or saved state the automation cannot run. ``field`` names the setting at
    fault where one does (``days``, ``event``, ``then``, ``conditions[2]``…; None: the value as a
    whole), so the campaign rules can point the builder at it."""

    def __init__(self, code: AutomationCode, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field
