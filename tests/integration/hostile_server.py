"""Every route at once, as `crisisbot serve` runs it: Slack over HTTP (against the fake Slack),
the Telegram webhook (against the fake Bot API) and the alert sources, on a fresh SQLite file,
in a thread with its own event loop, so synchronous clients (and hypothesis) can talk to it
over loopback while a test reads the database directly."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.app.web import web_app
from bot.app.wiring import build
from bot.settings import load
from tests import serving
from tests.integration.slack.fake_slack import FakeSlack
from tests.integration.telegram.fake_api import CHAT_ID, FakeTelegram

ALERT_SECRET = "hostile-alert-secret"
SIGNING_SECRET = "hostile-signing-secret"
TELEGRAM_SECRET = "hostile-telegram-secret"
TOKEN = "123456:HOSTILE-token"


@dataclass
class Hostile:
    url: str
    db: Path
    loop: asyncio.AbstractEventLoop
    client: httpx.Client
    fake_slack: FakeSlack
    fake_telegram: FakeTelegram

    def count(self, table: str) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute(f"select count(*) from {table}").fetchone()[0])  # noqa: S608

    def alert(self, source: str, content: bytes, **headers: str) -> httpx.Response:
        return self.client.post(f"/alerts/{source}", content=content, headers={
            "authorization": f"Bearer {ALERT_SECRET}", "content-type": "application/json",
            **headers})

    def slack(self, body: bytes, content_type: str, *, sign: bool = True,
              timestamp: str | None = None) -> httpx.Response:
        """A POST to `/slack/events`, signed as Slack signs it unless `sign` is false."""
        ts = timestamp if timestamp is not None else str(int(time.time()))
        headers = {"content-type": content_type, "x-slack-request-timestamp": ts}
        if sign:
            headers["x-slack-signature"] = SignatureVerifier(SIGNING_SECRET).generate_signature(
                timestamp=ts, body=body.decode("utf-8", errors="replace"))
        return self.client.post("/slack/events", content=body, headers=headers)

    def telegram(self, body: bytes) -> httpx.Response:
        return self.client.post("/telegram/webhook", content=body, headers={
            "content-type": "application/json",
            "x-telegram-bot-api-secret-token": TELEGRAM_SECRET})


def running(tmp_path: Path, **overrides: Any) -> Iterator[Hostile]:
    """Start the server (and the fakes) in a thread; stop all of it when the caller is done."""
    db = tmp_path / "hostile.db"
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        slack, telegram = FakeSlack(), FakeTelegram(TOKEN, forum=True)
        await slack.start()
        await telegram.start()
        settings = load(
            database_url=f"sqlite+aiosqlite:///{db}",
            slack={"bot_token": "xoxb-test", "signing_secret": SIGNING_SECRET,
                   "api_url": f"{slack.url}/api/"},
            telegram={"bot_token": TOKEN, "api_url": telegram.url, "chat_id": CHAT_ID,
                      "webhook_secret": TELEGRAM_SECRET},
            alerts={"secret": ALERT_SECRET}, **overrides)
        bot = await build(settings)
        served = await serving.serve(web_app(bot))
        box["served"], box["fakes"] = served, (slack, telegram)
        ready.set()
        try:
            await served.task
        finally:
            await bot.close()
            await telegram.stop()
            await slack.stop()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(30), "server did not start"
    served = box["served"]
    with httpx.Client(base_url=served.url, timeout=30) as client:
        yield Hostile(served.url, db, served.task.get_loop(), client, *box["fakes"])
    served.server.should_exit = True  # from this thread: uvicorn polls the flag
    thread.join(30)
