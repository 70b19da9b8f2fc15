"""The SQL store: SQLAlchemy 2 over SQLite or PostgreSQL, one transaction per unit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, make_url, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.nesting import OpenUnit
from bot.storage.sql.alerts import SqlAlerts, SqlDigests
from bot.storage.sql.deliveries import SqlDeliveries
from bot.storage.sql.drafts import SqlDrafts
from bot.storage.sql.engine import (
    DEFAULT_URL,
    PING_TIMEOUT_S,
    Blocking,
    UnitSession,
    driver_transaction,
    postgres_engine,
    sqlite_engine,
    write_lock,
)
from bot.storage.sql.inbound import SqlInboundJobs, SqlSeenEvents
from bot.storage.sql.incidents import SqlIncidents
from bot.storage.sql.mentions import SqlMentions
from bot.storage.sql.outbox import SqlOutbox
from bot.storage.sql.pacing import SqlPacing
from bot.storage.sql.people import SqlPeople
from bot.storage.sql.publications import SqlPublications
from bot.storage.sql.questions import SqlQuestions
from bot.storage.sql.tasks import SqlTasks
from bot.storage.sql.timeline import SqlTimeline

log = logging.getLogger(__name__)


class SqlUnit(SqlIncidents, SqlDrafts, SqlTimeline, SqlAlerts, SqlDigests, SqlDeliveries,
              SqlMentions, SqlOutbox, SqlPacing, SqlInboundJobs, SqlSeenEvents, SqlQuestions,
              SqlPeople, SqlTasks, SqlPublications):
    """One session in one transaction, offering every role (`bot.core.store.Unit`)."""

    @property
    def session(self) -> UnitSession:
        """For the store's sibling repositories (e.g. `storage/console.py`), in this unit."""
        return self._s


def failure_reason(error: BaseException) -> str:
    """A database error in one line: the driver's own first line, or (an exception without
    words, `OSError()`) its kind."""
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


class SqlStore:
    """The durable Store: one engine per instance, one session and transaction per unit.

    PostgreSQL goes through asyncpg. SQLite is reached with the standard `sqlite3` driver on
    the calling (event loop) thread, one unit at a time (see `Blocking`): a unit holds the
    write lock for well under a millisecond per statement, and the loop never waits on a
    thread hop. Only the commit, where SQLite waits for the disk (`fsync`, several
    milliseconds), goes to a worker thread while the unit still holds the lock: the loop goes
    on parsing and answering other requests meanwhile (sixteen Telegram commands at once each
    waited for all the others' commits before; see docs/benchmarks.md). A unit opened inside
    another on the same task joins it as a savepoint (`bot.storage.nesting`); the memory store
    does the same."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        parsed = make_url(url)
        self._dialect = parsed.get_backend_name()
        if self._dialect not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {self._dialect!r}: use SQLite or PostgreSQL")
        self._lock = asyncio.Lock()
        self._open: OpenUnit[UnitSession] = OpenUnit()
        self._sqlite: Engine | None = None
        self._blocking: sessionmaker[Session] | None = None
        if self._dialect == "sqlite":
            self._sqlite = sqlite_engine(parsed)
            self._blocking = sessionmaker(self._sqlite, expire_on_commit=False)
            return
        self._engine: AsyncEngine = postgres_engine(url)

    @property
    def dialect(self) -> str:
        return self._dialect

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnit]:
        async with self.transaction() as session:
            yield SqlUnit(session, self._dialect)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[UnitSession]:
        """A session in a transaction that commits when the block exits cleanly."""
        outer = self._open.current()
        if outer is not None:  # joins it, as a savepoint (see `bot.storage.nesting`)
            async with outer.begin_nested():
                yield outer
            return
        if self._blocking is None:
            async with self._engine.connect() as connection, driver_transaction(connection):
                session = AsyncSession(connection, expire_on_commit=False)
                try:
                    with self._open.opened(session):
                        yield session
                    await session.commit()  # flushes; the COMMIT is the driver's
                finally:
                    await session.close()
            return
        async with self._lock:
            with self._blocking() as blocking:  # closing it rolls back what did not commit
                await write_lock(blocking)
                with self._open.opened(wrapped := Blocking(blocking)):
                    yield wrapped
                # The fsync, off the loop. A cancellation waits for it: closing the session
                # under a commit still running in its thread would fail, and free the lock
                # while SQLite still writes. (A plain executor future: wrapping the commit in
                # a task cost a tenth of the intake's throughput, see docs/benchmarks.md.)
                commit = asyncio.get_running_loop().run_in_executor(None, blocking.commit)
                try:
                    await asyncio.shield(commit)
                except asyncio.CancelledError:
                    await commit
                    raise

    async def ping(self) -> bool:
        """For /healthz: can we run a query right now? Bounded, so a black-holed database
        server makes the check fail instead of hanging it."""
        try:
            if self._blocking is not None:
                with self._blocking() as session:
                    session.execute(select(1))
                return True
            async with asyncio.timeout(PING_TIMEOUT_S), self._engine.connect() as connection:
                await connection.execute(select(1))
        except (SQLAlchemyError, OSError) as error:
            log.warning("database ping failed: %s: %s", type(error).__name__, error)
            return False
        return True

    async def writable(self) -> str | None:
        """For /healthz and `serve`'s start: can the database take a write right now? A tiny
        upsert, committed (a full disk or a read-only file shows only when something is
        written), bounded in time. None when it can; otherwise why not, in one line (which
        may name the database's user, host or file: for the log and the operator only)."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_S), self.unit() as unit:
                await unit.probe_write(datetime.now(UTC))
        except (SQLAlchemyError, OSError) as error:
            reason = failure_reason(error)
        except TimeoutError:
            reason = f"no write within {PING_TIMEOUT_S:.0f} s"
        else:
            return None
        log.warning("database write probe failed: %s", reason)
        return reason

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.dispose()
            return
        await self._engine.dispose()
