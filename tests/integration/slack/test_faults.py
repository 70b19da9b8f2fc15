"""Fault injection (issue #18): the fake Slack fails the ways Slack does — 500s, 429s with
`Retry-After`, hangs, reset connections, answers lost after the action happened — on command
and from fixed seeds. After each scenario: one channel per incident, one summary, every notice
posted once (found by the outbox id in its message metadata), every acknowledged event in the
timeline, every command acked within Slack's 3 seconds."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from bot.app.server import CannotStart
from bot.chat.slack.api import refusal
from bot.core.models import EventKind
from bot.core.store import Store
from bot.settings import ConfigError, load
from tests.integration.slack.fake_slack import Channel, FakeSlack
from tests.integration.slack.harness import Running, start, until

# Bounded, so a hang fails one scenario quickly, with its stacks.
pytestmark = pytest.mark.timeout(60)

COMMANDER, HELPER = "U0CMD", "U0HLP"
ACK_LIMIT = 3.0
"""Slack shows the user an error when a slash command is not acknowledged within 3 s."""


def rooms(fake: FakeSlack, number: int) -> list[Channel]:
    return [c for c in fake.channels.values() if c.name.startswith(f"crisis-{number}-")]


def posted_notices(fake: FakeSlack) -> Counter[int]:
    """How many messages each outbox notice id marks, over every channel."""
    counts: Counter[int] = Counter()
    for channel in fake.channels.values():
        for message in channel.messages:
            notice = ((message.metadata or {}).get("event_payload") or {}).get("notice")
            if notice is not None:
                counts[int(notice)] += 1
    return counts


async def settled(store: Store, within: float = 30.0) -> None:
    """Wait until the outbox has nothing left to deliver."""
    async def pending() -> int:
        async with store.unit() as unit:
            return len(await unit.pending_notices(1000))

    deadline = time.monotonic() + within
    while await pending():
        assert time.monotonic() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.1)


def assert_exactly_once(fake: FakeSlack, db: Path, incidents: int) -> None:
    for number in range(1, incidents + 1):
        [room] = rooms(fake, number)
        assert f"INC-{number}" in room.purpose
        summaries = [m for m in room.messages if m.text.startswith(f"INC-{number}:")]
        assert len(summaries) == 1, [m.text[:40] for m in room.messages]
        assert room.pins == [summaries[0].ts]
    counts = posted_notices(fake)
    assert all(n == 1 for n in counts.values()), counts
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, kind, delivered_at, result FROM notices").fetchall()
    assert all(delivered is not None for _id, _kind, delivered, _r in rows), rows
    assert not [r for r in rows if str(r[3]).startswith("failed")], rows
    messages = [notice for notice, kind, _d, _r in rows if kind == "message"]
    assert messages
    assert all(counts[notice] == 1 for notice in messages)


async def command(bot: Running, text: str, channel: str = "CGENERAL",
                  user: str = COMMANDER) -> None:
    """A slash command, acked within Slack's limit with an empty body (the answer comes
    through `response_url`)."""
    started = time.monotonic()
    answered = len(bot.fake.responses)
    response = await bot.command(user, text, channel)
    assert time.monotonic() - started < ACK_LIMIT
    assert response.status_code == 200
    assert response.text == ""
    await until(lambda: len(bot.fake.responses) > answered)


async def declare(bot: Running, fake: FakeSlack, number: int) -> Channel:
    await command(bot, f"declare SEV2 Trouble number {number}")
    [room] = await until(lambda: rooms(fake, number), within=20)
    await until(lambda: room.pins, within=20)  # the summary: the channel is recorded
    await command(bot, "ack", room.id)
    await command(bot, f"role <@{HELPER}> spokesperson", room.id)
    return room


@pytest.mark.parametrize(("method", "fault"), [
    ("conversations.setTopic", "500"),
    ("conversations.setPurpose", "reset"),
    ("conversations.create", "lost"),
    ("conversations.create", "lost500"),
])
async def test_channel_opened_once_whatever_fails(tmp_path: Path, fake: FakeSlack, method: str,
                                                  fault: str) -> None:
    fake.inject(method, fault)
    bot = await start(tmp_path, fake)
    try:
        await declare(bot, fake, 1)
        await settled(bot.bot.store)
    finally:
        await bot.stop()
    assert not [c for c in fake.channels.values() if c.name.endswith("-2")]
    [room] = rooms(fake, 1)
    assert room.topic
    assert HELPER in room.members
    assert_exactly_once(fake, tmp_path / "slack.db", 1)


async def test_summary_posted_once_when_its_answer_is_lost_and_a_refresh_follows(
        tmp_path: Path, fake: FakeSlack) -> None:
    """The first summary post reaches Slack, its answer is lost (429, retry in 2 s); an `ack`
    queues a refresh meanwhile, which supersedes the first: it finds the lost post by its
    metadata instead of posting a second summary."""
    fake.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"},
              headers={"Retry-After": "2"}, after_storing=True)
    bot = await start(tmp_path, fake)
    try:
        await command(bot, "declare SEV2 Lost answers")
        [room] = await until(lambda: rooms(fake, 1))
        await until(lambda: room.messages)
        await command(bot, "ack", room.id)
        await until(lambda: room.pins, within=15)
        await settled(bot.bot.store)
    finally:
        await bot.stop()
    assert_exactly_once(fake, tmp_path / "slack.db", 1)


@pytest.mark.parametrize("seed", [18, 29])
async def test_every_notice_once_under_seeded_chaos(tmp_path: Path, fake: FakeSlack,
                                                    seed: int) -> None:
    fake.chaos(["chat.postMessage", "chat.update", "conversations.create",
                "conversations.setTopic", "conversations.setPurpose", "conversations.invite",
                "conversations.info", "conversations.list", "conversations.history",
                "pins.add"], seed=seed, share=0.3, calls=5)
    bot = await start(tmp_path, fake)
    try:
        for number in (1, 2):
            await declare(bot, fake, number)
        await settled(bot.bot.store, within=40)
    finally:
        await bot.stop()
    assert_exactly_once(fake, tmp_path / "slack.db", 2)


async def test_commands_acked_in_time_while_slack_fails_or_hangs(tmp_path: Path,
                                                                  fake: FakeSlack) -> None:
    """`auth.test` fails once at start-up (retried), then fails or hangs 15 s on every call,
    and the channel calls hang: every command is still acked at once and answered."""
    fake.fail("auth.test", 500)
    bot = await start(tmp_path, fake, slack={"timeout": "1"})
    try:
        assert len(fake.called("auth.test")) == 2
        fake.fail("auth.test", 500, times=50)
        fake.hang("conversations.create", 15.0, times=3)
        await command(bot, "declare SEV1 Everything hangs")
        fake.failures["auth.test"] = []
        fake.hang("auth.test", 15.0, times=50)
        await command(bot, "ack INC-1")
        assert fake.responses[-1]["text"] == "Done."
        await until(lambda: rooms(fake, 1), within=20)
        await settled(bot.bot.store)
    finally:
        await bot.stop()
    assert len(fake.called("auth.test")) == 2  # only at start-up
    assert not [r for r in fake.responses if "apologize" in str(r)]
    assert_exactly_once(fake, tmp_path / "slack.db", 1)


async def test_pins_reach_the_timeline_though_slack_fails_while_handling_them(
        tmp_path: Path, fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        room = await declare(bot, fake, 1)
        said = [fake.user_message(room.id, HELPER, f"Update {n}") for n in range(3)]
        fake.fail("conversations.history", 500)
        fake.reset("chat.getPermalink")
        fake.rate_limit("conversations.history", 1)
        for message in said:
            assert (await bot.react(COMMANDER, room.id, message.ts, "pushpin")).status_code \
                == 200

        async def pinned() -> list[str]:
            events = (await bot.bot.service.load(1))[2]
            return sorted(str(e.data["text"]) for e in events
                          if e.kind is EventKind.MESSAGE_PINNED)

        for _ in range(150):
            if len(await pinned()) == 3:
                break
            await asyncio.sleep(0.1)
        assert await pinned() == ["Update 0", "Update 1", "Update 2"]
    finally:
        await bot.stop()


def test_the_lease_must_outlast_the_slowest_notice() -> None:
    with pytest.raises(ConfigError, match=r"outbox\.lease: 5 s is too short"):
        load(outbox={"lease": "5s"})
    assert load(outbox={"lease": "12s"}, slack={"timeout": "1s"},
                telegram={"timeout": "1s"}).outbox.lease.total_seconds() == 12


async def test_serve_stops_in_one_line_when_slack_refuses_the_token(tmp_path: Path,
                                                                    fake: FakeSlack) -> None:
    fake.fail("auth.test", 200, {"ok": False, "error": "invalid_auth"})
    with pytest.raises(CannotStart, match=r"^Slack did not confirm the bot token \(auth\.test\): "
                                          r"invalid_auth$"):
        await start(tmp_path, fake)
    assert len(fake.called("auth.test")) == 1  # a refusal is not retried


@pytest.mark.parametrize("timestamp", ["", "soon", "²", "9" * 5000])
def test_a_timestamp_that_is_no_number_is_a_401_not_a_500(timestamp: str) -> None:
    headers = {"x-slack-request-timestamp": timestamp, "x-slack-signature": "v0=00",
               "content-type": "application/json"}
    assert refusal(SignatureVerifier("secret"), headers, b"{}") == (
        401, "missing or wrong Slack signature")
