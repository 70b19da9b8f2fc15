"""A real `serve` app on a loopback port, in a thread with its own event loop, on a fresh
SQLite file; tests talk to it over HTTP and read the database and the local chat directly."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app.web import web_app
from bot.app.wiring import Bot, build
from bot.settings import load
from tests import serving

SECRET = "test-secret-0123456789"


@dataclass
class Running:
    url: str
    db: Path
    bot: Bot
    client: httpx.Client

    def channels(self) -> list[str]:
        """The local chat's incident channels, read from the database it keeps them in."""
        with sqlite3.connect(self.db) as conn:
            return [name for (name,) in conn.execute(
                "select name from chat_spaces where not direct order by opened_at")]

    def texts(self, channel: str | None = None) -> list[str]:
        """What the bot posted (in `channel`, or in every channel), oldest first."""
        with sqlite3.connect(self.db) as conn:
            return [text for (text,) in conn.execute(
                "select m.text from chat_messages m join chat_spaces s on s.name = m.space "
                "where not s.direct and (? is null or m.space = ?) order by m.id",
                (channel, channel))]

    def count(self, sql: str) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute(sql).fetchone()[0])

    def post(self, source: str, body: Any = None, *, content: bytes | None = None,
             headers: dict[str, str] | None = None, bearer: str | None = SECRET,
             params: dict[str, str] | None = None) -> httpx.Response:
        sent = {"authorization": f"Bearer {bearer}"} if bearer else {}
        sent |= headers or {}
        if content is None:
            return self.client.post(f"/alerts/{source}", json=body, headers=sent, params=params)
        return self.client.post(f"/alerts/{source}", content=content, headers=sent,
                                params=params)


def start(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> dict[str, Any]:
    """Start a server (on a fresh SQLite file, or on `database_url`); return its `running`
    view and its `stop`."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    db = tmp_path / "alerts.db"
    settings = load(database_url=database_url or f"sqlite+aiosqlite:///{db}", **overrides)
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        bot = await build(settings)
        served = await serving.serve(web_app(bot))
        box["bot"], box["served"] = bot, served
        ready.set()
        await served.task
        await bot.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(20), "server did not start"
    url = box["served"].url
    client = httpx.Client(base_url=url, timeout=10)
    box["running"] = Running(url, db, box["bot"], client)

    def stop() -> None:
        client.close()
        box["served"].server.should_exit = True  # from this thread: uvicorn polls the flag
        thread.join(10)

    box["stop"] = stop
    return box


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """`serve(**settings)` starts a server (secret set unless overridden)."""
    started: list[Any] = []

    def go(**overrides: Any) -> Running:
        overrides.setdefault("alerts", {"secret": SECRET})
        box = start(tmp_path / str(len(started)), **overrides)
        started.append(box)
        return box["running"]  # type: ignore[no-any-return]

    yield go
    for box in started:
        box["stop"]()


@pytest.fixture
def server(serve: Callable[..., Running]) -> Running:
    return serve()


def alertmanager(group: str = "{}:{alertname=\"CheckoutErrors\"}", n: int = 1, start: int = 0,
                 status: str = "firing", severity: str = "critical") -> dict[str, Any]:
    """A webhook as Alertmanager 0.27 sends it (version 4)."""
    alerts = [{
        "status": status,
        "labels": {"alertname": "CheckoutErrors", "severity": severity, "instance": f"web-{i}",
                   "job": "checkout"},
        "annotations": {"summary": "Checkout error rate above 5%",
                        "description": f"web-{i} returns 5xx on /checkout"},
        "startsAt": "2024-05-14T09:12:03.123Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2024-05-14T09:40:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=rate",
        "fingerprint": f"{i:016x}",
    } for i in range(start, start + n)]
    return {
        "receiver": "crisisbot", "status": status, "alerts": alerts,
        "groupLabels": {"alertname": "CheckoutErrors"},
        "commonLabels": {"alertname": "CheckoutErrors", "severity": severity},
        "commonAnnotations": {"summary": "Checkout error rate above 5%"},
        "externalURL": "http://alertmanager:9093", "version": "4", "groupKey": group,
        "truncatedAlerts": 0,
    }
