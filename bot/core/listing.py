"""The incident list every face shows (the web console's `/`, `crisisbot incidents`): open
incidents first, then the most recent, narrowed by status, severity, kind, drills and words of
the title. The store answers it in one query (`Listing`): the list must stay fast with tens of
thousands of incidents, which loading every incident would not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.core.models import CrisisKind, Incident, Severity, Status


class Drills(StrEnum):
    WITH = "with"
    WITHOUT = "without"
    ONLY = "only"


@dataclass(frozen=True)
class Filters:
    status: Status | None = None
    severity: Severity | None = None
    kind: CrisisKind | None = None
    drills: Drills = Drills.WITH
    text: str = ""
    open_only: bool = False
    limit: int = 100

    def matches_title(self, title: str) -> bool:
        """Every word of the search, in any case and any script, is in the title."""
        folded = title.casefold()
        return all(word in folded for word in self.text.casefold().split())


@dataclass(frozen=True)
class Listed:
    incident: Incident
    alerts: int


@dataclass(frozen=True)
class Page:
    listed: list[Listed]
    total: int
    """How many incidents the filters keep (the page shows at most `Filters.limit`)."""


def order(incident: Incident) -> tuple[bool, float, int]:
    """Open first, then newest first."""
    return (not incident.is_open, -incident.created_at.timestamp(), -incident.number)


Listing = Callable[[Filters], Awaitable[Page]]
"""The store's answer to the list (e.g. `storage/console.py`)."""
