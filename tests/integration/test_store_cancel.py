"""A unit cancelled while SQLite commits (its fsync runs in a thread) waits for the commit,
then raises the cancellation: before, the session was closed under the running commit
(SQLAlchemy's IllegalStateChangeError instead of the cancellation, which a worker took for a
failed round and so never stopped) and the write lock was freed while SQLite still wrote."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from bot.storage.sql.store import SqlStore
from tests.integration.test_store import make_incident


async def test_a_unit_cancelled_in_its_commit_commits_then_stops(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqlStore(sqlite_url)
    committing = threading.Event()
    commit = Session.commit

    def slow_commit(session: Session) -> None:
        committing.set()
        time.sleep(0.3)
        commit(session)

    monkeypatch.setattr(Session, "commit", slow_commit)

    async def write() -> None:
        async with store.unit() as unit:
            await unit.add_incident(make_incident(1))

    task = asyncio.create_task(write())
    try:
        assert await asyncio.to_thread(committing.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        monkeypatch.setattr(Session, "commit", commit)
        async with store.unit() as unit:
            assert await unit.get_incident(1) is not None
    finally:
        await store.close()


@pytest.mark.postgres
async def test_a_postgres_unit_cancelled_mid_statement_stores_nothing_and_frees_its_connection(
        postgres_url: str) -> None:
    """On PostgreSQL asyncpg runs the unit's transaction (`driver_transaction`): a cancel in
    the middle of a statement must roll it back and raise the cancellation, and the connection
    must not go back to the pool still inside that transaction."""
    store = SqlStore(postgres_url)
    sleeping = asyncio.Event()

    async def write() -> None:
        async with store.unit() as unit:
            await unit.add_incident(make_incident(1))
            sleeping.set()
            await unit.session.execute(text("SELECT pg_sleep(30)"))

    task = asyncio.create_task(write())
    try:
        await asyncio.wait_for(sleeping.wait(), 5)
        await asyncio.sleep(0.2)  # the sleep is running on the server
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for number in (2, 3, 4):  # every pooled connection is usable, none mid-transaction
            async with store.unit() as unit:
                await unit.add_incident(make_incident(number))
        await store.close()
        other = SqlStore(postgres_url)  # what is committed, seen from another connection
        try:
            async with other.unit() as unit:
                assert await unit.get_incident(1) is None
                assert [await unit.get_incident(n) is not None for n in (2, 3, 4)] == [True] * 3
        finally:
            await other.close()
    finally:
        await store.close()
