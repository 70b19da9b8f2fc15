"""Telegram webhook latency under a burst of commands (issue 11, item 7): the bot as `serve`
builds it (uvicorn on loopback, SQLite) against the fake Bot API of the tests, Telegram's real
pacing (one message a second per chat, twenty a minute per group).

Four people each type four commands in the team group, one after another (the next when the
webhook answered the one before), all four at once: 16 webhook requests, on a warm server (the
four spoke before, one command was answered). Measured: each
request's latency (p50, p99), and the time from the first command until every answer is in the
chat (answered by the fake), against its floor, 15 s of pacing for 16 messages at one a second.
Baseline in the same run: the same burst to a bare Starlette route that checks the secret
token, parses the update with python-telegram-bot and answers 200 (no work). Each round uses a
fresh bot, database and fake, right before the baseline's turn; a first, unreported round
warms the process (imports). The shared machine's speed drifts between rounds, so the median
per-round figures and ratios are reported. Environment: BENCH_TELEGRAM_ROUNDS (default 5).
Run alone: `python -m benchmarks.telegram`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any, cast

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import Bot, Update

from benchmarks.slack import Series
from tests.integration.telegram.fake_api import FakeTelegram
from tests.integration.telegram.harness import SECRET, TOKEN, Room, running, until
from tests.serving import serve

ROUNDS = int(os.environ.get("BENCH_TELEGRAM_ROUNDS", "5"))
PEOPLE = ["alice", "bob", "dave", "erin"]
COMMANDS = ["/crisis help", "/crisis_status", "/crisis help", "/crisis_timeline"]
PER_SECOND = 1.0


async def burst(room: Room) -> tuple[list[float], list[int], float]:
    """(each webhook's latency, the commands' message ids, the burst's start)."""

    async def person(who: str) -> list[tuple[int, float]]:
        typed = []
        for text in COMMANDS:
            update = room.update(message=room.message(who, text))
            started = time.perf_counter()
            await room.deliver(update)
            typed.append((update["message"]["message_id"], time.perf_counter() - started))
        return typed

    began = time.perf_counter()
    typed = [t for ts in await asyncio.gather(*(person(who) for who in PEOPLE)) for t in ts]
    return [latency for _id, latency in typed], [m for m, _latency in typed], began


async def crisisbot_round(scratch: Path) -> tuple[list[float], float, int]:
    """(webhook latencies, seconds until every answer was in the chat, answers counted)."""
    fake = FakeTelegram(TOKEN, forum=True)
    await fake.start()
    try:
        async with running(scratch, forum=True, webhook=True, fake=fake,
                           per_second=PER_SECOND, per_group=20) as room:
            await until(lambda: fake.called("setMyCommands"), what="start-up")
            # A warm server: the four are known (they spoke before) and one command has run.
            for who in PEOPLE:
                await room.say(who, "hello")
            warm = await room.say("alice", "/crisis help")
            await room.reply(warm["message"]["message_id"], "the warm-up answer")
            await asyncio.sleep(1 / PER_SECOND)
            latencies, asked, began = await burst(room)
            await until(lambda: all(room.replies_to(m) for m in asked), wait=120,
                        what="every answer")
            delivered = max(c.at for c in fake.calls if c.method == "sendMessage")
            answers = sum(len(room.replies_to(m)) for m in asked)
    finally:
        await fake.stop()
    # The fake stamps calls with time.monotonic(); perf_counter shares its clock on Linux,
    # but take no chances: convert through the offset between the two.
    offset = time.perf_counter() - time.monotonic()
    return latencies, delivered + offset - began, answers


async def bare_round() -> list[float]:
    """The same burst to a route that only checks the token and parses the update."""
    bot = Bot(TOKEN)

    async def webhook(request: Request) -> JSONResponse:
        if request.headers.get("x-telegram-bot-api-secret-token") != SECRET:
            return JSONResponse({"error": "secret"}, status_code=401)
        Update.de_json(json.loads(await request.body()), bot)
        return JSONResponse({"ok": True})

    bare = await serve(Starlette(routes=[Route("/telegram/webhook", webhook,
                                               methods=["POST"])]), lifespan="off")
    try:
        async with httpx.AsyncClient(base_url=bare.url) as http:
            room = Room(FakeTelegram(TOKEN, forum=True), http, webhook=True,
                        bot=cast(Any, None))  # only its update builders are used
            latencies, _asked, _began = await burst(room)
    finally:
        await bare.stop()
    return latencies


async def measure() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="crisisbot-bench-telegram-"))
    (scratch / "warm").mkdir()
    await crisisbot_round(scratch / "warm")  # the process's first imports; not reported
    await bare_round()
    print("\n| round | crisisbot p50 ms | crisisbot p99 ms | bare p50 ms | bare p99 ms | "
          "p99 ratio | all answered after s | floor s | answers |")
    print("|---|---|---|---|---|---|---|---|---|")
    rows: list[tuple[Series, Series, float]] = []
    for round_ in range(1, ROUNDS + 1):
        (scratch / f"bot-{round_}").mkdir()
        latencies, delivered, answers = await crisisbot_round(scratch / f"bot-{round_}")
        mine, floor = Series("crisisbot", latencies), Series("bare", await bare_round())
        rows.append((mine, floor, delivered))
        print(f"| {round_} | {mine.pct(0.5):.1f} | {mine.pct(0.99):.1f} | {floor.pct(0.5):.1f} "
              f"| {floor.pct(0.99):.1f} | {mine.pct(0.99) / floor.pct(0.99):.1f}x | "
              f"{delivered:.2f} | {(len(latencies) - 1) / PER_SECOND:.0f} | "
              f"{answers}/{len(latencies)} |", flush=True)
    print(f"\nmedians over {ROUNDS} rounds: crisisbot p50 "
          f"{median(m.pct(0.5) for m, _f, _d in rows):.1f} ms, p99 "
          f"{median(m.pct(0.99) for m, _f, _d in rows):.1f} ms (goal: p99 < 100 ms); bare "
          f"route p50 {median(f.pct(0.5) for _m, f, _d in rows):.1f} ms, p99 "
          f"{median(f.pct(0.99) for _m, f, _d in rows):.1f} ms; p99 ratio "
          f"{median(m.pct(0.99) / f.pct(0.99) for m, f, _d in rows):.1f}x; every answer in "
          f"the chat after {median(d for _m, _f, d in rows):.2f} s")


def main() -> int:
    logging.disable(logging.CRITICAL)  # a tick cancelled at shutdown is not a result
    print(f"\nTelegram: {len(PEOPLE)} people x {len(COMMANDS)} commands at once, fake Bot API "
          f"on loopback, {PER_SECOND:.0f} message/s per chat, {ROUNDS} round(s)")
    asyncio.run(measure())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
