"""What use cases read besides the transaction: the team's rules and settings, as the service
holds them when the call begins, and the unit of work for those that need several."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from bot.core.models import CrisisKind
from bot.core.pace import Schedule
from bot.core.playbooks import Playbook, StatementTemplates
from bot.core.rules import Rules
from bot.core.tx import Tx

R = TypeVar("R")


@dataclass(frozen=True)
class Env:
    """The configuration a use case decides by (never changed by one)."""

    rules: Rules = field(default_factory=Rules)
    platform: str = "local"
    """Where an incident declared without naming a platform lives."""
    schedule: Schedule = field(default_factory=Schedule)
    playbooks: Mapping[CrisisKind, Playbook] = field(default_factory=dict)
    templates: StatementTemplates | None = None
    language: str = "en"
    """The team's language, for incidents that have none of their own."""
    publish_to: tuple[str, ...] = ()
    """The configured destinations of statements (empty: publishing is off)."""


class Run(Protocol):
    """One unit of work per call: `work` runs in a transaction that commits when it returns
    (`Service._run`). Use cases that take several transactions (a retried batch, the tick)
    take this."""

    async def __call__(self, work: Callable[[Tx], Awaitable[R]], /) -> R: ...
