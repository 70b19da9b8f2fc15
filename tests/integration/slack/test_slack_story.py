"""The Slack story end to end over loopback HTTP: alert -> channel (after one `name_taken`) ->
roles -> draft -> refused self-approval -> approvals by reaction and by button -> ready to
publish in the thread -> resolve -> report; one 429 on the first post; revisions and
rejections from the thread and the modal; signatures; duplicate events; restart."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from bot.core.models import EventKind
from tests.integration.slack.fake_slack import Channel, FakeSlack, Message
from tests.integration.slack.harness import Running, start, until

COMMANDER, AUTHOR, APPROVER1, APPROVER2, LEGAL = "U0CMD", "U0AUT", "U0AP1", "U0AP2", "U0LEG"


def cards(fake: FakeSlack, channel: str) -> list[Message]:
    return [m for m in fake.channels[channel].messages if m.text.startswith("Draft #")]


async def setup_incident(bot: Running, fake: FakeSlack) -> str:
    """An alert opens INC-1; the commander acks and hands out roles; the author drafts."""
    assert (await bot.alert("Checkout is down", severity="high")).status_code == 200
    channel = (await until(lambda: [c for c in fake.channels.values()
                                    if c.name.startswith("crisis-1-")]))[0]
    await until(lambda: channel.pins)
    for text in ["ack", f"role <@{AUTHOR}|author> spokesperson",
                 f"role <@{APPROVER1}> approver", f"role <@{APPROVER2}> approver",
                 f"role <@{LEGAL}> legal"]:
        # One at a time, as a person types: each answer arrives before the next command.
        answered = len(fake.responses)
        assert (await bot.command(COMMANDER, text, channel.id)).status_code == 200
        await until(lambda answered=answered: len(fake.responses) > answered)
    await until(lambda: set(channel.members) >= {AUTHOR, APPROVER1, APPROVER2, LEGAL})
    await bot.command(AUTHOR, "draft We are aware of checkout problems and are fixing them.",
                      channel.id)
    await until(lambda: cards(fake, channel.id))
    return channel.id


async def test_the_whole_story(tmp_path: Path, fake: FakeSlack) -> None:
    fake.taken.add("crisis-1-checkout-is-down")
    fake.fail("chat.postMessage", 429, {"ok": False, "error": "ratelimited"},
              headers={"Retry-After": "1"})
    fake.channels["CANNOUNCE"] = Channel("CANNOUNCE", "announce")
    bot = await start(tmp_path, fake, slack={"broadcast_channel": "#announce"})
    try:
        started = time.monotonic()
        channel = await setup_incident(bot, fake)
        room = fake.channels[channel]
        # One name_taken, then the next free name; topic, purpose, summary pinned.
        names = [a["name"] for a in fake.called("conversations.create")]
        assert names[:2] == ["crisis-1-checkout-is-down", "crisis-1-checkout-is-down-2"]
        assert len(fake.channels) == 2
        assert room.name == "crisis-1-checkout-is-down-2"
        assert "Checkout is down" in room.topic
        assert "INC-1" in room.purpose
        assert room.pins[0] == room.messages[0].ts
        assert room.messages[0].text.startswith("INC-1: Checkout is down")
        # The 429 was honoured: the first post came again after Retry-After.
        posts = fake.called("chat.postMessage")
        assert posts[0]["metadata"]["event_type"] == "crisisbot_notice"
        assert time.monotonic() - started >= 1.0
        # The opening was retried whole: same channel, one announcement.
        assert [a["name"] for a in fake.called("conversations.create")][-1] == room.name
        [announced] = fake.channels["CANNOUNCE"].messages
        assert announced.text.startswith("New incident INC-1")
        assert f"<#{channel}>" in announced.text

        [card] = cards(fake, channel)
        assert "by <@U0AUT>" in card.text
        assert "Approvals: 0 of 2 (approver)" in card.text
        actions = next(b for b in card.blocks or [] if b["type"] == "actions")
        assert [e["action_id"] for e in actions["elements"]] == ["crisis_approve",
                                                                 "crisis_reject"]

        # The author's own ✅ is refused, in a note only she sees.
        await bot.react(AUTHOR, channel, card.ts, "white_check_mark")
        refusal = await until(lambda: fake.ephemerals(AUTHOR))
        assert "You wrote this draft" in refusal[0]

        # An approver reacts, the other clicks Approve: approved, said in the thread.
        await bot.react(APPROVER1, channel, card.ts, "white_check_mark")
        await until(lambda: "Approvals: 1 of 2" in card.text)
        await bot.button(APPROVER2, channel, card.ts, "crisis_approve",
                         actions["elements"][0]["value"])
        ready = await until(lambda: [m for m in room.messages if m.thread_ts == card.ts])
        assert "approved and ready to publish" in ready[0].text
        assert "<@U0AP1>" in ready[0].text
        await until(lambda: "State: approved, ready to publish" in card.text)

        await bot.command(COMMANDER, "resolve Fixed the payment provider config.", channel)
        await until(lambda: any("resolved INC-1" in m.text for m in room.messages))
        await bot.command(COMMANDER, "report", channel)
        report = await until(lambda: [r for r in fake.responses if "INC-1" in r["text"]
                                      and "approved" in r["text"].lower()
                                      and r["response_type"] == "ephemeral"])
        assert report
        # Nothing was posted twice.
        texts = [m.text for m in room.messages]
        assert len(texts) == len(set(texts))
    finally:
        await bot.stop()


async def test_reject_by_reaction_and_modal_and_revise_in_thread(tmp_path: Path,
                                                                 fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        channel = await setup_incident(bot, fake)
        room = fake.channels[channel]
        [card] = cards(fake, channel)
        # ❌ from someone who may not reject is refused; from Legal it asks for the reason in
        # the thread, and a `reject:` reply gives it.
        await bot.react("U0NOBODY", channel, card.ts, "x")
        [refused] = await until(lambda: fake.ephemerals("U0NOBODY"))
        assert refused.startswith("Rejecting needs the role approver or legal")
        await bot.react(LEGAL, channel, card.ts, "x")
        ask = await until(lambda: fake.ephemerals(LEGAL))
        assert "reject: &lt;reason&gt;" in ask[0]  # Slack shows it as typed: <reason>
        reply = fake.user_message(channel, LEGAL, "reject: promises a date", card.ts)
        await bot.event({"type": "message", "channel": channel, "user": LEGAL,
                         "text": reply.text, "ts": reply.ts, "thread_ts": card.ts})
        await until(lambda: "State: rejected" in card.text)
        # The author revises from the thread: a new card, approvals start over.
        reply = fake.user_message(channel, AUTHOR, "revise: We are fixing checkout.", card.ts)
        await bot.event({"type": "message", "channel": channel, "user": AUTHOR,
                         "text": reply.text, "ts": reply.ts, "thread_ts": card.ts})
        new = (await until(lambda: [c for c in cards(fake, channel) if "version 2" in c.text]))[0]
        # Reject button -> modal; a submission without a role is refused inside the modal.
        value = "1:1:2"
        await bot.button(APPROVER1, channel, new.ts, "crisis_reject", value)
        view = (await until(lambda: fake.called("views.open")))[0]["view"]
        assert view["callback_id"] == "crisis_reject"
        submission = {"type": "view_submission", "user": {"id": "U0NOBODY"}, "view": {
            **view, "id": "V1", "state": {"values": {"reason": {"reason": {
                "type": "plain_text_input", "value": "tone"}}}}}}
        refused = await bot.interact(submission)
        assert refused.json()["response_action"] == "errors"
        submission["user"] = {"id": APPROVER1}
        accepted = await bot.interact(submission)
        assert accepted.status_code == 200
        assert not accepted.content
        await until(lambda: "State: rejected" in new.text)
        assert any("rejected draft #1: tone" in m.text for m in room.messages)
    finally:
        await bot.stop()


async def test_signatures_and_duplicate_events(tmp_path: Path, fake: FakeSlack) -> None:
    bot = await start(tmp_path, fake)
    try:
        channel = await setup_incident(bot, fake)
        forged = await bot.signed("text=help", "application/x-www-form-urlencoded",
                                  secret="not-the-secret")
        assert forged.status_code == 401
        old = await bot.signed("text=help", "application/x-www-form-urlencoded",
                               timestamp=int(time.time()) - 600)
        assert old.status_code == 401
        # A message pinned with 📌 goes to the timeline once, though Slack sent it twice.
        said = fake.user_message(channel, APPROVER1, "Support sees 40 tickets/min")
        await bot.react(COMMANDER, channel, said.ts, "pushpin", event_id="EvPIN")
        retried = await bot.react(COMMANDER, channel, said.ts, "pushpin", event_id="EvPIN",
                                  headers={"X-Slack-Retry-Num": "1",
                                           "X-Slack-Retry-Reason": "http_timeout"})
        assert retried.status_code == 200
        # The bot's own messages are not echoed back into the timeline.
        await bot.react(COMMANDER, channel, fake.channels[channel].messages[0].ts, "pushpin")

        async def pinned() -> list[dict[str, object]]:
            events = (await bot.bot.service.load(1))[2]
            return [dict(e.data) for e in events if e.kind is EventKind.MESSAGE_PINNED]

        for _ in range(50):
            if await pinned():
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        [note] = await pinned()
        assert note["text"] == "Support sees 40 tickets/min"
        assert note["author"] == f"slack:{APPROVER1}"
        assert str(note["link"]).startswith("https://t.slack.com/archives/")
    finally:
        await bot.stop()


async def test_restart_delivers_what_was_left_and_nothing_twice(tmp_path: Path,
                                                                fake: FakeSlack) -> None:
    # The first post is stored by Slack but its answer is lost; the look-up that would find
    # it (after the one made before the first post) meets 503s until the process stops.
    fake.fail("chat.postMessage", 500, after_storing=True)
    fake.hang("conversations.history", 0)
    fake.fail("conversations.history", 503, times=1000)
    bot = await start(tmp_path, fake)
    try:
        await bot.command(COMMANDER, "declare SEV2 Data leak rumour")
        await until(lambda: len(fake.called("conversations.history")) >= 3)
    finally:
        await bot.stop()
    assert len(fake.called("chat.postMessage")) == 1
    room = fake.channel("crisis-1-")
    assert len(room.messages) == 1  # the summary, posted once, never marked
    fake.failures.clear()
    again = await start(tmp_path, fake)  # new process objects on the same SQLite file
    try:
        await until(lambda: room.pins)
        await again.command(COMMANDER, "ack", room.id)
        await until(lambda: any("acknowledged INC-1" in m.text for m in room.messages))
    finally:
        await again.stop()
    summaries = [m for m in room.messages if m.text.startswith("INC-1: Data leak rumour")]
    assert len(summaries) == 1
    assert room.pins == [summaries[0].ts]
    assert len(fake.called("conversations.create")) == 1
    assert json.dumps(summaries[0].metadata).count("crisisbot_notice") == 1


async def test_summary_pinned_after_pins_add_failed_once(tmp_path: Path, fake: FakeSlack) -> None:
    """The summary is posted, `pins.add` fails: the retry pins the posted message (not a new
    one), and later refreshes edit it without pinning again."""
    fake.fail("pins.add", 500)
    bot = await start(tmp_path, fake)
    try:
        await bot.command(COMMANDER, "declare SEV2 Pins are flaky")
        room = await until(lambda: fake.channels and fake.channel("crisis-1-"))
        await until(lambda: room.pins)
        [summary] = [m for m in room.messages if m.text.startswith("INC-1: Pins are flaky")]
        assert room.pins == [summary.ts]
        assert [a["timestamp"] for a in fake.called("pins.add")] == [summary.ts] * 2
        await bot.command(COMMANDER, "ack", room.id)
        await until(lambda: "Status: acknowledged" in summary.text)
        assert len(fake.called("pins.add")) == 2
        assert len([m for m in room.messages if m.text.startswith("INC-1:")]) == 1
    finally:
        await bot.stop()
