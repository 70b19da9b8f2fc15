"""The crisis story on Telegram, end to end over loopback HTTP: an alert opens a topic (or, in a
group that is not a forum, a pinned message whose replies hold the conversation), roles are
given by @username, text mention and numeric id, a draft is rejected by button with a reason,
revised, refused to its author, approved by a button and a reaction, declared ready to publish,
the incident is resolved (topic closed) and reported. Webhook and polling, forum and plain."""

from __future__ import annotations

from typing import Any

import pytest
from telegram.constants import ForumIconColor

from .fake_api import CHAT_ID
from .harness import ALERT_SECRET, Room, running, until

MODES = [
    pytest.param(True, True, id="forum-webhook"),
    pytest.param(True, False, id="forum-polling"),
    pytest.param(False, True, id="plain-webhook"),
    pytest.param(False, False, id="plain-polling"),
]


def sent(room: Room, needle: str) -> list[dict[str, Any]]:
    return [m for m in room.fake.called("sendMessage") if needle in m["text"]]


def buttons(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {"inline_keyboard": [[]]}
    return [b["callback_data"][-1] for b in markup["inline_keyboard"][0]]


async def open_incident(room: Room) -> dict[str, Any]:
    """Alert in; wait for the topic (or pinned incident message) and the pinned summary."""
    response = await room.http.post(
        "/alerts/generic", headers={"Authorization": f"Bearer {ALERT_SECRET}"},
        json={"title": "Fake recall notice is going viral", "severity": "SEV2",
              "kind": "disinformation", "fingerprint": "recall-1"})
    assert response.status_code == 200, response.text
    fake = room.fake
    summary = (await until(lambda: [m for m in fake.messages.values()
                                    if m["text"].startswith("INC-1: Fake recall")
                                    and "continues in replies" not in m["text"]
                                    and m.get("pinned")], what="pinned summary"))[0]
    if fake.forum:
        [topic] = fake.called("createForumTopic")
        assert topic["name"] == "crisis-1-fake-recall-notice-is-going-viral"
        assert int(topic["icon_color"]) == ForumIconColor.YELLOW  # SEV2
        room.thread = summary["message_thread_id"]
    else:
        [root] = sent(room, "continues in replies")
        room.thread = next(i for i, m in fake.messages.items() if m["text"] == root["text"])
        assert fake.messages[room.thread]["pinned"]
        assert summary["message_thread_id"] == room.thread
    return summary


@pytest.mark.parametrize(("forum", "webhook"), MODES)
async def test_the_crisis_story(tmp_path: Any, forum: bool, webhook: bool) -> None:
    async with running(tmp_path, forum=forum, webhook=webhook) as room:
        fake = room.fake
        commands = await until(lambda: fake.called("setMyCommands"), what="command list")
        names = [c["command"] for c in commands[0]["commands"]]
        assert names[0] == "crisis"
        assert "crisis_approve" in names
        if not webhook:
            [polled, *_] = await until(lambda: fake.called("getUpdates"), what="polling")
            assert fake.called("deleteWebhook")
            assert set(polled["allowed_updates"]) == {
                "message", "callback_query", "message_reaction"}

        summary = await open_incident(room)

        # People show up; the commander acknowledges (the update is delivered twice).
        hello = await room.say("alice", "/crisis@CrisisBot help")
        assert "crisisbot commands:" in (await room.reply(hello["message"]["message_id"]))["text"]
        await room.say("erin", "/crisis_help")
        ack = await room.say("bob", "/crisis_ack")
        await room.deliver(ack)
        done = await room.reply(ack["message"]["message_id"], "ack")
        assert done["text"] == "Done."
        await room.say("bob", "/crisis_timeline")  # a later update: the duplicate is behind it
        await until(lambda: len(sent(room, "acknowledged")) >= 1, what="ack notice")
        assert len(room.replies_to(ack["message"]["message_id"])) == 1
        assert not sent(room, "already acknowledged")

        # Roles by @username, by text mention (no username) and by numeric id.
        await room.say("bob", "/crisis role @alice spokesperson")
        text = "/crisis role Carol approver"
        await room.say("bob", text, entities=[{"type": "text_mention", "offset": 13,
                                               "length": 5, "user": {"id": 103,
                                                                     "is_bot": False,
                                                                     "first_name": "Carol"}}])
        await room.say("bob", "/crisis role 104 approver")
        await room.say("bob", "/crisis_role@CrisisBot @erin legal")
        unknown = await room.say("bob", "/crisis role @nobody approver")
        refusal = await room.reply(unknown["message"]["message_id"], "refusal")
        assert "I have not seen @nobody yet" in refusal["text"]
        await until(lambda: "Legal" in fake.messages[summary["message_id"]]["text"],
                    what="summary with roles")
        roles = fake.messages[summary["message_id"]]["text"]
        assert '<a href="tg://user?id=103">Carol</a>' in roles
        assert '<a href="tg://user?id=101">Alice</a>' in roles
        assert '<a href="tg://user?id=104">' in roles

        # A draft, with what it quotes escaped for Telegram HTML.
        posted = await room.say("alice", "/crisis draft to:@fake_news We never issued a "
                                         "recall. <Details> & facts at example.com")
        await room.reply(posted["message"]["message_id"], "draft posted")
        card_v1 = await until(lambda: [i for i, m in fake.messages.items()
                                       if "Draft #1 (version 1)" in m["text"]], what="card")
        card = fake.messages[card_v1[0]]
        assert "&lt;Details&gt; &amp; facts" in card["text"]
        assert buttons(card) == ["a", "r", "v"]

        # Legal rejects by button; the reason comes as a reply to the bot's question.
        query = await room.press("erin", card_v1[0], "r")
        await until(lambda: room.answers(query), what="callback answer")
        question = await room.question(card_v1[0], "reason question")
        assert question["reply_markup"] == {"force_reply": True, "selective": True}
        assert "tg://user?id=105" in question["text"]
        await room.say("erin", "Do not link to the rumour itself.",
                       reply_to=question["message_id"])
        await until(lambda: sent(room, "rejected draft #1: Do not link"), what="rejection")
        await until(lambda: buttons(fake.messages[card_v1[0]]) == ["v"], what="revise only")

        # The author revises through the Revise button.
        query = await room.press("alice", card_v1[0], "v")
        question = await room.question(card_v1[0], "revise question", has="new text")
        await room.say("alice", "We never issued a recall; the notice is fake.",
                       reply_to=question["message_id"])
        card_v2 = (await until(lambda: [i for i, m in fake.messages.items()
                                        if "Draft #1 (version 2)" in m["text"]],
                               what="card v2"))[0]

        # Refusals come back as callback alerts: the author, and a press on the old card.
        query = await room.press("alice", card_v2, "a")
        [answer] = await until(lambda: room.answers(query), what="self-approval answer")
        assert answer["show_alert"] in (True, "true")
        assert "You wrote this draft" in answer["text"]
        query = await room.press("carol", card_v1[0], "v")
        await until(lambda: room.answers(query), what="old card answer")
        query = await room.press("bob", card_v2, "a")
        [answer] = await until(lambda: room.answers(query), what="missing role answer")
        assert answer["show_alert"] in (True, "true")
        assert "Approving needs the role approver" in answer["text"]

        # Approvals: Carol by button, Dave by reaction.
        query = await room.press("carol", card_v2, "a")
        [answer] = await until(lambda: room.answers(query), what="approval answer")
        assert answer["text"] == "You approved draft #1."
        await until(lambda: "Approvals: 1 of 2" in fake.messages[card_v2]["text"],
                    what="card shows one approval")
        await room.react("dave", card_v2, "👍")
        ready = await until(lambda: [m for m in room.replies_to(card_v2)
                                     if "ready to publish" in m["text"]], what="ready")
        assert "tg://user?id=103" in ready[0]["text"]
        await until(lambda: "reply_markup" not in fake.messages[card_v2]
                    and "approved, ready to publish" in fake.messages[card_v2]["text"],
                    what="card approved without buttons")

        # Resolve: the topic closes; the report answers in the thread.
        await room.say("bob", "/crisis resolve Rumour contained")
        await until(lambda: "resolved" in fake.messages[summary["message_id"]]["text"],
                    what="summary resolved")
        if forum:
            [closed] = await until(lambda: fake.called("closeForumTopic"), what="topic closed")
            assert int(closed["message_thread_id"]) == room.thread
        else:
            assert not fake.called("closeForumTopic")
        report = await room.say("bob", "/crisis_report")
        text = (await room.reply(report["message"]["message_id"], "report"))["text"]
        assert "INC-1" in text
        assert "Fake recall" in text

        # Everything about INC-1 stayed in its thread.
        for message in fake.called("sendMessage"):
            if int(message["chat_id"]) != CHAT_ID:
                continue
            if forum:
                assert int(message["message_thread_id"]) == room.thread
            elif message["text"] != fake.messages[room.thread]["text"]:
                assert "reply_parameters" in message
