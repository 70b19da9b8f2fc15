"""Leadership for the scheduler on PostgreSQL: a session advisory lock on a dedicated connection.

The lock lives exactly as long as the connection, so a crashed leader frees it without any
timeout bookkeeping; a follower just tries again on its next tick.

How fast another replica takes over (the failover time, see docs/deployment.md):
- the leader process dies (SIGKILL, OOM, crash): its kernel closes the connection, PostgreSQL
  ends the session and frees the lock at once; a follower takes it on its next tick, so within
  one `schedule.tick` (5 s by default);
- the leader's host or network goes away: nothing closes the connection, so the session asks
  for TCP keepalives (`KEEPALIVE`): the server drops it after about 10 + 3 x 5 = 25 s, then
  the next tick of a follower takes over.

The leader's session is named (`application_name`) after its host and process, so
`SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'crisisbot leader%'`
says who leads.
"""

from __future__ import annotations

import logging
import os
import socket

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCK_KEY = 0x63726973  # "cris": one key per database is enough, the database is the cluster
LEADER_NAME = "crisisbot leader"
KEEPALIVE = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5",
             "tcp_keepalives_count": "3"}
"""Seconds: idle before the first probe, between probes, probes lost before the server gives
up on a leader it can no longer reach (ignored on a Unix socket, where death is seen at once)."""


def leader_name() -> str:
    return f"{LEADER_NAME} {socket.gethostname()} pid {os.getpid()}"


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
                for name, value in KEEPALIVE.items():
                    await self._connection.execute(
                        text("SELECT set_config(:name, :value, false)"),
                        {"name": name, "value": value})
            if self._held:
                await self._connection.execute(text("SELECT 1"))  # still ours while alive
            else:
                result = await self._connection.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key})
                self._held = bool(result.scalar())
                if self._held:
                    log.info("this process now leads the scheduler")
                    await self._connection.execute(
                        text("SELECT set_config('application_name', :name, false)"),
                        {"name": leader_name()})
        except (SQLAlchemyError, OSError):  # OSError: connecting to a database that is down
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
