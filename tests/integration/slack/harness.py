"""The bot as `crisisbot serve` runs it (build + web_app under uvicorn on loopback), talking to
the fake Slack; requests to `/slack/events` are signed exactly as Slack signs them."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.app.server import ready
from bot.app.web import web_app
from bot.app.wiring import Bot, build
from bot.settings import load
from tests.integration.slack.fake_slack import FakeSlack
from tests.serving import Serving, serve

SIGNING_SECRET = "s3cr3t-signing"
ALERT_SECRET = "alert-secret"


class Running:
    def __init__(self, bot: Bot, serving: Serving, fake: FakeSlack) -> None:
        self.bot, self.serving, self.url, self.fake = bot, serving, serving.url, fake
        self.http = httpx.AsyncClient(base_url=serving.url, timeout=10)
        self._events = 0

    async def stop(self) -> None:
        await self.http.aclose()
        await self.serving.stop()
        await self.bot.close()

    # -- what Slack sends -------------------------------------------------------------------

    async def signed(self, body: str, content_type: str, *, timestamp: int | None = None,
                     secret: str = SIGNING_SECRET,
                     headers: dict[str, str] | None = None) -> httpx.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        return await self.http.post("/slack/events", content=body.encode(), headers={
            "Content-Type": content_type, "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature, **(headers or {})})

    async def command(self, user: str, text: str, channel: str = "CGENERAL") -> httpx.Response:
        body = urllib.parse.urlencode({
            "token": "legacy", "team_id": "T1", "team_domain": "t", "channel_id": channel,
            "channel_name": "x", "user_id": user, "user_name": user.lower(),
            "command": "/crisis", "text": text, "api_app_id": "A1",
            "response_url": f"{self.fake.url}/respond/{user}", "trigger_id": "1.2.3"})
        return await self.signed(body, "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any], *, event_id: str | None = None,
                    headers: dict[str, str] | None = None) -> httpx.Response:
        self._events += 1
        body = json.dumps({
            "token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id or f"Ev{self._events:06d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            "event": event})
        return await self.signed(body, "application/json", headers=headers)

    async def react(self, user: str, channel: str, ts: str, reaction: str,
                    **kw: Any) -> httpx.Response:
        return await self.event({"type": "reaction_added", "user": user, "reaction": reaction,
                                 "item": {"type": "message", "channel": channel, "ts": ts},
                                 "event_ts": ts}, **kw)

    async def interact(self, payload: dict[str, Any]) -> httpx.Response:
        payload = {"team": {"id": "T1"}, "api_app_id": "A1", "token": "legacy", **payload}
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.signed(body, "application/x-www-form-urlencoded")

    async def button(self, user: str, channel: str, ts: str, action: str,
                     value: str) -> httpx.Response:
        return await self.interact({
            "type": "block_actions", "user": {"id": user}, "channel": {"id": channel},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel},
            "message": {"ts": ts}, "trigger_id": "9.9.9", "response_url":
            f"{self.fake.url}/respond/{user}",
            "actions": [{"type": "button", "action_id": action, "block_id": "decide",
                         "value": value, "action_ts": "1"}]})

    async def alert(self, title: str, **fields: Any) -> httpx.Response:
        return await self.http.post("/alerts/generic", json={"title": title, **fields},
                                    headers={"Authorization": f"Bearer {ALERT_SECRET}"})


async def start(tmp_path: Path, fake: FakeSlack, **overrides: Any) -> Running:
    settings = load(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'slack.db'}",
        slack={"bot_token": "xoxb-test", "signing_secret": SIGNING_SECRET,
               "api_url": f"{fake.url}/api/", **overrides.pop("slack", {})},
        alerts={"secret": ALERT_SECRET},
        outbox={"poll": "0.2", "backoff": "0.1", "max_backoff": "1"},
        **overrides)
    bot = await build(settings)
    try:
        await ready(bot)  # as `serve` does: a writable database, Slack's identity
    except BaseException:
        await bot.close()
        raise
    return Running(bot, await serve(web_app(bot)), fake)


async def until(check: Callable[[], object], within: float = 10.0) -> Any:
    """Wait for background work (handlers after ack, the outbox) to show its effect."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for the bot: {check}")
        await asyncio.sleep(0.02)
