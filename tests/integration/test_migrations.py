"""The migrations build exactly the schema the models describe, from any cwd and any loop."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.storage.migrate import alembic_config, upgrade
from bot.storage.sql.tables import Base


async def _diff_and_tables(url: str) -> tuple[list[object], set[str]]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(lambda sync: (
                compare_metadata(MigrationContext.configure(sync), Base.metadata),
                set(inspect(sync).get_table_names()),
            ))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def migrated_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def test_models_and_migrations_agree(migrated_url: str) -> None:
    diff, tables = await _diff_and_tables(migrated_url)
    assert diff == []
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


async def test_upgrade_runs_inside_a_loop_from_any_cwd_and_is_idempotent(
        tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    await upgrade(url)
    await upgrade(url)
    diff, _ = await _diff_and_tables(url)
    assert diff == []


async def test_downgrade_to_base_and_back(sqlite_url: str) -> None:
    await asyncio.to_thread(command.downgrade, alembic_config(sqlite_url), "base")
    _, tables = await _diff_and_tables(sqlite_url)
    assert tables == {"alembic_version"}
    await upgrade(sqlite_url)
    diff, _ = await _diff_and_tables(sqlite_url)
    assert diff == []


@pytest.mark.postgres
async def test_replicas_starting_together_migrate_one_at_a_time(postgres_url: str) -> None:
    """Two processes run `crisisbot db upgrade` at once on a database with no schema (as
    replicas starting together do): every one succeeds, the schema is built once."""
    engine = create_async_engine(postgres_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    env = {**os.environ, "CRISISBOT_DATABASE_URL": postgres_url}
    env.pop("CRISISBOT_CONFIG", None)
    runs = [await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "db", "upgrade", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE) for _ in range(2)]
    errors = [(await run.communicate())[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    diff, _tables = await _diff_and_tables(postgres_url)
    assert diff == []
