"""Slack latency (issue 4): the bot as `crisisbot serve` builds it (uvicorn on loopback, SQLite)
against the fake Slack Web API of the tests, with requests signed as Slack signs them.

- alert -> channel: from the start of an alert `POST /alerts/generic` to Slack's answer to
  `conversations.create`, and to the pinned summary (`pins.add` answered), one alert at a time,
  each its own incident; p50 and p99.
- slash-command ack: from sending a signed `/crisis status ...` (in an incident channel, so
  each also posts an update after the ack) to the HTTP answer; p50 and p99.

Baselines in the same run, on the same fake server and machine: for alert -> summary, the five
Web API calls the bot has to make (create, topic, purpose, post, pin) made back to back by a
bare `AsyncWebClient` (the floor of Slack round trips); for the ack, the same signed request to
a bare bolt app whose `/crisis` only acks (the floor of bolt's verification and HTTP stack).
Environment: BENCH_SLACK_ALERTS (default 100), BENCH_SLACK_COMMANDS (default 300).
Run alone: `python -m benchmarks.slack`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.integration.slack.fake_slack import FakeSlack
from tests.integration.slack.harness import SIGNING_SECRET, Running, start
from tests.serving import serve

ALERTS = int(os.environ.get("BENCH_SLACK_ALERTS", "100"))
COMMANDS = int(os.environ.get("BENCH_SLACK_COMMANDS", "300"))


class TimedSlack(FakeSlack):
    """The test fake, noting when it answered each call."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: list[tuple[float, str, dict[str, Any]]] = []

    def _handle(self, method: str, a: dict[str, Any]) -> dict[str, Any]:
        body = super()._handle(method, a)
        self.answered.append((time.perf_counter(), method, {**a, **body}))
        return body

    def first(self, method: str, since: int, **match: str) -> float | None:
        for at, name, args in self.answered[since:]:
            if name == method and all(str(args.get(k, "")).startswith(v)
                                      for k, v in match.items()):
                return at
        return None


@dataclass
class Series:
    name: str
    seconds: list[float]

    def pct(self, q: float) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def wait_for(check: Any, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"the bot did not get there in {within} s: {check}")
        await asyncio.sleep(0.001)
    return found


async def alerts(bot: Running, fake: TimedSlack) -> tuple[Series, Series]:
    created, summarized = [], []
    for i in range(ALERTS):
        since = len(fake.answered)
        started = time.perf_counter()
        response = await bot.alert(f"Bench outage {i}", severity="high", group=f"bench-{i}")
        if response.status_code != 200:
            raise SystemExit(f"alert refused: {response.status_code} {response.text}")
        name = f"crisis-{i + 1}-"
        channel_at = await wait_for(lambda since=since, name=name: fake.first(
            "conversations.create", since, name=name))
        channel = fake.channel(name).id
        pinned_at = await wait_for(lambda since=since, channel=channel: fake.first(
            "pins.add", since, channel=channel))
        created.append(channel_at - started)
        summarized.append(pinned_at - started)
    return Series("alert -> channel created", created), \
        Series("alert -> summary posted and pinned", summarized)


async def floor_of_calls(fake: TimedSlack) -> Series:
    """The Web API calls an opening needs, back to back, with nothing else in between."""
    client = AsyncWebClient(token="xoxb-test", base_url=f"{fake.url}/api/")  # noqa: S106
    took = []
    for i in range(ALERTS):
        started = time.perf_counter()
        made = await client.conversations_create(name=f"floor-{i}")
        channel = made["channel"]["id"]
        await client.conversations_setTopic(channel=channel, topic="SEV2 · floor")
        await client.conversations_setPurpose(channel=channel, purpose="floor")
        posted = await client.chat_postMessage(channel=channel, text="INC: floor",
                                               blocks=[{"type": "section", "text": {
                                                   "type": "mrkdwn", "text": "floor"}}])
        await client.pins_add(channel=channel, timestamp=posted["ts"])
        took.append(time.perf_counter() - started)
    return Series("baseline: the 5 Web API calls alone", took)


async def commands(bot: Running, channel: str, name: str) -> Series:
    took = []
    for i in range(COMMANDS):
        started = time.perf_counter()
        response = await bot.command("U0CMD", f"status bench update {i}", channel)
        took.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"command refused: {response.status_code} {response.text}")
    return Series(name, took)


async def bare_bolt(fake: TimedSlack, running: Running) -> Series:
    """The same signed slash commands to a bolt app that only acks."""
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test",  # noqa: S106
                                         base_url=f"{fake.url}/api/"),
                   signing_secret=SIGNING_SECRET, process_before_response=False)

    async def crisis(ack: AsyncAck) -> None:
        await ack()

    app.command("/crisis")(crisis)
    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    bare = await serve(Starlette(routes=[Route("/slack/events", events, methods=["POST"])]),
                       lifespan="off")
    original = running.http.base_url
    running.http.base_url = bare.url
    try:
        return await commands(running, "CGENERAL", "baseline: bare bolt app, ack only")
    finally:
        running.http.base_url = original
        await bare.stop()


async def measure() -> list[tuple[Series, Series]]:
    fake = TimedSlack()
    await fake.start()
    scratch = Path(tempfile.mkdtemp(prefix="crisisbot-bench-slack-"))
    bot = await start(scratch, fake)
    try:
        created, summarized = await alerts(bot, fake)
        floor = await floor_of_calls(fake)
        room = fake.channel("crisis-1-").id
        await bot.command("U0CMD", "ack", room)
        acks = await commands(bot, room, "slash-command ack (`/crisis status`)")
        bolt = await bare_bolt(fake, bot)
    finally:
        await bot.stop()
        await fake.stop()
    return [(created, floor), (summarized, floor), (acks, bolt)]


def main() -> int:
    logging.disable(logging.CRITICAL)  # a tick cancelled at shutdown is not a result
    print(f"\nSlack: {ALERTS} alerts one at a time, {COMMANDS} slash commands, fake Slack "
          "on loopback, in one process")
    rows = asyncio.run(measure())
    print("\n| measured | p50 ms | p99 ms | baseline | baseline p50 ms | baseline p99 ms | "
          "p50 ratio | p99 ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for series, base in rows:
        print(f"| {series.name} | {series.pct(0.5):.1f} | {series.pct(0.99):.1f} | {base.name} "
              f"| {base.pct(0.5):.1f} | {base.pct(0.99):.1f} | "
              f"{series.pct(0.5) / base.pct(0.5):.2f}x | "
              f"{series.pct(0.99) / base.pct(0.99):.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
