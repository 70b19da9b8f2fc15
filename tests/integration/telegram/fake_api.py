"""A fake Telegram Bot API on loopback: `/bot<token>/<method>`, answering like Telegram.

It records every call, keeps the messages it was asked to send and edit, serves `getUpdates`
from a queue (polling mode), can be told to answer a method with 429 + `retry_after`, and
refuses to write to users who never started the bot (403), as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 999
BOT_USERNAME = "CrisisBot"
CHAT_ID = -1001234567890


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float


@dataclass
class FakeTelegram:
    token: str
    forum: bool = True
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    updates: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    started: set[int] = field(default_factory=set)
    """Users who have started the bot (may get direct messages)."""
    failures: dict[str, list[int]] = field(default_factory=dict)
    """method -> retry_after seconds of the 429s to answer next."""
    _ids: int = 100
    _topics: int = 0
    _runner: web.AppRunner | None = None
    url: str = ""

    # -- server -------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/bot"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _params(request)
        self.calls.append(Call(method, params, time.monotonic()))
        pending = self.failures.get(method)
        if pending:
            retry = pending.pop(0)
            return _error(429, f"Too Many Requests: retry after {retry}",
                          parameters={"retry_after": retry})
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return _error(404, "Not Found: method not found")
        result = await answer(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    # -- helpers for tests --------------------------------------------------------------

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def called(self, method: str) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == method]

    def chat(self) -> dict[str, Any]:
        return {"id": CHAT_ID, "type": "supergroup", "title": "Crisis room",
                "is_forum": self.forum}

    # -- methods ------------------------------------------------------------------------

    async def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "crisisbot",
                "username": BOT_USERNAME, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False}

    async def _getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        return {**self.chat(), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False,
                                        "premium_subscription": False,
                                        "gifts_from_channels": False}}

    async def _createForumTopic(self, params: dict[str, Any]) -> Any:
        if not self.forum:
            return _error(400, "Bad Request: the chat is not a forum")
        self._topics += 1
        thread = self.next_id()  # a topic's id is the id of its creation message
        return {"message_thread_id": thread, "name": params["name"],
                "icon_color": int(params.get("icon_color", 0))}

    async def _sendMessage(self, params: dict[str, Any]) -> Any:
        chat = int(params["chat_id"])
        if chat > 0 and chat not in self.started:
            return _error(403, "Forbidden: bot can't initiate conversation with a user")
        message: dict[str, Any] = {
            "message_id": self.next_id(), "date": int(time.time()),
            "chat": self.chat() if chat == CHAT_ID else {"id": chat, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "crisisbot",
                     "username": BOT_USERNAME},
            "text": params["text"],
        }
        thread = params.get("message_thread_id")
        reply = params.get("reply_parameters")
        if thread is not None:
            message["message_thread_id"] = int(thread)
            message["is_topic_message"] = True
        elif reply is not None and chat == CHAT_ID:
            root = self.messages.get(reply["message_id"], {}).get("message_thread_id")
            message["message_thread_id"] = root or reply["message_id"]
        if reply is not None:
            message["reply_to_message_id"] = reply["message_id"]
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        self.messages[message["message_id"]] = message
        return _public(message)

    async def _editMessageText(self, params: dict[str, Any]) -> Any:
        message = self.messages.get(int(params["message_id"]))
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        if message["text"] == params["text"] and \
                message.get("reply_markup") == params.get("reply_markup"):
            return _error(400, "Bad Request: message is not modified")
        message["text"] = params["text"]
        message.pop("reply_markup", None)
        if "reply_markup" in params:
            message["reply_markup"] = params["reply_markup"]
        message["edit_date"] = int(time.time())
        return _public(message)

    async def _pinChatMessage(self, params: dict[str, Any]) -> bool:
        self.messages[int(params["message_id"])]["pinned"] = True
        return True

    async def _closeForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    async def _reopenForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    async def _setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def _answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Wait (at most a second, so shutdown stays quick) for queued updates."""
        try:
            first = await asyncio.wait_for(self.updates.get(), timeout=1.0)
        except TimeoutError:
            return []
        batch = [first]
        while not self.updates.empty():
            batch.append(self.updates.get_nowait())
        offset = int(params.get("offset", 0) or 0)
        return [u for u in batch if u["update_id"] >= offset]


def _public(message: dict[str, Any]) -> dict[str, Any]:
    """A message as Telegram returns it: only inline keyboards come back as its markup."""
    hidden = {"reply_to_message_id", "pinned"}
    if "inline_keyboard" not in message.get("reply_markup", {}):
        hidden.add("reply_markup")
    return {k: v for k, v in message.items() if k not in hidden}


async def _params(request: web.Request) -> dict[str, Any]:
    """PTB posts form fields (objects as JSON strings) or JSON; either way, decode objects."""
    if request.content_type == "application/json":
        raw: dict[str, Any] = await request.json()
    else:
        raw = dict(await request.post())
    params = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in "{[":
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        params[key] = value
    return params


def _error(code: int, description: str, **extra: Any) -> web.Response:
    return web.json_response({"ok": False, "error_code": code, "description": description,
                              **extra}, status=code if code != 429 else 429)
