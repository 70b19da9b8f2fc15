"""`[schedule]`: escalations, reminders, follow-ups and the pulse, per severity."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from bot.core.models import Severity
from bot.core.pace import DEFAULT_TIMERS
from bot.settings.durations import Duration, OptionalDuration, positive

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TimerSettings(BaseModel):
    """One severity's deadlines (see `[schedule.severity.SEV1]` in the example TOML)."""

    ack_timeout: OptionalDuration = None
    update_every: OptionalDuration = None
    approval_reminder: OptionalDuration = None

    @field_validator("ack_timeout", "update_every", "approval_reminder")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        return positive(value)


class EscalationStepSettings(BaseModel):
    after: Duration = timedelta(0)
    people: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    @field_validator("people", "groups")
    @classmethod
    def _platform_ids(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if ":" not in p]
        if bad:
            raise ValueError(f"name people as platform:id, e.g. slack:U024BE7LH (got {bad})")
        return value


def _default_timers() -> dict[Severity, TimerSettings]:
    return {
        severity: TimerSettings(ack_timeout=t.ack_timeout, update_every=t.update_every,
                                approval_reminder=t.approval_reminder)
        for severity, t in DEFAULT_TIMERS.items()
    }


class ScheduleSettings(BaseModel):
    """Escalations, reminders and follow-ups; the three top-level durations, when set, apply to
    every severity (e.g. `CRISISBOT_SCHEDULE__ACK_TIMEOUT=2m`)."""

    tick: Duration = timedelta(seconds=5)
    ack_timeout: OptionalDuration = None
    update_every: OptionalDuration = None
    approval_reminder: OptionalDuration = None
    severity: dict[Severity, TimerSettings] = Field(default_factory=_default_timers)
    escalation: list[EscalationStepSettings] = Field(default_factory=list)
    review_time: time = time(10, 0)
    working_days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]), min_length=1)
    pulse_every: OptionalDuration = timedelta(minutes=15)
    pulse_severities: list[Severity] = Field(
        default_factory=lambda: [Severity.SEV1, Severity.SEV2])
    archive_after: OptionalDuration = None
    """Archive the incident channel this long after resolution (e.g. `7d`); off by default."""

    @field_validator("ack_timeout", "update_every", "approval_reminder", "pulse_every",
                     "archive_after")
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        return positive(value)

    @field_validator("tick")
    @classmethod
    def _tick_positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("the tick must be positive")
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        """A severity table in the TOML overrides only the keys it names."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, Any] = {s.value: t.model_dump() for s, t in _default_timers().items()}
        for key, timers in value.items():
            name = str(key.value if isinstance(key, Severity) else key).upper()
            extra = (timers.model_dump(exclude_unset=True) if isinstance(timers, TimerSettings)
                     else timers)
            merged[name] = {**merged.get(name, {}), **extra} if isinstance(extra, dict) else extra
        return merged

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise ValueError(f"weekdays are {', '.join(WEEKDAYS)} (got {unknown})")
        return days

    @model_validator(mode="after")
    def _overrides(self) -> ScheduleSettings:
        """Apply the global durations to every severity."""
        for name in ("ack_timeout", "update_every", "approval_reminder"):
            value = getattr(self, name)
            if value is not None:
                for timers in self.severity.values():
                    setattr(timers, name, value)
        return self
