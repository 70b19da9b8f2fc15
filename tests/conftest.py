"""Shared fixtures. `store` runs a test once per Store implementation: memory, SQLite (a fresh
migrated file per test: a copy of one migrated once per session) and PostgreSQL (only with
CRISISBOT_TEST_POSTGRES_URL: a throwaway database per test module, emptied before each test)."""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.core.store import Store
from bot.storage.memory import MemoryStore
from bot.storage.migrate import upgrade
from bot.storage.sql.store import SqlStore
from bot.storage.sql.tables import Base

POSTGRES_ENV = "CRISISBOT_TEST_POSTGRES_URL"
T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync fixture code, in a thread of its own so no event
    loop (pytest-asyncio's included) is touched."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _execute(url: str, *statements: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new database, migrated, for this module; dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set")
    name = f"crisisbot_test_{uuid.uuid4().hex[:12]}"
    run_sync(_execute(base, f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        run_sync(upgrade(url))
        yield url
    finally:
        run_sync(_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _empty_postgres(url: str) -> None:
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    run_sync(_execute(url, f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once: running the migrations costs about half a second a test."""
    path = tmp_path_factory.mktemp("migrated") / "crisisbot.db"
    run_sync(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh migrated SQLite file of this test's own (with its WAL, were one left)."""
    for file in migrated_sqlite.parent.iterdir():
        shutil.copyfile(file, tmp_path / file.name)
    return f"sqlite+aiosqlite:///{tmp_path / migrated_sqlite.name}"


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """The database behind `store` (None for the memory store), migrated and empty."""
    if request.param == "memory":
        return None
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
        return url
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
async def store(store_url: str | None) -> AsyncIterator[Store]:
    if store_url is None:
        yield MemoryStore()
        return
    sql = SqlStore(store_url)
    try:
        yield sql
    finally:
        await sql.close()
