"""`/healthz` tells whether the database can take a write, not only whether it answers, and
never how the database is reached (its user, host, file): that goes to the log."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from bot.app.web import web_app
from bot.app.wiring import build
from bot.settings import load
from bot.storage.migrate import upgrade
from bot.storage.sql.store import SqlStore, SqlUnit
from tests.conftest import POSTGRES_ENV
from tests.serving import free_port, serve


async def test_healthz_is_503_when_the_database_takes_no_write(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "h.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    for url, status, database in [
        (f"sqlite+aiosqlite:///{path}", 200, "ok"),
        (f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true", 503, "unavailable"),
    ]:
        bot = await build(load(database_url=url))
        serving = await serve(web_app(bot), lifespan="off")
        try:
            async with httpx.AsyncClient(base_url=serving.url) as http:
                answer = await http.get("/healthz")
        finally:
            await serving.stop()
            await bot.close()
        assert answer.status_code == status
        assert answer.json()["database"] == database
    assert "attempt to write a readonly database" in caplog.text  # the operator's why


async def test_healthz_names_no_user_host_or_database_of_a_failing_one(
        sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """A database that went away (nothing listens on its port) and, with the suite's
    PostgreSQL, one that refuses the user: the driver's words name the user, host, port or
    database; the public /healthz says only "unavailable", the log says why."""
    port = free_port()
    gone = f"postgresql+asyncpg://crisis_operator:pw@127.0.0.1:{port}/crisis_ops"
    failing = {gone: [str(port), "127.0.0.1", "crisis_operator", "crisis_ops"]}
    base = os.environ.get(POSTGRES_ENV)
    if base:
        stranger = make_url(base).set(username="crisis_stranger", password="pw")
        failing[stranger.render_as_string(hide_password=False)] = ["crisis_stranger"]
    bot = await build(load(database_url=sqlite_url))
    try:
        for url, details in failing.items():
            caplog.clear()
            store = SqlStore(url)
            serving = await serve(web_app(dataclasses.replace(bot, store=store)),
                                  lifespan="off")
            try:
                async with httpx.AsyncClient(base_url=serving.url) as http:
                    with caplog.at_level(logging.WARNING, "bot.storage.sql.store"):
                        answer = await http.get("/healthz")
            finally:
                await serving.stop()
                await store.close()
            assert answer.status_code == 503
            assert answer.json() == {"status": "degraded", "database": "unavailable"}
            assert not [d for d in details if d in answer.text]
            assert "database write probe failed" in caplog.text
            assert details[0] in caplog.text  # the operator still learns why
    finally:
        await bot.close()


async def test_a_failed_write_probe_without_words_still_says_why(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error whose text is empty (`OSError()`) is named by its kind, not an IndexError that
    would answer /healthz 500 and print a traceback from `serve`."""
    store = SqlStore(sqlite_url)

    async def refuse(_unit: SqlUnit, _at: datetime) -> None:
        raise OSError()

    monkeypatch.setattr(SqlUnit, "probe_write", refuse)
    try:
        assert await store.writable() == "OSError"
    finally:
        await store.close()


async def test_a_crowd_of_health_checks_costs_one_write_probe_a_second(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`/healthz` is public and each probe is a committed write: thirty checks at once share
    one probe, and another comes only once the last is a second old (`Fresh`)."""
    probes: list[datetime] = []
    probe = SqlUnit.probe_write

    async def counted(unit: SqlUnit, at: datetime) -> None:
        probes.append(at)
        await probe(unit, at)

    monkeypatch.setattr(SqlUnit, "probe_write", counted)
    bot = await build(load(database_url=sqlite_url))
    serving = await serve(web_app(bot), lifespan="off")
    try:
        async with httpx.AsyncClient(base_url=serving.url) as http:
            answers = await asyncio.gather(*(http.get("/healthz") for _ in range(30)))
            assert {a.status_code for a in answers} == {200}
            assert len(probes) == 1
            await asyncio.sleep(1.05)
            assert (await http.get("/healthz")).status_code == 200
            assert len(probes) == 2
    finally:
        await serving.stop()
        await bot.close()
