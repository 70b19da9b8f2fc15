"""The Publish button under an approved draft card, pressed on Slack (a signed
`block_actions` request) and on Telegram (a callback query through the webhook): the
spokesperson's or commander's press publishes the version the card shows; anyone else's is
refused in words only they see."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.integration.slack.fake_slack import Channel, FakeSlack, Message
from tests.integration.slack.harness import Running, start
from tests.integration.slack.harness import until as slack_until
from tests.integration.slack.test_slack_story import (
    APPROVER1,
    APPROVER2,
    AUTHOR,
    cards,
    setup_incident,
)
from tests.integration.telegram.harness import until

from .test_publish_http import CHANNEL, TEXT, answer, channel_posts, prepared, publishing


async def test_slack_publish_button(tmp_path: Path, fake: FakeSlack) -> None:
    fake.channels["C0NEWSROOM"] = Channel("C0NEWSROOM", "news")
    bot = await start(tmp_path, fake, publish={"status_page": True, "slack_channel": "C0NEWSROOM"})
    try:
        channel = await setup_incident(bot, fake)
        [card] = cards(fake, channel)
        value = next(e["value"] for b in card.blocks or [] if b["type"] == "actions"
                     for e in b["elements"])
        for approver in (APPROVER1, APPROVER2):
            await bot.button(approver, channel, card.ts, "crisis_approve", value)
        buttons = await slack_until(lambda: publish_buttons(card))
        assert buttons[0]["action_id"] == "crisis_publish"
        await bot.button(APPROVER1, channel, card.ts, "crisis_publish", buttons[0]["value"])
        refusal = await slack_until(lambda: fake.ephemerals(APPROVER1))
        assert "Only a spokesperson or the commander" in refusal[-1]
        assert not fake.channels["C0NEWSROOM"].messages
        await bot.button(AUTHOR, channel, card.ts, "crisis_publish", buttons[0]["value"])
        [posted] = await slack_until(lambda: fake.channels["C0NEWSROOM"].messages)
        assert posted.text == "We are aware of checkout problems and are fixing them."
        board = (await bot.http.get("/status.json")).json()
        assert board["incidents"][0]["statements"][0]["text"] == posted.text
        # The card, refreshed through the outbox, says so and offers Publish no more.
        await slack_until(lambda: "Published " in str(card.blocks)
                          and not any(b.get("block_id") == "publish" for b in card.blocks or []))
    finally:
        await bot.stop()


def inbound_jobs(db: Path) -> list[tuple[str, bool, str | None]]:
    """(kind, done, result) of every stored inbound job."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, done_at, result FROM inbound_jobs ORDER BY id")
        return [(kind, done is not None, result) for kind, done, result in rows]


def publish_buttons(card: Message) -> list[dict[str, str]]:
    return [e for b in card.blocks or [] if b.get("block_id") == "publish"
            for e in b["elements"]]


async def test_slack_presses_acknowledged_before_a_crash_are_done_after_the_restart(
        tmp_path: Path, fake: FakeSlack) -> None:
    """Approve and Publish presses are stored before Slack hears "ok": a process that stops
    right after answering (its inbound worker down) loses neither; the next one does them."""
    fake.channels["C0NEWSROOM"] = Channel("C0NEWSROOM", "news")
    settings = {"publish": {"status_page": True, "slack_channel": "C0NEWSROOM"}}
    db = tmp_path / "slack.db"

    async def pressed_then_crashed(bot: Running, presses: list[tuple[str, str, str]]) -> None:
        await bot.bot.inbound.stop()  # nothing runs after the answer to Slack
        for user, action, value in presses:
            assert (await bot.button(user, channel, card.ts, action, value)).status_code == 200
        await asyncio.sleep(0.5)
        await bot.stop()

    bot = await start(tmp_path, fake, **settings)
    try:
        channel = await setup_incident(bot, fake)
        [card] = cards(fake, channel)
        value = next(e["value"] for b in card.blocks or [] if b["type"] == "actions"
                     for e in b["elements"])
    except BaseException:
        await bot.stop()
        raise
    await pressed_then_crashed(bot, [(APPROVER1, "crisis_approve", value),
                                     (APPROVER2, "crisis_approve", value)])
    assert not publish_buttons(card)
    assert inbound_jobs(db)[-2:] == [("slack.approve", False, None)] * 2

    bot = await start(tmp_path, fake, **settings)
    try:
        [button] = await slack_until(lambda: publish_buttons(card))
    except BaseException:
        await bot.stop()
        raise
    await pressed_then_crashed(bot, [(AUTHOR, "crisis_publish", button["value"])])
    assert not fake.channels["C0NEWSROOM"].messages
    assert inbound_jobs(db)[-1] == ("slack.publish", False, None)

    bot = await start(tmp_path, fake, **settings)
    try:
        [posted] = await slack_until(lambda: fake.channels["C0NEWSROOM"].messages)
        assert posted.text == "We are aware of checkout problems and are fixing them."
        await slack_until(lambda: all(done for _kind, done, _result in inbound_jobs(db)))
        assert all(result is None for _kind, _done, result in inbound_jobs(db))
    finally:
        await bot.stop()


async def test_telegram_publish_button(tmp_path: Path) -> None:
    async with publishing(tmp_path) as (room, _slack, _receiver):
        await prepared(room)
        await answer(room, "alice", "/crisis approve 1")

        def publish_cards() -> list[int]:
            return [i for i, m in room.fake.messages.items()
                    if any(b["callback_data"].endswith(":p")
                           for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                           for b in row)]

        [card] = await until(publish_cards, what="the Publish button")
        query = await room.press("erin", card, "p")
        [refused] = await until(lambda: room.answers(query), what="the refusal")
        assert "Only a spokesperson or the commander" in refused["text"]
        assert refused["show_alert"] in (True, "true")
        assert not channel_posts(room)
        await room.press("bob", card, "p")
        [post] = await until(lambda: channel_posts(room), what="the channel post")
        assert post["text"] == TEXT
        assert str(post["chat_id"]) == CHANNEL
        # The card, refreshed through the outbox, says so and offers Publish no more.
        await until(lambda: "Published " in room.fake.messages[card]["text"]
                    and not publish_cards(), what="the card marked published")
