"""Leadership for the scheduler on PostgreSQL: a session advisory lock on a dedicated connection.

The lock lives exactly as long as the connection, so a crashed leader frees it without any
timeout bookkeeping; a follower just tries again on its next tick.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCK_KEY = 0x63726973  # "cris": one key per database is enough, the database is the cluster


class AdvisoryLock:
    def __init__(self, url: str, key: int = LOCK_KEY) -> None:
        self._engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._key = key
        self._connection: AsyncConnection | None = None
        self._held = False

    async def acquire(self) -> bool:
        try:
            if self._connection is None:
                self._connection = await self._engine.connect()
            if self._held:
                await self._connection.execute(text("SELECT 1"))  # still ours while alive
            else:
                result = await self._connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
                self._held = bool(result.scalar())
        except SQLAlchemyError:
            log.warning("leader lock connection lost; will retry", exc_info=True)
            await self._drop()
            return False
        return self._held

    async def release(self) -> None:
        await self._drop()
        await self._engine.dispose()

    async def _drop(self) -> None:
        connection, self._connection, self._held = self._connection, None, False
        if connection is not None:
            try:
                await connection.close()  # closing the session releases the lock
            except SQLAlchemyError:
                log.debug("closing a broken leader connection", exc_info=True)
