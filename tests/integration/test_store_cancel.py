"""A unit cancelled while SQLite commits (its fsync runs in a thread) waits for the commit,
then raises the cancellation: before, the session was closed under the running commit
(SQLAlchemy's IllegalStateChangeError instead of the cancellation, which a worker took for a
failed round and so never stopped) and the write lock was freed while SQLite still wrote."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
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
