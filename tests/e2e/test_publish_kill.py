"""A statement being published survives `kill -9` of `crisisbot serve` between destinations:
the Telegram channel and the Slack channel have it, the webhook receiver is down; the process
is killed, the receiver comes back, a new process delivers the rest from the outbox — and
every destination has the statement exactly once, byte for byte."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from bot.app.wiring import build
from bot.chat.slack.api import slack_unescape
from bot.settings import Settings
from tests.integration.publish.receiver import SECRET, Receiver
from tests.integration.slack.fake_slack import Channel, FakeSlack
from tests.integration.telegram.fake_api import FakeTelegram
from tests.integration.telegram.harness import until
from tests.processes import healthy, process_env, start_serve_async
from tests.serving import free_port

TOKEN, CHANNEL, ANNOUNCE = "123456:TEST-token", "-1009876543210", "C0ANNOUNCE"
TEXT = "Our checkout is down; payments are safe. Next update at 11:00 — & <thanks>."


def environment(db: Path, port: int, telegram: FakeTelegram, slack: FakeSlack,
                receiver: Receiver) -> dict[str, str]:
    return {
        "CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{db}", "CRISISBOT_PORT": str(port),
        "CRISISBOT_TELEGRAM__BOT_TOKEN": TOKEN, "CRISISBOT_TELEGRAM__API_URL": telegram.url,
        "CRISISBOT_SLACK__BOT_TOKEN": "xoxb-test",
        "CRISISBOT_SLACK__API_URL": f"{slack.url}/api/",
        "CRISISBOT_PUBLISH__STATUS_PAGE": "true",
        "CRISISBOT_PUBLISH__TELEGRAM_CHANNEL": CHANNEL,
        "CRISISBOT_PUBLISH__SLACK_CHANNEL": ANNOUNCE,
        "CRISISBOT_PUBLISH__WEBHOOK_URL": receiver.url,
        "CRISISBOT_PUBLISH__WEBHOOK_SECRET": SECRET,
        # A notice the killed process held is taken again when its lease runs out.
        "CRISISBOT_OUTBOX__POLL": "0.2", "CRISISBOT_OUTBOX__LEASE": "3s",
        "CRISISBOT_SLACK__TIMEOUT": "0.25s", "CRISISBOT_TELEGRAM__TIMEOUT": "0.25s",
        "CRISISBOT_OUTBOX__BACKOFF": "0.2",
        "CRISISBOT_OUTBOX__MAX_BACKOFF": "0.5",
    }


async def spawn(env: dict[str, str], port: int) -> asyncio.subprocess.Process:
    process = await start_serve_async(process_env(**env))
    await healthy(port, process)
    return process


async def publish_in_the_database(env: dict[str, str]) -> None:
    """The commands' effect, written as `/crisis publish` writes it: the publication and one
    outbox notice per destination, in one transaction (nothing is delivered here)."""
    bot = await build(Settings(**_settings(env)))
    try:
        service = bot.service
        await service.declare("local:bob", "Checkout down (internal: the vendor's fault)",
                              platform="local")
        await service.acknowledge(1, "local:bob")
        await service.assign(1, "local:bob", "local:carol", "approver")
        await service.post_draft(1, "local:bob", TEXT)
        await service.decide(1, "local:carol", approve=True, draft_number=1)
        await service.publish(1, "local:bob", 1)
    finally:
        await bot.close()


def delivered(db: Path) -> set[str]:
    """The destinations whose delivery the database records (read while `serve` runs)."""
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT links FROM publications").fetchall()
    return {name for (links,) in rows for name in json.loads(links)}


def _settings(env: dict[str, str]) -> dict[str, object]:
    return {
        "database_url": env["CRISISBOT_DATABASE_URL"],
        "telegram": {"bot_token": TOKEN, "api_url": env["CRISISBOT_TELEGRAM__API_URL"]},
        "slack": {"bot_token": "xoxb-test", "api_url": env["CRISISBOT_SLACK__API_URL"]},
        "publish": {"status_page": True, "telegram_channel": CHANNEL,
                    "slack_channel": ANNOUNCE, "webhook_url": env[
                        "CRISISBOT_PUBLISH__WEBHOOK_URL"], "webhook_secret": SECRET},
    }


@pytest.mark.slow
async def test_kill_9_between_destinations_delivers_each_once(tmp_path: Path) -> None:
    telegram, slack, receiver = FakeTelegram(TOKEN), FakeSlack(), Receiver(down=True)
    await telegram.start()
    await slack.start()
    await receiver.start()
    slack.channels[ANNOUNCE] = Channel(ANNOUNCE, "announcements")
    port = free_port()
    env = environment(tmp_path / "p.db", port, telegram, slack, receiver)
    try:
        await publish_in_the_database(env)
        first = await spawn(env, port)
        try:
            await until(lambda: receiver.attempts >= 1, "the webhook tried while down", 30)
            # Each destination has its own queue: killed once both channels' deliveries are
            # recorded (a kill between a Telegram send and its record repeats that send).
            await until(lambda: {"telegram", "slack"} <= delivered(tmp_path / "p.db"),
                        "the channels' deliveries recorded", 30)
            assert [p["text"] for p in telegram.called("sendMessage")
                    if str(p["chat_id"]) == CHANNEL] == [TEXT]
            assert len(slack.channels[ANNOUNCE].messages) == 1
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        receiver.down = False
        second = await spawn(env, port)
        try:
            await until(lambda: receiver.received, "the webhook delivered after the restart",
                        30)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                board = (await client.get("/status.json")).json()
                page = (await client.get("/status")).text
        finally:
            second.send_signal(signal.SIGTERM)
            assert await second.wait() == 0
        channel_posts = [p["text"] for p in telegram.called("sendMessage")
                         if str(p["chat_id"]) == CHANNEL]
        assert [t.encode() for t in channel_posts] == [TEXT.encode()]
        [posted] = slack.channels[ANNOUNCE].messages
        assert slack_unescape(posted.text).encode() == TEXT.encode()
        [(webhook_id, bodies)] = receiver.received.items()
        assert webhook_id == "INC-1-s1"
        assert [b["event"]["data"]["text"].encode() for b in bodies] == [TEXT.encode()]
        assert receiver.refused == 0
        assert board["incidents"][0]["statements"][0]["text"] == TEXT
        assert "vendor" not in page
    finally:
        await receiver.stop()
        await slack.stop()
        await telegram.stop()
