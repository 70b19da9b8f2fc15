"""Only the team counts on Telegram, over the webhook with its secret and the fake Bot API:
commands from a stranger's private chat or from another group get one line saying why (in the
stranger's language when the bot speaks it) and nothing about any incident, and change nothing;
a team member seen in the team chat (or bound in `[[people]]`) may use a private chat; button
presses, reactions and replies from other chats do nothing.

Updates are shaped as Telegram sends them (Bot API `Update`/`Message`/`CallbackQuery`/
`MessageReactionUpdated`, https://core.telegram.org/bots/api#update): a private chat has the
user's id and `type: private`; another group a negative id of its own."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.core.models import Severity, Status

from .harness import PEOPLE, Room, running, until
from .test_story import open_incident

STRANGER = {"id": 666, "is_bot": False, "first_name": "Mallory", "username": "mallory",
            "language_code": "ru"}
OTHER_GROUP = {"id": -1009999999999, "type": "supergroup", "title": "Not the team"}
REFUSAL_EN = ("crisisbot takes commands only in its team's chat, and in private chats from "
              "people it knows from there.")
REFUSAL_RU = "crisisbot принимает команды только в чате своей команды"


def private(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"]}


def outside(room: Room, user: dict[str, Any], chat: dict[str, Any], text: str,
            **extra: Any) -> dict[str, Any]:
    """A message written in `chat` (not the team chat)."""
    message: dict[str, Any] = {"message_id": room.fake.next_id(), "date": int(time.time()),
                               "chat": chat, "from": user, "text": text, **extra}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    return room.update(message=message)


def sent_to(room: Room, chat: int) -> list[str]:
    return [m["text"] for m in room.fake.called("sendMessage") if int(m["chat_id"]) == chat]


COMMANDS = ["/crisis report INC-1", "/crisis_ack INC-1", "/crisis role INC-1 666 commander",
            "/crisis severity INC-1 SEV1", "/crisis resolve INC-1", "/crisis note INC-1 pwned",
            "/crisis timeline INC-1", "/crisis declare SEV1 Fake breach", "/crisis help"]


@pytest.mark.parametrize(("user", "chat", "refusal"), [
    pytest.param(STRANGER, private(STRANGER), REFUSAL_RU, id="stranger-private-chat"),
    pytest.param({**PEOPLE["bob"]}, OTHER_GROUP, REFUSAL_EN, id="other-group"),
])
async def test_commands_from_outside_the_team_get_one_line_and_change_nothing(
        tmp_path: Any, user: dict[str, Any], chat: dict[str, Any], refusal: str) -> None:
    async with running(tmp_path, forum=True, webhook=True) as room:
        room.fake.started.add(STRANGER["id"])
        await open_incident(room)
        before = await room.bot.service.load(1)
        for text in COMMANDS:
            update = outside(room, user, chat, text)
            await room.deliver(update)
            answer = await room.reply(update["message"]["message_id"], text)
            assert refusal in answer["text"], (text, answer["text"])
            assert "\n" not in answer["text"]
        answers = sent_to(room, chat["id"])
        assert len(answers) == len(COMMANDS)
        assert not [a for a in answers if "INC-1" in a or "Fake recall" in a]
        incident, _drafts, events, _alerts = await room.bot.service.load(1)
        assert (incident.status, incident.severity, incident.roles) == (
            Status.TRIGGERED, Severity.SEV2, {})
        assert len(events) == len(before[2])
        assert len(room.fake.called("createForumTopic")) == 1
        async with room.bot.store.unit() as unit:
            assert [i.number for i in await unit.incidents()] == [1]


async def test_team_members_may_use_a_private_chat_and_strangers_are_not_learnt(
        tmp_path: Any) -> None:
    maryam = {"id": 93372553, "is_bot": False, "first_name": "Maryam", "username": "maryam"}
    async with running(tmp_path, forum=True, webhook=True,
                       people=[{"name": "Maryam", "ids": ["telegram:93372553"]}]) as room:
        room.fake.started.update({102, STRANGER["id"], maryam["id"]})
        await open_incident(room)
        await room.say("bob", "/crisis_ack")  # Bob is seen in the team chat
        await until(lambda: room.bot.telegram and "telegram:102" in room.bot.telegram._known,
                    what="Bob learnt")
        # A stranger writes privately first: that does not make them known.
        await room.deliver(outside(room, STRANGER, private(STRANGER), "hello"))
        for who in (PEOPLE["bob"], maryam):
            update = outside(room, who, private(who), "/crisis report INC-1")
            await room.deliver(update)
            answer = await room.reply(update["message"]["message_id"], "report")
            assert "INC-1" in answer["text"]
            assert "Fake recall" in answer["text"]
        role = await room.say("bob", "/crisis role @mallory approver")
        refused = await room.reply(role["message"]["message_id"], "refusal")
        assert "I have not seen @mallory yet" in refused["text"]


async def test_buttons_reactions_and_replies_from_other_chats_do_nothing(tmp_path: Any) -> None:
    async with running(tmp_path, forum=True, webhook=True) as room:
        await open_incident(room)
        for text in ("/crisis_ack", "/crisis role 101 spokesperson",
                     "/crisis role 103 approver"):
            await room.say("bob", text)
        posted = await room.say("alice", "/crisis draft We never issued a recall.")
        await room.reply(posted["message"]["message_id"], "draft posted")
        card_id = (await until(lambda: [i for i, m in room.fake.messages.items()
                                        if "Draft #1 (version 1)" in m["text"]],
                               what="card"))[0]
        card = room.fake.messages[card_id]
        data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        assert data.endswith(":a")
        # Carol (an approver) presses Approve on a copy of the card in another group, a
        # stranger on one in their private chat.
        for who, chat in ((PEOPLE["carol"], OTHER_GROUP), (STRANGER, private(STRANGER))):
            query = f"q{room.fake.next_id()}"
            await room.deliver(room.update(callback_query={
                "id": query, "from": who, "chat_instance": "elsewhere", "data": data,
                "message": {**{k: v for k, v in card.items()
                               if k not in {"reply_to_message_id", "pinned",
                                            "message_thread_id", "is_topic_message"}},
                            "chat": chat}}))
            [answer] = await until(lambda query=query: room.answers(query), what="answer")
            assert answer["show_alert"] in (True, "true")
            assert "team's chat" in answer["text"] or "чате своей команды" in answer["text"]
        # A 👍 by Carol on that message id, seen in another group; a reply there to a card.
        await room.deliver(room.update(message_reaction={
            "chat": OTHER_GROUP, "message_id": card_id, "user": PEOPLE["carol"],
            "date": int(time.time()), "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}]}))
        await room.deliver(outside(room, PEOPLE["erin"], OTHER_GROUP, "Nope",
                                   reply_to_message={"message_id": card_id,
                                                     "date": int(time.time()),
                                                     "chat": OTHER_GROUP, "text": "x"}))
        later = await room.say("bob", "/crisis_timeline")  # handled after the ones above
        await room.reply(later["message"]["message_id"], "timeline")
        _incident, drafts, _events, _alerts = await room.bot.service.load(1)
        assert drafts[0].decisions == []
        assert "Approvals: 0 of 2" in room.fake.messages[card_id]["text"]
        assert not sent_to(room, OTHER_GROUP["id"])
