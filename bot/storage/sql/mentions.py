"""Per-minute mention counts in the database, summed on write."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.models import MentionMinute
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.tables import MentionMinuteRow


class SqlMentions(SqlRole):
    """The `Mentions` port."""

    async def add_mentions(self, minutes: Sequence[MentionMinute]) -> None:
        """Upsert that sums into existing minutes (both dialects speak ON CONFLICT)."""
        if not minutes:
            return
        rows = [{"topic": m.topic, "minute": m.minute, "mentions": m.mentions,
                 "negative": m.negative, "reach": m.reach}
                for m in sorted(minutes, key=lambda m: (m.topic, m.minute))]  # one lock order
        upsert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = upsert(MentionMinuteRow).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[MentionMinuteRow.topic, MentionMinuteRow.minute],
            set_={
                "mentions": MentionMinuteRow.mentions + stmt.excluded.mentions,
                "negative": MentionMinuteRow.negative + stmt.excluded.negative,
                "reach": MentionMinuteRow.reach + stmt.excluded.reach,
            },
        )
        await self._s.execute(stmt)

    async def mentions(self, topic: str, since: datetime) -> list[MentionMinute]:
        rows = await self._s.scalars(
            select(MentionMinuteRow)
            .where(MentionMinuteRow.topic == topic, MentionMinuteRow.minute >= since)
            .order_by(MentionMinuteRow.minute)
        )
        return [MentionMinute(r.topic, r.minute, r.mentions, r.negative, r.reach) for r in rows]
