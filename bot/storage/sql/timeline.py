"""The incidents' timeline in the database: append-only, in `seq` order."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.models import EventKind, TimelineEvent
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.tables import EventRow


class SqlTimeline(SqlRole):
    """The `Timeline` port."""

    async def append(self, event: TimelineEvent) -> None:
        self._s.add(EventRow(incident=event.incident, at=event.at, kind=event.kind.value,
                             actor=event.actor, data=dict(event.data)))
        await self._s.flush()

    async def timeline(self, incident: int) -> list[TimelineEvent]:
        rows = await self._s.scalars(
            select(EventRow).where(EventRow.incident == incident).order_by(EventRow.seq)
        )
        return [TimelineEvent(row.incident, row.at, EventKind(row.kind), row.actor, row.data,
                              seq=row.seq) for row in rows]
