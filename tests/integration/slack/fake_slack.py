"""A fake Slack Web API on loopback (aiohttp): keeps channels and messages, records every call,
and fails on command, per Web API method, the ways Slack fails: an error answer (500,
`name_taken`, 429 with `Retry-After`), a hang of N seconds, a reset connection, or a lost
answer after the action was carried out (an error or a closed connection after storing: the
crash-between-send-and-mark case). `chaos` draws such faults at random from a fixed seed."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = "UBOT"


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    after_storing: bool = False
    """Carry out the call, then answer with the failure (the answer is 'lost')."""
    hang: float = 0.0
    """Seconds to wait before going on (with status 200: a slow answer that still acts)."""
    reset: bool = False
    """Close the connection instead of answering (after the action when `after_storing`)."""
    passes: bool = False
    """Not a failure after all: the call is answered normally (after `hang`, if any)."""


@dataclass
class Message:
    ts: str
    text: str
    user: str = BOT_USER
    thread_ts: str | None = None
    blocks: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    edits: int = 0

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text,
                               "user": self.user}
        if self.user == BOT_USER:
            out["bot_id"] = "BBOT"
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.metadata:
            out["metadata"] = self.metadata
        return out


@dataclass
class Channel:
    id: str
    name: str
    topic: str = ""
    purpose: str = ""
    members: list[str] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    pins: list[str] = field(default_factory=list)
    archived: bool = False


BOT_TOKEN = "xoxb-test"
"""The bot token the harness configures; a test may start the fake with another."""


class FakeSlack:
    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.channels: dict[str, Channel] = {}
        self.taken: set[str] = set()
        self.failures: dict[str, list[Failure]] = {}
        self.responses: list[dict[str, Any]] = []
        self._ts = 1_700_000_000
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- control ----------------------------------------------------------------------------

    def fail(self, method: str, status: int, body: dict[str, Any] | None = None, *,
             headers: dict[str, str] | None = None, times: int = 1,
             after_storing: bool = False) -> None:
        self.failures.setdefault(method, []).extend(
            Failure(status, body or {"ok": False, "error": "fatal_error"}, headers or {},
                    after_storing) for _ in range(times))

    def hang(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer `method` only after `seconds` (the call is still carried out)."""
        self.failures.setdefault(method, []).extend(
            Failure(200, {}, hang=seconds, passes=True) for _ in range(times))

    def reset(self, method: str, *, times: int = 1, after_storing: bool = False) -> None:
        """Drop the connection without an answer, before or after carrying the call out."""
        self.failures.setdefault(method, []).extend(
            Failure(0, {}, after_storing=after_storing, reset=True) for _ in range(times))

    def rate_limit(self, method: str, retry_after: int = 1, *, times: int = 1) -> None:
        self.fail(method, 429, {"ok": False, "error": "ratelimited"},
                  headers={"Retry-After": str(retry_after)}, times=times)

    def chaos(self, methods: Collection[str], *, seed: int, share: float = 0.3,
              calls: int = 4, hang: float = 0.0) -> None:
        """For each of `methods`, each of the next `calls` calls fails with probability `share`
        in one of Slack's ways (a fixed `seed` makes a run repeatable); `hang` > 0 adds hangs."""
        rng = random.Random(seed)
        kinds = ["500", "429", "reset", "lost", "lost500", *(["hang"] if hang else [])]
        for method in sorted(methods):
            for _ in range(calls):
                if rng.random() >= share:
                    self.failures.setdefault(method, []).append(Failure(200, {}, passes=True))
                    continue
                self.inject(method, rng.choice(kinds), hang=hang)

    def inject(self, method: str, kind: str, *, hang: float = 0.0) -> None:
        """The next call of `method` fails one of Slack's ways: "500", "429" (retry after a
        second), "reset" (before storing), "lost" (reset after storing), "lost500" (500 after
        storing) or "hang" (for `hang` seconds)."""
        match kind:
            case "500":
                self.fail(method, 500)
            case "429":
                self.rate_limit(method, 1)
            case "reset":
                self.reset(method)
            case "lost":
                self.reset(method, after_storing=True)
            case "lost500":
                self.fail(method, 500, after_storing=True)
            case "hang":
                self.hang(method, hang)
            case _:
                raise ValueError(f"no such fault: {kind}")

    def called(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def channel(self, name_prefix: str) -> Channel:
        return next(c for c in self.channels.values() if c.name.startswith(name_prefix))

    def user_message(self, channel: str, user: str, text: str,
                     thread_ts: str | None = None) -> Message:
        message = Message(self._next_ts(), text, user, thread_ts)
        self.channels[channel].messages.append(message)
        return message

    def ephemerals(self, user: str | None = None) -> list[str]:
        return [str(a["text"]) for a in self.called("chat.postEphemeral")
                if user is None or a["user"] == user]

    # -- server -----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{id}", self._respond)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)  # hung calls end with it
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _respond(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        return web.Response(text="ok")

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in ("blocks", "metadata", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        assert request.headers.get("Authorization") == f"Bearer {self.token}", "token sent"
        self.calls.append((method, args))
        failure = self.failures.get(method, []).pop(0) if self.failures.get(method) else None
        if failure is not None and failure.hang:
            await asyncio.sleep(failure.hang)
        if failure is not None and not failure.passes and not failure.after_storing:
            return self._failed(request, failure)
        body = self._handle(method, args)
        if failure is not None and not failure.passes:
            return self._failed(request, failure)
        return web.json_response(body)

    @staticmethod
    def _failed(request: web.Request, failure: Failure) -> web.Response:
        if failure.reset and request.transport is not None:
            request.transport.abort()
        return web.json_response(failure.body, status=failure.status or 500,
                                 headers=failure.headers)

    def _next_ts(self) -> str:
        self._ts += 1
        return f"{self._ts}.000100"

    def _handle(self, method: str, a: dict[str, Any]) -> dict[str, Any]:
        ok: dict[str, Any] = {"ok": True}
        match method:
            case "auth.test":
                return {**ok, "user_id": BOT_USER, "bot_id": "BBOT", "team_id": "T1",
                        "user": "crisisbot", "team": "Team", "url": "https://t.slack.com/"}
            case "conversations.create":
                name = a["name"]
                if name in self.taken or any(c.name == name for c in self.channels.values()):
                    return {"ok": False, "error": "name_taken"}
                channel = Channel(f"C{len(self.channels) + 1:08d}", name, members=[BOT_USER])
                self.channels[channel.id] = channel
                return {**ok, "channel": {"id": channel.id, "name": name}}
            case "conversations.setTopic":
                self.channels[a["channel"]].topic = a["topic"]
            case "conversations.setPurpose":
                self.channels[a["channel"]].purpose = a["purpose"]
            case "conversations.invite":
                members = self.channels[a["channel"]].members
                new = [u for u in a["users"].split(",") if u not in members]
                if not new:
                    return {"ok": False, "error": "already_in_channel"}
                members.extend(new)
            case "conversations.open":
                channel_id = f"D{a['users']}"
                self.channels.setdefault(channel_id, Channel(channel_id, f"dm-{a['users']}"))
                return {**ok, "channel": {"id": channel_id}}
            case "conversations.info":
                c = self.channels[a["channel"]]
                return {**ok, "channel": {"id": c.id, "name": c.name, "creator": BOT_USER,
                                          "purpose": {"value": c.purpose}}}
            case "conversations.list":
                return {**ok, "channels": [{"id": c.id, "name": c.name}
                                           for c in self.channels.values()]}
            case "chat.postMessage":
                channel = self.channels[a["channel"]]
                message = Message(self._next_ts(), a.get("text", ""), BOT_USER,
                                  a.get("thread_ts"), a.get("blocks"), a.get("metadata"))
                channel.messages.append(message)
                return {**ok, "channel": channel.id, "ts": message.ts}
            case "chat.update":
                message = self._message(a["channel"], a["ts"])
                message.text, message.blocks = a.get("text", ""), a.get("blocks")
                message.edits += 1
                return {**ok, "ts": message.ts}
            case "conversations.archive":
                channel = self.channels[a["channel"]]
                if channel.archived:
                    return {"ok": False, "error": "already_archived"}
                channel.archived = True
            case "pins.add":
                if a["timestamp"] in self.channels[a["channel"]].pins:
                    return {"ok": False, "error": "already_pinned"}
                self.channels[a["channel"]].pins.append(a["timestamp"])
            case "conversations.history":
                messages = [m for m in self.channels[a["channel"]].messages if not m.thread_ts]
                if "latest" in a:
                    messages = [m for m in messages if m.ts <= a["latest"]]
                messages = list(reversed(messages))[:int(a.get("limit", 100))]
                return {**ok, "messages": [m.as_json() for m in messages]}
            case "conversations.replies":
                messages = [m for m in self.channels[a["channel"]].messages
                            if m.ts == a["ts"] or m.thread_ts == a["ts"]]
                return {**ok, "messages": [m.as_json() for m in messages]}
            case "chat.getPermalink":
                return {**ok, "permalink": f"https://t.slack.com/archives/{a['channel']}/"
                                           f"p{a['message_ts'].replace('.', '')}"}
            case "chat.postEphemeral":
                return {**ok, "message_ts": self._next_ts()}
            case "views.open":
                return {**ok, "view": {"id": "V1"}}
        return ok

    def _message(self, channel: str, ts: str) -> Message:
        return next(m for m in self.channels[channel].messages if m.ts == ts)
