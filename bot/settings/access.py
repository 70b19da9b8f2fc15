"""Who decides: approval policies per severity, who gives roles, and the people whose ids on
several platforms are one person."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from bot.core.models import Severity
from bot.core.rules import COMMANDER, DEFAULT_POLICIES


class ApprovalStepSettings(BaseModel):
    roles: list[str] = Field(min_length=1)
    count: int = Field(ge=1, le=20)


def default_approval() -> dict[Severity, list[ApprovalStepSettings]]:
    return {
        severity: [ApprovalStepSettings(roles=sorted(s.roles), count=s.count) for s in steps]
        for severity, steps in DEFAULT_POLICIES.items()
    }


class AccessSettings(BaseModel):
    """Who may do what beyond the fixed table (README, "Who may do what"): the roles whose
    holders give and take back roles (`CRISISBOT_ACCESS__ASSIGN_ROLES='["commander"]'`)."""

    assign_roles: list[str] = Field(default_factory=lambda: [COMMANDER], min_length=1)

    @field_validator("assign_roles")
    @classmethod
    def _lowercase(cls, value: list[str]) -> list[str]:
        return [role.strip().lower() for role in value]


class PersonSettings(BaseModel):
    """One human and their ids on each platform (`[[people]]` in the TOML file); the first id
    is the one under which they hold roles and decide."""

    name: str
    ids: list[str] = Field(min_length=1)

    @field_validator("ids")
    @classmethod
    def _platform_ids(cls, value: list[str]) -> list[str]:
        bad = [p for p in value if ":" not in p or not p.split(":", 1)[1]]
        if bad:
            raise ValueError(f"name ids as platform:id, e.g. telegram:93372553 (got {bad})")
        return value
