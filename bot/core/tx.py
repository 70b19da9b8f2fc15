"""A unit of work with the helpers every use case needs: stamp time and actor on what it
records, queue chat notices, and load what a command names or refuse clearly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.errors import NotFound
from bot.core.models import (
    Draft,
    DraftState,
    EventKind,
    Incident,
    Notice,
    NoticeKind,
    PersonId,
    TimelineEvent,
    public_id,
)
from bot.core.store import Unit
from bot.core.text import Text, _


@dataclass
class Tx:
    """A unit of work plus helpers that stamp time and actor on what it records."""

    unit: Unit
    now: Any
    queued: list[Notice] = field(default_factory=list)

    async def record(self, incident: int, kind: EventKind, actor: PersonId | None, /,
                     **data: Any) -> None:
        await self.unit.append(TimelineEvent(incident, self.now, kind, actor, data))

    async def notify(self, incident: int | None, kind: NoticeKind, /, **fields: Any) -> None:
        notice = Notice(incident, kind, self.now, **fields)
        await self.unit.enqueue(notice)
        self.queued.append(notice)

    async def say(self, incident: int, text: Text, /, **fields: Any) -> None:
        await self.notify(incident, NoticeKind.MESSAGE, text=text, **fields)

    async def incident(self, number: int) -> Incident:
        found = await self.unit.get_incident(number)
        if found is None:
            raise NotFound(_("There is no incident {incident}.", incident=public_id(number)))
        return found

    async def draft(self, incident: Incident, number: int | None) -> Draft:
        drafts = await self.unit.drafts(incident.number)
        if number is None:
            pending = [d for d in drafts if d.state is DraftState.PENDING]
            if not pending:
                raise NotFound(
                    _("{incident} has no draft waiting for a decision.",
                      incident=incident.public_id)
                )
            return pending[-1]
        found = next((d for d in drafts if d.number == number), None)
        if found is None:
            raise NotFound(
                _("{incident} has no draft #{number}.", incident=incident.public_id,
                  number=number)
            )
        return found

