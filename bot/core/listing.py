"""The incident list every face shows (the web console's `/`, `crisisbot incidents`): open
incidents first, then the most recent, narrowed by status, severity, kind, drills and words of
the title."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.core.models import CrisisKind, Incident, Severity, Status
from bot.core.ports import Store


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
    limit: int = 200

    def keeps(self, incident: Incident) -> bool:
        words = self.text.casefold().split()
        title = incident.title.casefold()
        return ((self.status is None or incident.status is self.status)
                and (self.severity is None or incident.severity is self.severity)
                and (self.kind is None or incident.kind is self.kind)
                and (self.drills is not Drills.WITHOUT or not incident.drill)
                and (self.drills is not Drills.ONLY or incident.drill)
                and (not self.open_only or incident.is_open)
                and all(word in title for word in words))


@dataclass(frozen=True)
class Listed:
    incident: Incident
    alerts: int


async def list_incidents(store: Store, filters: Filters) -> list[Listed]:
    """Up to `filters.limit` incidents, open ones first, each group newest first, with the
    number of alerts attached to each."""
    async with store.unit() as unit:
        incidents = [i for i in await unit.incidents(open_only=filters.open_only)
                     if filters.keeps(i)]
        incidents.sort(key=lambda i: (not i.is_open, -i.created_at.timestamp(), -i.number))
        return [Listed(i, len(await unit.alerts(i.number))) for i in incidents[:filters.limit]]
