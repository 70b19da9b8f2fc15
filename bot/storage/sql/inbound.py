"""Inbound work in the database: jobs stored before the platform is answered, event ids
already seen, and the clean-up of what is only kept for a while."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.models import InboundJob
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.tables import InboundJobRow, QuestionRow, SeenEventRow

HEALTH_PROBE_KEY = "crisisbot:health-probe"


class SqlInboundJobs(SqlRole):
    """The `InboundJobs` port."""

    async def add_inbound(self, job: InboundJob) -> None:
        row = InboundJobRow(platform=job.platform, kind=job.kind, payload=job.payload,
                            received_at=job.received_at, attempts=0)
        self._s.add(row)
        await self._s.flush()
        job.id = row.id

    async def claim_inbound(self, now: datetime, lease_until: datetime,
                            limit: int, holder: str | None = None) -> list[InboundJob]:
        stmt = (select(InboundJobRow)
                .where(InboundJobRow.done_at.is_(None),
                       or_(InboundJobRow.next_attempt_at.is_(None),
                           InboundJobRow.next_attempt_at <= now))
                .order_by(InboundJobRow.id).limit(limit))
        if self._dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await self._s.scalars(stmt))
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = lease_until
            row.claimed_by = holder
        await self._s.flush()
        return [InboundJob(row.platform, row.kind, row.payload, row.received_at, row.id,
                           row.attempts) for row in rows]

    async def inbound_holders(self, now: datetime) -> list[str]:
        return await self._lease_holders(InboundJobRow, InboundJobRow.done_at.is_(None), now)

    async def free_inbound(self, holders: Sequence[str]) -> int:
        return await self._free_leases(InboundJobRow, InboundJobRow.done_at.is_(None), holders)

    async def inbound_done(self, job_id: int, at: datetime, result: str | None = None) -> None:
        await self._s.execute(update(InboundJobRow).where(InboundJobRow.id == job_id)
                              .values(done_at=at, result=result[:255] if result else None,
                                      claimed_by=None))

    async def inbound_retry(self, job_id: int, at: datetime, result: str) -> None:
        await self._s.execute(update(InboundJobRow).where(InboundJobRow.id == job_id)
                              .values(next_attempt_at=at, result=result[:255], claimed_by=None))


class SqlSeenEvents(SqlRole):
    """The `SeenEvents` port, and the health probe's write (a seen-event row of its own)."""

    async def first_sight(self, key: str, at: datetime) -> bool:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(SeenEventRow).values(key=key[:255], seen_at=at)
        stmt = stmt.on_conflict_do_nothing(index_elements=[SeenEventRow.key])
        added = await self._s.execute(stmt.returning(SeenEventRow.key))
        return added.first() is not None

    async def forget(self, before: datetime) -> int:
        forgotten = 0
        for stmt in (delete(SeenEventRow).where(SeenEventRow.seen_at < before),
                     delete(QuestionRow).where(QuestionRow.asked_at < before),
                     delete(InboundJobRow).where(InboundJobRow.done_at < before)):
            forgotten += int(getattr(await self._s.execute(stmt), "rowcount", 0))
        return forgotten

    async def probe_write(self, at: datetime) -> None:
        """Rewrite one row (the health probe's): proof that a write commits."""
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(SeenEventRow).values(key=HEALTH_PROBE_KEY, seen_at=at)
        await self._s.execute(stmt.on_conflict_do_update(index_elements=[SeenEventRow.key],
                                                         set_={"seen_at": at}))
