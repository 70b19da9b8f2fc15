"""Answers leave through the outbox, so the webhook returns at once (issue #11, item 7): a
burst of commands from several people, with the chat paced as Telegram requires, is answered
quickly at the webhook and every answer reaches the chat exactly once, in order; a button's
popup (`answerCallbackQuery`) is still answered inside the request; an answer Telegram told
us to hold back is delivered after a restart."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .fake_api import FakeTelegram
from .harness import TOKEN, Room, running, until

PER_SECOND = 2.0
"""Pacing per chat in the burst test: slow enough that waiting for it inside the webhook shows
(each request waited for about four answers, 1.5-2 s, before answers went through the outbox),
fast enough for a test (16 answers take eight seconds)."""


async def timed_say(room: Room, who: str, text: str) -> tuple[int, float]:
    """Send a command in the incident's topic; (its message id, the webhook's latency)."""
    update = room.update(message=room.message(who, text))
    started = time.monotonic()
    await room.deliver(update)
    return update["message"]["message_id"], time.monotonic() - started


async def person_types(room: Room, who: str) -> list[tuple[int, float]]:
    """Four commands in a row, each sent when the webhook answered the one before."""
    return [await timed_say(room, who, text)
            for text in ("/crisis help", "/crisis_timeline", "/crisis help", "/crisis_status")]


async def test_a_burst_of_16_commands_is_acknowledged_at_once_and_answered_once_in_order(
        tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=True, per_second=PER_SECOND) as room:
        fake = room.fake
        declared = await room.say("alice", "/crisis declare Fake recall notice")
        thread = await until(lambda: fake.called("createForumTopic") and [
            m["message_thread_id"] for m in fake.messages.values()
            if m["text"].startswith("INC-1") and m.get("pinned")], what="the topic")
        room.thread = thread[0]
        await room.reply(declared["message"]["message_id"], "declare")
        card = await draft_card(room)

        people = ["alice", "bob", "dave", "erin"]
        typed = await asyncio.gather(*(person_types(room, who) for who in people))
        # A button pressed while sixteen answers wait for the chat: its popup is immediate.
        started = time.monotonic()
        query = await room.press("bob", card, "a")
        pressed = time.monotonic() - started
        assert room.answers(query), "the popup is answered inside the webhook request"

        latencies = sorted(latency for commands in typed for _id, latency in commands)
        assert latencies[-1] < 1.0, f"webhook latencies {latencies}"
        assert pressed < 1.0
        commands = [message for commands in typed for message, _latency in commands]
        await until(lambda: all(room.replies_to(m) for m in commands), wait=30,
                    what="every answer")
        await asyncio.sleep(2 / PER_SECOND)  # room for a duplicate to show
        assert all(len(room.replies_to(m)) == 1 for m in commands), "one answer each"
        order = [m["reply_to_message_id"] for m in fake.messages.values()
                 if m.get("reply_to_message_id") in set(commands)]
        for sequence in typed:  # each person's answers in the order they asked
            mine = [message for message, _latency in sequence]
            assert [m for m in order if m in mine] == mine


async def draft_card(room: Room) -> int:
    """A draft posted in the topic; the id of its card (with buttons)."""
    await room.say("alice", "/crisis draft We never issued a recall.")
    found = await until(lambda: [i for i, m in room.fake.messages.items()
                                 if "Draft #1 (version 1)" in m["text"]], what="draft card")
    card: int = found[0]
    return card


async def test_an_answer_held_back_by_telegram_is_delivered_after_a_restart(
        tmp_path: Any) -> None:
    fake = FakeTelegram(TOKEN, forum=True)
    await fake.start()
    try:
        async with running(tmp_path, forum=True, webhook=True, fake=fake) as room:
            await until(lambda: fake.called("setMyCommands"), what="start-up")
            fake.failures["sendMessage"] = [2]  # "Too Many Requests: retry after 2"
            hello = await room.say("alice", "/crisis help")
            await until(lambda: fake.called("sendMessage"), what="the refused answer")
        asked = hello["message"]["message_id"]
        assert not room.replies_to(asked)
        async with running(tmp_path, forum=True, webhook=True, fake=fake) as room:
            answer = await room.reply(asked, "the answer, after the restart")
            assert "crisisbot commands:" in answer["text"]
            await asyncio.sleep(0.5)
            assert len(room.replies_to(asked)) == 1
    finally:
        await fake.stop()
