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
    STATE_INVALID = "state_invalid"  # a saved enrolment that does not belong to the campaign


class AutomationError(ValueError):
    """A campaign rule or saved state the automation cannot run."""

    def __init__(self, code: AutomationCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
