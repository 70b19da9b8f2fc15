"""Telegram's edges over loopback: the webhook's secret, an update delivered twice, 429 with
`retry_after`, direct messages to people who never started the bot, and Telegram HTML."""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import pytest

from bot.chat.telegram.api import person_of, telegram_id
from bot.chat.telegram.words import command_words, with_text_mentions
from bot.core.models import PersonId
from bot.core.text import Text, Who, _
from bot.i18n import renderer

from .fake_api import CHAT_ID, FakeTelegram
from .harness import PEOPLE, SECRET, TOKEN, Room, running, until
from .test_story import buttons, open_incident, sent


async def test_the_webhook_wants_the_secret_token(tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=True) as room:
        update = room.update(message=room.message("bob", "/crisis declare Leak"))
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            response = await room.http.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 401
            assert "secret" in response.json()["error"].lower()
        response = await room.http.post("/telegram/webhook", content=b"{not json",
                                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert response.status_code == 400
        assert not room.fake.called("createForumTopic")
        assert not room.fake.called("sendMessage")


async def test_polling_mode_refuses_webhook_posts(tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=False) as room:
        update = room.update(message=room.message("bob", "/crisis declare Leak"))
        response = await room.http.post("/telegram/webhook", json=update,
                                        headers={"X-Telegram-Bot-Api-Secret-Token": "x"})
        assert response.status_code == 401


@pytest.mark.parametrize("webhook", [True, False], ids=["webhook", "polling"])
async def test_an_update_delivered_twice_is_processed_once(tmp_path: Any,
                                                           webhook: bool) -> None:
    async with running(tmp_path, forum=True, webhook=webhook) as room:
        declare = await room.say("bob", "/crisis declare SEV1 Account takeover")
        await room.deliver(declare)
        await room.deliver(declare)
        later = await room.say("bob", "/crisis_help")
        await room.reply(later["message"]["message_id"], "help")
        await until(lambda: room.fake.called("pinChatMessage"), what="summary pinned")
        assert len(room.fake.called("createForumTopic")) == 1
        assert len(room.replies_to(declare["message"]["message_id"])) == 1


async def test_429_waits_retry_after_then_delivers_once(tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=True) as room:
        room.fake.failures["sendMessage"] = [1]
        summary = await open_incident(room)
        attempts = [c for c in room.fake.calls if c.method == "sendMessage"]
        refused, delivered = attempts[0], attempts[1]
        assert refused.params["text"] == delivered.params["text"] == summary["text"]
        assert delivered.at - refused.at >= 1.0
        assert sum(m["text"] == summary["text"] for m in room.fake.messages.values()) == 1
        assert len(room.fake.called("createForumTopic")) == 1


async def test_a_direct_message_to_someone_who_never_started_the_bot_is_skipped(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    async with running(tmp_path, forum=True, webhook=True) as room:
        room.fake.started.add(104)
        chat = room.bot.delivery.chats["telegram"]
        caplog.set_level(logging.WARNING)
        for person in ("telegram:103", "telegram:104", "slack:U1", "telegram:@ghost"):
            await chat.direct(person, [_("Reminder: {incident}", incident="INC-1")])
        tried = [int(m["chat_id"]) for m in room.fake.called("sendMessage")]
        assert tried == [103, 104]
        assert [m["chat"]["id"] for m in room.fake.messages.values()] == [104]
        assert "telegram:103" in caplog.text
        assert "start the bot" in caplog.text


async def test_html_escapes_text_but_not_mentions(tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=True) as room:
        await room.say("carol", "/crisis_help")  # the bot learns Carol's name
        await until(lambda: room.fake.called("sendMessage"), what="help reply")
        chat = room.bot.delivery.chats["telegram"]
        text = chat.html([Text("{person} said <b>{quote}</b> & left",
                               {"person": Who("telegram:103"), "quote": "<i>hi</i>"})])
        assert text == ('<a href="tg://user?id=103">Carol</a> said &lt;b&gt;&lt;i&gt;hi&lt;/i&gt;'
                        "&lt;/b&gt; &amp; left")
        assert chat.html([_("{person} is now {role}.", person=Who("slack:U1"),
                            role="legal")]) == "@U1 is now legal."


def test_persian_isolates_keep_the_link_whole() -> None:
    render = renderer("fa", lambda who: "\ue0000\ue001")
    assert "\u2068\ue0000\ue001\u2069" in render(
        _("{person} is now {role}.", person=Who("telegram:1"), role="legal"))


@pytest.mark.parametrize(("text", "words"), [
    ("/crisis ack INC-2", "ack INC-2"),
    ("/crisis@CrisisBot ack", "ack"),
    ("/crisis_ack@CrisisBot INC-2", "ack INC-2"),
    ("/crisis_role @alice legal", "role @alice legal"),
    ("/crisis", ""),
    # A statement typed on the next line keeps its case, its words and its lines.
    ("/crisis_draft\nWe are aware.\nMore soon.", "draft We are aware.\nMore soon."),
    ("/crisis_draft@CrisisBot\nHello", "draft Hello"),
    ("/crisis\tdraft Hello", "draft Hello"),
])
def test_command_words(text: str, words: str) -> None:
    assert command_words(text) == words


def test_text_mentions_become_ids_counting_utf16() -> None:
    from telegram import Message

    text = "/crisis role 👩‍💼 Zoë approver"
    offset = len("/crisis role 👩‍💼 ".encode("utf-16-le")) // 2
    message = Message.de_json({
        "message_id": 1, "date": 0, "chat": {"id": CHAT_ID, "type": "supergroup"},
        "text": text, "entities": [{"type": "text_mention", "offset": offset, "length": 3,
                                    "user": {"id": 103, "is_bot": False,
                                             "first_name": "Zoë"}}]}, None)
    assert with_text_mentions(message) == "/crisis role 👩‍💼 103 approver"


def test_people_are_telegram_ids() -> None:
    from telegram import User

    person: PersonId = person_of(User(**PEOPLE["alice"]))
    assert person == "telegram:101"


async def test_resolve_closes_the_topic_and_reopen_opens_it_before_speaking(
        tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=True) as room:
        await room.say("bob", "/crisis declare SEV3 Bad review wave")
        [topic] = await until(lambda: room.fake.called("createForumTopic"), what="topic")
        assert int(topic["icon_color"]) == 7322096  # blue: SEV3
        await until(lambda: room.fake.called("pinChatMessage"), what="summary")
        await room.say("bob", "/crisis resolve INC-1")
        await until(lambda: room.fake.called("closeForumTopic"), what="closed")
        await room.say("bob", "/crisis_reopen INC-1")
        await until(lambda: sent(room, "reopened INC-1"), what="reopened message")
        methods = [c.method for c in room.fake.calls]
        reopened = methods.index("reopenForumTopic")
        assert methods.index("closeForumTopic") < reopened
        said = [i for i, c in enumerate(room.fake.calls)
                if c.method == "sendMessage" and "reopened INC-1" in c.params["text"]]
        assert reopened < said[0]
        [closed], [opened] = room.fake.called("closeForumTopic"), room.fake.called(
            "reopenForumTopic")
        assert str(closed["message_thread_id"]) == str(opened["message_thread_id"])


async def test_the_command_list_and_answers_speak_the_configured_language(
        tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=True, language="ru") as room:
        [listed] = await until(lambda: room.fake.called("setMyCommands"), what="commands")
        commands = {c["command"]: c["description"] for c in listed["commands"]}
        assert len(commands) == len(listed["commands"])  # `draft` once
        assert any("а" <= ch <= "я" for ch in commands["crisis_ack"])
        asked = await room.say("bob", "/crisis_ack INC-9")
        answer = (await room.reply(asked["message"]["message_id"], "refusal"))["text"]
        assert "INC-9" in answer
        assert any("а" <= ch <= "я" for ch in answer)


async def draft_card(room: Room) -> int:
    """INC-1 commanded by Bob, with Alice its spokesperson and Carol its approver; the card
    of Alice's draft."""
    await open_incident(room)
    await room.say("bob", "/crisis_ack")  # Bob commands
    await room.say("bob", "/crisis role 101 spokesperson")  # Alice
    await room.say("bob", "/crisis role 103 approver")  # Carol
    posted = await room.say("alice", "/crisis draft We never issued a recall.")
    await room.reply(posted["message"]["message_id"], "draft posted")
    found = await until(lambda: [i for i, m in room.fake.messages.items()
                                 if "Draft #1 (version 1)" in m["text"]], what="card")
    card: int = found[0]
    return card


async def test_a_reason_asked_before_a_restart_is_taken_after_it(tmp_path: Any) -> None:
    """The "reply with the reason" question is stored: a restart between the question and
    the answer loses nothing."""
    fake = FakeTelegram(TOKEN, forum=True)
    await fake.start()
    try:
        async with running(tmp_path, forum=True, webhook=True, fake=fake) as room:
            card = await draft_card(room)
            await room.press("carol", card, "r")
            question = await room.question(card, "reason question")
            thread = room.thread
        async with running(tmp_path, forum=True, webhook=True, fake=fake) as room:
            room.thread = thread
            room._updates = itertools.count(9000)  # Telegram's update ids go on increasing
            await room.say("carol", "Say when the notice first appeared.",
                           reply_to=question["message_id"])
            await until(lambda: sent(room, "rejected draft #1: Say when"),
                        what="the rejection, after the restart")
            await until(lambda: buttons(fake.messages[card]) == ["v"], what="revise only")
    finally:
        await fake.stop()


class _Crash(BaseException):
    """The process dying mid-update (not an error a handler catches)."""


async def test_a_crash_while_handling_an_update_neither_loses_nor_repeats_it(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot dies after a command's effects are written but before its answer is queued:
    the webhook gets no 200, so Telegram sends the update again, after the restart. It is
    handled then, once: one incident, one topic, one answer, however often it comes."""
    fake = FakeTelegram(TOKEN, forum=True)
    await fake.start()
    try:
        async with running(tmp_path, forum=True, webhook=True, fake=fake) as room:
            declare = room.update(message=room.message("bob", "/crisis declare SEV1 Leak"))

            async def dying(*_args: Any, **_kwargs: Any) -> None:
                raise _Crash

            monkeypatch.setattr(room.bot.service, "answer", dying)
            response = await room.http.post(
                "/telegram/webhook", json=declare,
                headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert response.status_code != 200
            monkeypatch.undo()
        async with running(tmp_path, forum=True, webhook=True, fake=fake) as room:
            room._updates = itertools.count(9000)
            await room.deliver(declare)  # Telegram's retry
            await room.deliver(declare)  # and one more, as if the 200 had been lost
            asked = declare["message"]["message_id"]
            answer = await room.reply(asked, "the answer after the restart")
            assert "Declared INC-1" in answer["text"]
            later = await room.say("bob", "/crisis_help")
            await room.reply(later["message"]["message_id"], "help")
            await until(lambda: fake.called("pinChatMessage"), what="summary pinned")
            assert len(fake.called("createForumTopic")) == 1
            assert len(room.replies_to(asked)) == 1
    finally:
        await fake.stop()


def test_only_a_telegram_person_with_an_ascii_number_has_a_telegram_id() -> None:
    assert telegram_id("telegram:101") == 101
    assert telegram_id("slack:101") is None
    assert telegram_id("telegram:alice") is None
    assert telegram_id("telegram:²") is None  # `isdigit` says yes, `int` says no


async def test_a_thumbs_down_asks_the_one_who_may_reject_for_the_reason(tmp_path: Any) -> None:
    """👎 on a draft card decides nothing: the reactor is asked for the reason under the
    card, and the reply rejects; someone who may not reject is told so instead of asked."""
    async with running(tmp_path, forum=True, webhook=True) as room:
        card = await draft_card(room)
        for _ in range(500):  # the card is known once Telegram has returned it
            if await room.bot.service.incident_of_message("telegram", str(card)):
                break
            await asyncio.sleep(0.02)
        await room.react("dave", card, "👎")  # Dave has no role
        [refused] = await until(lambda: room.replies_to(card), what="the refusal")
        assert "tg://user?id=104" in refused["text"]
        assert "reason" not in refused["text"]
        await room.react("carol", card, "👎")
        question = await room.question(card, "reason question", has="reason for rejecting")
        assert "tg://user?id=103" in question["text"]
        assert "pending approval" in room.fake.messages[card]["text"]  # nothing decided yet
        await room.say("carol", "Say when the notice first appeared.",
                       reply_to=question["message_id"])
        await until(lambda: sent(room, "rejected draft #1: Say when"), what="the rejection")
