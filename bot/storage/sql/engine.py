"""The database connections: SQLite driven from the event loop's own thread, PostgreSQL through
asyncpg with idle connections pinged, and the session a unit runs its statements on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from time import monotonic
from typing import TYPE_CHECKING, Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Engine,
    TextClause,
    create_engine,
    event,
    select,
    update,
)
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

from bot.storage.sql.codec import JSON_CODEC

if TYPE_CHECKING:
    from bot.storage.sql.tables import InboundJobRow, NoticeRow

    Leased = type[NoticeRow] | type[InboundJobRow]

DEFAULT_URL = "sqlite+aiosqlite:///./crisisbot.db"
BUSY_TIMEOUT_MS = 10
"""SQLite's own wait for a lock, which blocks the calling thread (here the event loop): kept
short. Waiting for another process's write lock happens in `write_lock`, on the loop."""
LOCK_WAIT_S = 5.0
"""How long a unit waits for another process's write lock (a CLI command next to `serve`, say)
before it fails."""
PING_TIMEOUT_S = 5.0
IDLE_PING_S = 1.0
"""A pooled PostgreSQL connection idle this long is pinged before use (see `ping_when_idle`)."""
IDLE_SINCE = "crisisbot_idle_since"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work beside the writer; SQLite leaves foreign keys off unless asked.
    The driver's own transaction handling is switched off so `_sqlite_begin` can take over."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Take the write lock when a unit starts: units run one at a time (see `write_lock`) and
    read-then-write never fails on, or overwrites, a snapshot gone stale."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


async def write_lock(session: Session) -> None:
    """Begin the unit (`BEGIN IMMEDIATE`, see `_sqlite_begin`), waiting in short sleeps while
    another process holds SQLite's write lock, so the event loop goes on serving meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_S
    pause = 0.002
    while True:
        try:
            session.connection()
            return
        except OperationalError as error:
            if "locked" not in str(error).lower() or loop.time() > deadline:
                raise
            session.rollback()
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


class Blocking:
    """The part of `AsyncSession` that `SqlUnit` uses, over a plain `Session` on SQLite.

    SQLite answers in microseconds from the calling thread, while every statement through an
    async driver costs several hops to a worker thread and back through a busy event loop (in
    an alert storm most of a commit's time went to those hops). So on SQLite a unit runs its
    statements on the loop's own thread, one unit at a time (`SqlStore` holds a lock)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, row: Any) -> None:
        self._s.add(row)

    async def flush(self) -> None:
        self._s.flush()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.scalar(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.scalars(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.get(*args, **kwargs)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        with self._s.begin_nested():
            yield


def ping_when_idle(engine: AsyncEngine) -> None:
    """A server can drop idle connections (a local file cannot), so a connection that sat in
    the pool for `IDLE_PING_S` is pinged on checkout and replaced if dead. One used a moment
    ago is not: a ping is three round trips (SQLAlchemy's `pool_pre_ping` on asyncpg), as
    many as the rest of an alert batch's reads, and in a storm connections never sit idle."""

    def checkin(_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[IDLE_SINCE] = monotonic()

    def checkout(connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(IDLE_SINCE)
        if idle_since is None or monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            alive = engine.dialect.do_ping(connection)
        except Exception as error:  # whatever the driver raises for a dead connection
            raise DisconnectionError(str(error)) from error
        if not alive:
            raise DisconnectionError("ping failed")

    pool = engine.sync_engine.pool
    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def sqlite_engine(url: URL) -> Engine:
    """The standard library's driver whatever the URL names (`sqlite+aiosqlite://` is the
    documented form)."""
    engine = create_engine(url.set(drivername="sqlite+pysqlite"), **JSON_CODEC)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


POOL_SIZE = 10
"""PostgreSQL connections kept open. `serve` runs the intake's transactions (`INTAKE_WORKERS`),
the outbox, the inbound jobs, the scheduler and the console's requests at once; a unit beyond
the pool opens a connection and closes it after (a new server process each time), so the
pool holds what a busy moment needs rather than SQLAlchemy's default of five."""


def postgres_engine(url: str) -> AsyncEngine:
    """asyncpg, its idle connections pinged before use (see `ping_when_idle`).

    PostgreSQL connections plan each statement for its arguments (`force_custom_plan`): the
    intake's statements are prepared once per connection (see `PG_LOOK_UP_BATCH`), and a plan
    cached while a table was small (a fresh database's first storm) would scan it whole as it
    grows: 673 full scans of `alerts`, 3.3 million rows read, in one 10,000-alert storm."""
    engine = create_async_engine(
        url, connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
        isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, **JSON_CODEC)
    ping_when_idle(engine)
    return engine


@asynccontextmanager
async def driver_transaction(connection: AsyncConnection) -> AsyncIterator[None]:
    """A unit's transaction on PostgreSQL, begun and ended by asyncpg itself.

    The engine leaves transactions to us (`AUTOCOMMIT` at SQLAlchemy's level), so every
    statement of the unit, the ORM's and the driver's own (see `SqlRole._driver`), runs in
    this one transaction. Through SQLAlchemy, `BEGIN` and `COMMIT` each cost about a fifth of
    a millisecond of the event loop's time; an alert storm commits hundreds of times a
    second. A connection whose transaction could not be ended (a cancellation in the middle
    of a statement) is discarded rather than given back to the pool still inside it."""
    driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
    transaction = driver.transaction()
    await transaction.start()
    try:
        yield
    except BaseException:
        # What failed is what the caller hears, not a rollback that could not run either.
        with contextlib.suppress(Exception):
            await transaction.rollback()
        raise
    else:
        await transaction.commit()
    finally:
        if driver.is_closed() or driver.is_in_transaction():
            await connection.invalidate()


UnitSession = AsyncSession | Blocking
"""A unit's session: asyncpg's on PostgreSQL, the loop-thread one on SQLite."""


class SqlRole:
    """What each role of the SQL unit shares: the unit's session, in its transaction, and the
    dialect. Every write is flushed at once, so a broken constraint raises at the call that
    broke it (as the memory store's checks do), not at commit."""

    def __init__(self, session: UnitSession, dialect: str) -> None:
        self._s = session
        self._dialect = dialect
        self._driver_connection: asyncpg.Connection | None = None

    async def _driver(self) -> asyncpg.Connection | None:
        """On PostgreSQL, the unit's asyncpg connection, inside the unit's transaction (see
        `driver_transaction`); None on SQLite. The alert intake's batch statements run on it
        directly: through the ORM session each cost the event loop about 0.2 ms more than
        the statement itself, and a storm runs hundreds a second."""
        if not isinstance(self._s, AsyncSession):
            return None
        if self._driver_connection is None:
            connection = await self._s.connection()
            self._driver_connection = (await connection.get_raw_connection()).driver_connection
        return self._driver_connection

    async def _lease_holders(self, table: Leased, pending: ColumnElement[bool],
                             now: datetime) -> list[str]:
        """Who holds a live lease on a pending row of `table` (the outbox's notices, the
        inbound jobs: both lease rows the same way)."""
        holders = await self._s.scalars(
            select(table.claimed_by).distinct()
            .where(pending, table.next_attempt_at > now, table.claimed_by.is_not(None))
        )
        return [holder for holder in holders if holder is not None]

    async def _free_leases(self, table: Leased, pending: ColumnElement[bool],
                           holders: Sequence[str]) -> int:
        """Give back at once the pending rows of `table` that `holders` (gone) had leased."""
        if not holders:
            return 0
        freed = await self._s.execute(
            update(table).where(table.claimed_by.in_(list(holders)), pending)
            .values(next_attempt_at=None, claimed_by=None)
        )
        return int(getattr(freed, "rowcount", 0) or 0)


class DriverStatement:
    """A `text()` statement compiled once for asyncpg (`$n` placeholders), run on a unit's
    driver connection with its parameters by name."""

    def __init__(self, statement: TextClause) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect())  # type: ignore[no-untyped-call]
        self._sql = compiled.string
        self._names = compiled.positiontup or []

    async def fetch(self, driver: asyncpg.Connection,
                    parameters: Mapping[str, Any]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await driver.fetch(
            self._sql, *(parameters[name] for name in self._names))
        return rows
