"""The real app (`build` + `web_app` under uvicorn on loopback) against the fake Bot API, and a
crisis room whose members send updates to it — through the webhook with the secret token, or
through `getUpdates` in polling mode."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bot.app.web import web_app
from bot.app.wiring import Bot, build
from bot.settings import Settings
from bot.storage.migrate import upgrade
from tests.serving import serve

from .fake_api import BOT_USERNAME, CHAT_ID, FakeTelegram

TOKEN = "123456:TEST-token"
SECRET = "s3cret-token"
ALERT_SECRET = "alert-secret"

PEOPLE = {
    "alice": {"id": 101, "is_bot": False, "first_name": "Alice", "username": "alice"},
    "bob": {"id": 102, "is_bot": False, "first_name": "Bob", "username": "bob"},
    "carol": {"id": 103, "is_bot": False, "first_name": "Carol"},
    "dave": {"id": 104, "is_bot": False, "first_name": "Dave", "username": "dave"},
    "erin": {"id": 105, "is_bot": False, "first_name": "Erin", "username": "erin"},
}


async def until(check: Callable[[], Any], what: str = "", wait: float = 10.0) -> Any:
    """Wait for `check()` to return something truthy and return it."""
    deadline = time.monotonic() + wait
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


@dataclass
class Room:
    """The crisis supergroup, seen from the people in it."""

    fake: FakeTelegram
    http: httpx.AsyncClient
    webhook: bool
    bot: Bot
    thread: int | None = None
    """The incident's topic, or its pinned message (plain group)."""
    _updates: itertools.count[int] = field(default_factory=lambda: itertools.count(5000))

    async def deliver(self, update: dict[str, Any]) -> None:
        if self.webhook:
            response = await self.http.post(
                "/telegram/webhook", json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert response.status_code == 200, response.text
        else:
            await self.fake.updates.put(update)

    def update(self, **body: Any) -> dict[str, Any]:
        return {"update_id": next(self._updates), **body}

    def message(self, who: str, text: str, *, reply_to: int | None = None,
                entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """A message in the incident's thread (a topic, or replies to the pinned message)."""
        message: dict[str, Any] = {
            "message_id": self.fake.next_id(), "date": int(time.time()),
            "chat": self.fake.chat(), "from": PEOPLE[who], "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command)}, *(entities or [])]
        if self.thread is not None:
            message["message_thread_id"] = self.thread
            message["is_topic_message"] = self.fake.forum or None
            parent = reply_to or self.thread
            message["reply_to_message"] = {
                "message_id": parent, "date": int(time.time()), "chat": self.fake.chat(),
                "text": self.fake.messages.get(parent, {}).get("text", "")}
        return {k: v for k, v in message.items() if v is not None}

    async def say(self, who: str, text: str, **kwargs: Any) -> dict[str, Any]:
        update = self.update(message=self.message(who, text, **kwargs))
        await self.deliver(update)
        return update

    async def press(self, who: str, card: int, action: str) -> str:
        """Press a button of a card; return the callback query id."""
        markup = self.fake.messages[card]["reply_markup"]["inline_keyboard"][0]
        data = next(b["callback_data"] for b in markup if b["callback_data"].endswith(action))
        query_id = f"q{self.fake.next_id()}"
        await self.deliver(self.update(callback_query={
            "id": query_id, "from": PEOPLE[who], "chat_instance": "room", "data": data,
            "message": {k: v for k, v in self.fake.messages[card].items()
                        if k not in {"reply_to_message_id", "pinned"}}}))
        return query_id

    async def react(self, who: str, message: int, emoji: str) -> None:
        await self.deliver(self.update(message_reaction={
            "chat": self.fake.chat(), "message_id": message, "user": PEOPLE[who],
            "date": int(time.time()), "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": emoji}]}))

    def replies_to(self, message_id: int) -> list[dict[str, Any]]:
        """What the bot sent as replies to `message_id`."""
        return [m for m in self.fake.messages.values()
                if m.get("reply_to_message_id") == message_id
                and m["from"]["username"] == BOT_USERNAME]

    async def reply(self, message_id: int, what: str = "reply") -> dict[str, Any]:
        found: list[dict[str, Any]] = await until(lambda: self.replies_to(message_id),
                                                  what=f"{what} to {message_id}")
        return found[-1]

    async def question(self, message_id: int, what: str = "question",
                       has: str = "") -> dict[str, Any]:
        """The bot's question (ForceReply) under `message_id`, once the bot remembers asking
        it: it stores a question when Telegram has returned the sent message, a moment after
        the fake shows it (a person reads it first)."""
        found: list[dict[str, Any]] = await until(
            lambda: [m for m in self.replies_to(message_id) if has in m["text"]],
            what=f"{what} to {message_id}")

        async def remembered() -> bool:
            async with self.bot.store.unit() as unit:
                return await unit.question("telegram", str(CHAT_ID),
                                           str(found[-1]["message_id"])) is not None

        deadline = time.monotonic() + 10
        while not await remembered():
            assert time.monotonic() < deadline, f"{what} never remembered"
            await asyncio.sleep(0.02)
        return found[-1]

    def answers(self, query_id: str) -> list[dict[str, Any]]:
        return [p for p in self.fake.called("answerCallbackQuery")
                if p["callback_query_id"] == query_id]


@asynccontextmanager
async def running(tmp_path: Path, *, forum: bool, webhook: bool,
                  fake: FakeTelegram | None = None, per_second: float = 1000.0,
                  per_group: int = 100000, database_url: str | None = None,
                  **overrides: Any) -> AsyncIterator[Room]:
    """The bot on a fresh database in `tmp_path` (or the one an earlier run there left),
    talking to `fake` if given (it then outlives the run: a restart test) or to its own;
    `per_second` and `per_group` (a minute) pace each chat; `database_url` replaces the
    SQLite file (a migrated, empty PostgreSQL database, say)."""
    own = fake is None
    if fake is None:
        fake = FakeTelegram(TOKEN, forum=forum)
        await fake.start()
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'crisisbot.db'}"
    await upgrade(url)
    settings = Settings(
        database_url=url,
        telegram={"bot_token": TOKEN, "api_url": fake.url, "chat_id": CHAT_ID,
                  "webhook_secret": SECRET if webhook else None,
                  # Real pacing (one message a second) would make the stories crawl; the
                  # pacing tests use their own small windows.
                  "per_chat_per_second": per_second, "per_group_per_minute": per_group},
        alerts={"secret": ALERT_SECRET},
        **overrides,
    )
    bot = await build(settings)
    serving = await serve(web_app(bot))
    try:
        async with httpx.AsyncClient(base_url=serving.url) as http:
            yield Room(fake, http, webhook, bot)
    finally:
        await serving.stop()
        await bot.close()
        if own:
            await fake.stop()
