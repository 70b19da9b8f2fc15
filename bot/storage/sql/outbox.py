"""The outbox in the database: notices claimed under a lease, in order per queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import aliased

from bot.core.models import Notice
from bot.storage.sql.codec import encode_text
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.mappers import answer_json, to_notice
from bot.storage.sql.tables import NoticeRow


class SqlOutbox(SqlRole):
    """The `Outbox` port."""

    async def enqueue(self, notice: Notice) -> None:
        row = NoticeRow(
            incident=notice.incident, kind=notice.kind.value, created_at=notice.created_at,
            text=encode_text(notice.text) if notice.text is not None else None,
            person=notice.person, draft=notice.draft, version=notice.version,
            thread_of_draft=notice.thread_of_draft, message=notice.message,
            queue=notice.queue, priority=notice.priority,
            answer=answer_json(notice.answer) if notice.answer is not None else None,
            destination=notice.destination, publication=notice.publication,
        )
        self._s.add(row)
        await self._s.flush()
        notice.id = row.id

    async def pending_notices(self, limit: int) -> list[Notice]:
        rows = await self._s.scalars(
            select(NoticeRow).where(NoticeRow.delivered_at.is_(None))
            .order_by(NoticeRow.id).limit(limit)
        )
        return [to_notice(row) for row in rows]

    async def notice_done(self, notice_id: int, result: str | None = None) -> None:
        """Idempotent: the first delivery time and result are kept."""
        await self._s.execute(
            update(NoticeRow)
            .where(NoticeRow.id == notice_id, NoticeRow.delivered_at.is_(None))
            .values(delivered_at=datetime.now(UTC), next_attempt_at=None,
                    result=result[:255] if result else None)
        )

    async def claim_notices(self, now: datetime, lease_until: datetime,
                            limit: int, holder: str | None = None) -> list[Notice]:
        """Urgent ones (answers) first, passing over queues held by an older notice (leased
        or waiting for its retry), so a long queue being delivered elsewhere hides no other.
        `FOR UPDATE SKIP LOCKED` on PostgreSQL: a concurrent claimer passes over rows being
        claimed here (and then sees them as older undelivered rows that hold their queue back);
        SQLite's write lock serializes claims anyway."""
        older = aliased(NoticeRow)
        held = (select(older.id)
                .where(older.queue == NoticeRow.queue, older.delivered_at.is_(None),
                       older.id < NoticeRow.id, older.next_attempt_at > now)
                .exists())
        stmt = (select(NoticeRow)
                .where(NoticeRow.delivered_at.is_(None),
                       or_(NoticeRow.next_attempt_at.is_(None),
                           NoticeRow.next_attempt_at <= now),
                       ~held)
                .order_by(NoticeRow.priority, NoticeRow.id).limit(limit))
        if self._dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await self._s.scalars(stmt))
        if not rows:
            return []
        taken = [row.id for row in rows]
        blockers = await self._s.execute(
            select(NoticeRow.queue, func.min(NoticeRow.id))
            .where(NoticeRow.delivered_at.is_(None),
                   NoticeRow.queue.in_({row.queue for row in rows}),
                   NoticeRow.id.not_in(taken))
            .group_by(NoticeRow.queue)
        )
        first_held: dict[str, int] = {queue: first for queue, first in blockers.all()}
        kept = [row for row in rows if row.id < first_held.get(row.queue, row.id + 1)]
        for row in kept:
            row.attempts += 1
            row.next_attempt_at = lease_until
            row.claimed_by = holder
        await self._s.flush()
        return [to_notice(row) for row in kept]

    async def notice_holders(self, now: datetime) -> list[str]:
        return await self._lease_holders(NoticeRow, NoticeRow.delivered_at.is_(None), now)

    async def free_claims(self, holders: Sequence[str]) -> int:
        return await self._free_leases(NoticeRow, NoticeRow.delivered_at.is_(None), holders)

    async def notice_retry(self, notice_id: int, at: datetime, result: str) -> None:
        await self._s.execute(
            update(NoticeRow).where(NoticeRow.id == notice_id)
            .values(next_attempt_at=at, result=result[:255], claimed_by=None)
        )

    async def release_notices(self, notice_ids: Sequence[int]) -> None:
        if notice_ids:
            await self._s.execute(
                update(NoticeRow)
                .where(NoticeRow.id.in_(list(notice_ids)), NoticeRow.delivered_at.is_(None))
                .values(next_attempt_at=None, attempts=NoticeRow.attempts - 1,
                        claimed_by=None)
            )

    async def extend_notices(self, notice_ids: Sequence[int], lease_until: datetime) -> None:
        if notice_ids:
            await self._s.execute(
                update(NoticeRow)
                .where(NoticeRow.id.in_(list(notice_ids)), NoticeRow.delivered_at.is_(None))
                .values(next_attempt_at=lease_until)
            )
