"""Each chat's recent sends in the database, so its sending limit holds for every process."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.sending import SendRate, book, settle
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.tables import SendRow


class SqlPacing(SqlRole):
    """The `Pacing` port."""

    async def reserve_send(self, chat: str, now: float, rate: SendRate) -> float:
        """The chat's row is locked for the rest of the unit (`FOR UPDATE` on PostgreSQL,
        the write lock on SQLite), so two processes never book one slot."""
        row = await self._send_row(chat)
        slot, row.sent = book(row.sent, now, rate)
        await self._s.flush()
        return slot

    async def sent(self, chat: str, slot: float, at: float) -> None:
        row = await self._send_row(chat)
        row.sent = settle(row.sent, slot, at)
        await self._s.flush()

    async def _send_row(self, chat: str) -> SendRow:
        """The chat's row, locked (made on its first message)."""
        locked = (select(SendRow).where(SendRow.chat == chat)
                  .with_for_update().execution_options(populate_existing=True))
        row: SendRow | None = (await self._s.scalars(locked)).first()
        if row is None:
            insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
            await self._s.execute(insert(SendRow).values(chat=chat, sent=[])
                                  .on_conflict_do_nothing(index_elements=[SendRow.chat]))
            row = (await self._s.scalars(locked)).one()
        return row
