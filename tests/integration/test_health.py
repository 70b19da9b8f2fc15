"""`/healthz` tells whether the database can take a write, not only whether it answers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from bot.app.web import web_app
from bot.app.wiring import build
from bot.settings import load
from bot.storage.migrate import upgrade
from bot.storage.sql.store import SqlStore, SqlUnit
from tests.serving import serve


async def test_healthz_is_503_with_the_reason_when_the_database_takes_no_write(
        tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    for url, status, database in [
        (f"sqlite+aiosqlite:///{path}", 200, "ok"),
        (f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true", 503,
         "attempt to write a readonly database"),
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
