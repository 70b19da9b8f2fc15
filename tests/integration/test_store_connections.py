"""Pooled PostgreSQL connections: one the server dropped while it sat idle is replaced before
a unit uses it (the check that replaced `pool_pre_ping`, see `ping_when_idle`), and one in
steady use is not pinged at all."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from bot.storage.sql import engine
from bot.storage.sql.store import SqlStore

pytestmark = pytest.mark.postgres


async def _backend(store: SqlStore) -> int:
    async with store.transaction() as session:
        pid: int = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        return pid


async def test_a_connection_dropped_while_idle_is_replaced(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "IDLE_PING_S", 0.05)
    store, killer = SqlStore(postgres_url), SqlStore(postgres_url)
    try:
        dropped = await _backend(store)
        async with killer.transaction() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
        await asyncio.sleep(0.1)
        assert await _backend(store) != dropped  # no error: the dead one was replaced
    finally:
        await store.close()
        await killer.close()


async def test_a_connection_in_use_is_not_pinged(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SqlStore(postgres_url)
    pings: list[object] = []
    dialect = store._engine.dialect  # the ping is the dialect's
    real_ping = dialect.do_ping
    monkeypatch.setattr(dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    try:
        for _ in range(5):
            await _backend(store)
        assert pings == []
        monkeypatch.setattr(engine, "IDLE_PING_S", 0.05)
        await asyncio.sleep(0.1)
        await _backend(store)
        assert len(pings) == 1
    finally:
        await store.close()
