"""No configured secret in any log line: a whole Slack + Telegram story over loopback HTTP (the
fake Slack Web API and the fake Bot API, a private feed that fails), with every logger at DEBUG
(httpx, httpcore, telegram, slack, uvicorn, SQLAlchemy, ours); every `SecretStr` setting
registered with the redactor by `build`; and the start-up of a bot whose token Telegram
rejects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, get_args, get_origin

import httpx
import pytest
from pydantic import BaseModel, SecretStr
from sqlalchemy.engine import make_url

from bot.app.web import web_app
from bot.app.wiring import Bot, build
from bot.logsafe import MASK
from bot.settings import Settings
from bot.storage.console import SESSION_KEY
from bot.storage.migrate import upgrade
from tests.conftest import POSTGRES_ENV
from tests.integration.alerts.feed_server import FeedServer, feed_server
from tests.integration.slack.fake_slack import FakeSlack
from tests.integration.slack.harness import SIGNING_SECRET, Running, until
from tests.integration.telegram.fake_api import CHAT_ID, FakeTelegram
from tests.integration.telegram.harness import SECRET as WEBHOOK_SECRET
from tests.integration.telegram.harness import Room
from tests.integration.telegram.harness import until as tg_until
from tests.serving import free_port, serve

SLACK_TOKEN = "xoxb-1234-5678-slackbottoken"
TELEGRAM_TOKEN = "7700112233:AAHtelegram-bot-token_x9"
ALERT_SECRET = "alert-secret-0c0ffee"
DB_PASSWORD = "db-password-hunter2"
FEED_PASSWORD = "feed-password-0c0ffee"
FEED_TOKEN = "feed-token-0c0ffee-private"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A throwaway PostgreSQL database reached with a password when the suite has PostgreSQL
    (trust auth ignores the password, yet the bot holds it), else SQLite (no password)."""
    if not os.environ.get(POSTGRES_ENV):
        return f"sqlite+aiosqlite:///{tmp_path / 'secrets.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def settings(url: str, slack: FakeSlack, telegram: FakeTelegram, feeds: FeedServer,
             **over: Any) -> Settings:
    private = feeds.url.replace("://", f"://reader:{FEED_PASSWORD}@")
    return Settings(
        database_url=url,
        slack={"bot_token": SLACK_TOKEN, "signing_secret": SIGNING_SECRET,
               "api_url": f"{slack.url}/api/"},
        telegram={"bot_token": TELEGRAM_TOKEN, "api_url": telegram.url, "chat_id": CHAT_ID,
                  "webhook_secret": WEBHOOK_SECRET, "per_chat_per_second": 1000.0,
                  "per_group_per_minute": 100000},
        alerts={"secret": ALERT_SECRET,
                "routes": [{"match": {"labels": {"team": "telegram"}},
                            "platform": "telegram"}],
                "feeds": [{"name": "private", "url": f"{private}/broken?token={FEED_TOKEN}",
                           "every": "1s"}]},
        outbox={"poll": "0.2", "backoff": "0.1", "max_backoff": "1"},
        **over)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeTelegram]]:
    slack, telegram = FakeSlack(SLACK_TOKEN), FakeTelegram(TELEGRAM_TOKEN)
    await slack.start()
    await telegram.start()
    try:
        yield slack, telegram
    finally:
        await telegram.stop()
        await slack.stop()


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every library's log at DEBUG for this test, and at its level again after it (left at
    DEBUG, SQLAlchemy and aiosqlite would log every statement of the tests that follow)."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "telegram", "slack_bolt", "slack_sdk", "uvicorn",
                 "sqlalchemy", "aiosqlite", "asyncio", "crisisbot", "apscheduler"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def assert_no_secret(caplog: pytest.LogCaptureFixture, *more: str) -> None:
    text = caplog.text + "\n".join(str(r.msg) + str(r.args) for r in caplog.records)
    for secret in (SLACK_TOKEN, SIGNING_SECRET, TELEGRAM_TOKEN, WEBHOOK_SECRET, ALERT_SECRET,
                   DB_PASSWORD, FEED_PASSWORD, FEED_TOKEN, *more):
        assert secret not in text, f"{secret} is in the log"


async def alert(bot: Running, **body: Any) -> httpx.Response:
    return await bot.http.post("/alerts/generic", json=body,
                               headers={"Authorization": f"Bearer {ALERT_SECRET}"})


async def test_a_slack_and_telegram_story_logs_no_secret(
        database_url: str, fakes: tuple[FakeSlack, FakeTelegram],
        everything: pytest.LogCaptureFixture) -> None:
    slack, telegram = fakes
    with feed_server() as feeds:
        config = settings(database_url, slack, telegram, feeds)
        await upgrade(config.database_url)
        bot: Bot = await build(config)  # the console's session key is made and stored here
        serving = await serve(web_app(bot))
        on_slack = Running(bot, serving, slack)
        try:
            await story(on_slack, slack, telegram)
            await until(lambda: [s for p, s in feeds.hits if p.startswith("/broken")])
        finally:
            await on_slack.stop()
    assert any("/bot" in r.getMessage() and r.name == "httpx" for r in everything.records), (
        "the Bot API calls were not logged: the test would prove nothing")
    assert any("/broken" in r.getMessage() and r.name == "httpx" for r in everything.records), (
        "the feed's request was not logged: the test would prove nothing")
    assert "feed private answered HTTP 500" in everything.text
    assert_no_secret(everything, bot.console_key)


async def story(on_slack: Running, slack: FakeSlack, telegram: FakeTelegram) -> None:
    """An alert opens a Slack channel and another a Telegram topic; commands on both."""
    # Slack: an alert opens a channel; the commander acks, names an author, who drafts.
    assert (await alert(on_slack, title="Checkout is down")).status_code == 200
    channel = (await until(lambda: [c for c in slack.channels.values()  # opened, recorded
                                    if c.name.startswith("crisis-1-") and c.pins]))[0]
    for text in ["ack", "role <@U0AUT> spokesperson"]:
        assert (await on_slack.command("U0CMD", text, channel.id)).status_code == 200
    assert (await on_slack.command("U0AUT", "draft We are on it.", channel.id)
            ).status_code == 200
    await until(lambda: [m for m in channel.messages if m.text.startswith("Draft #")])

    # Telegram: an alert routed there opens a topic; commands come through the webhook.
    opened = await alert(on_slack, title="Fake recall", labels={"team": "telegram"})
    assert opened.status_code == 200, opened.text
    topic = await tg_until(lambda: telegram.called("createForumTopic"), what="topic")
    assert topic
    room = Room(telegram, on_slack.http, True, on_slack.bot)
    pinned = await tg_until(lambda: [m for m in telegram.messages.values()
                                     if m.get("pinned") and m.get("message_thread_id")],
                            what="pinned summary")
    room.thread = pinned[0]["message_thread_id"]
    ack = await room.say("bob", "/crisis ack")
    await room.reply(ack["message"]["message_id"], "ack")
    wrong = await on_slack.http.post("/telegram/webhook", json=room.update(),
                                     headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
    assert wrong.status_code in {401, 403}
    report = await on_slack.command("U0CMD", "report INC-1", channel.id)
    assert report.status_code == 200


ITEMS = {"mappings": {"name": "mapped", "title": "title"}}
"""What else an item of a list holding a secret needs to be valid, by the list's name."""


def filled(annotation: Any, made: list[str], name: str = "") -> Any:
    """A value of `annotation` with each `SecretStr` it can hold set to a value of its own
    (added to `made`), found from the model's types, not from a value as `secrets_of` finds
    them; None where no secret can be."""
    if annotation is SecretStr:
        made.append(f"secret-{len(made)}-{secrets.token_hex(8)}")
        return made[-1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {field: filled(info.annotation, made, field)
                  for field, info in annotation.model_fields.items()}
        found = {field: value for field, value in fields.items() if value is not None}
        return {**ITEMS.get(name, {}), **found} if found else None
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, dict):
        item = filled(args[-1], made, name)
        return None if item is None else [item] if origin is list else {"generic": item}
    for arg in args:  # `X | None` and the like
        value = filled(arg, made, name)
        if value is not None:
            return value
    return None


async def test_every_secret_setting_is_masked_once_built(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every `SecretStr` the settings can hold, wherever it sits, set: after `build` none of
    them shows in a log line. A secret setting added where `secrets_of` does not look, or a
    `build` that no longer registers them, fails here."""
    made: list[str] = []
    values = filled(Settings, made)
    assert {"slack", "telegram", "alerts", "web", "publish"} <= set(values)
    bot = await build(Settings(**values,
                               database_url=f"sqlite+aiosqlite:///{tmp_path / 'all.db'}"))
    await bot.close()
    with caplog.at_level(logging.INFO, "crisisbot.test"):
        for secret in made:
            logging.getLogger("crisisbot.test").info("configured: %s", secret)
    assert [r.getMessage() for r in caplog.records if r.name == "crisisbot.test"] == [
        f"configured: {MASK}"] * len(made)


async def test_a_stored_console_key_is_not_logged_when_a_restart_reads_it(
        tmp_path: Path, everything: pytest.LogCaptureFixture) -> None:
    """The session key an earlier run generated and stored: SQLAlchemy at DEBUG logs each row
    it reads, before `build` has the key to register, so the read must not show it."""
    path = tmp_path / "restart.db"
    await upgrade(f"sqlite+aiosqlite:///{path}")
    key = "stored-by-an-earlier-run-" + secrets.token_urlsafe(16)
    with contextlib.closing(sqlite3.connect(path)) as earlier, earlier:  # not in this log
        earlier.execute("INSERT INTO console_keys (name, value) VALUES (?, ?)",
                        (SESSION_KEY, key))
    bot = await build(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    await bot.close()
    assert bot.console_key == key
    assert any(r.name.startswith("sqlalchemy.engine") and "Row" in r.getMessage()
               for r in everything.records), "no row was logged: the test would prove nothing"
    assert_no_secret(everything, key)


async def test_a_rejected_token_is_one_line_without_the_token(
        tmp_path: Path, fakes: tuple[FakeSlack, FakeTelegram]) -> None:
    """`crisisbot serve` with a token Telegram answers 401 to: a one-line refusal, exit 2,
    and the token nowhere in what the process wrote."""
    _slack, telegram = fakes
    telegram.token = "1:another-bot"
    env = {**os.environ, "CRISISBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 't.db'}",
           "CRISISBOT_TELEGRAM__BOT_TOKEN": TELEGRAM_TOKEN,
           "CRISISBOT_TELEGRAM__API_URL": telegram.url,
           "CRISISBOT_TELEGRAM__CHAT_ID": str(CHAT_ID), "CRISISBOT_PORT": str(free_port())}
    env.pop("CRISISBOT_CONFIG", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    said = (out + err).decode()
    assert TELEGRAM_TOKEN not in said
    assert "Traceback" not in said
    assert process.returncode == 2
    lines = err.decode().strip().splitlines()
    assert lines[-1].startswith("crisisbot: ")
    assert "CRISISBOT_TELEGRAM__BOT_TOKEN" in lines[-1]
