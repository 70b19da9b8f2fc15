"""Publishing over loopback HTTP, the way a team does it: the real app (`build` + `web_app`
under uvicorn) on Telegram, commands typed in the incident's topic, the statement going out to
a Telegram channel (fake Bot API), a Slack channel (fake Slack Web API), a webhook receiver
that verifies the Standard Webhooks signature, and the app's own `/status`, Atom feed and JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import feedparser
import pytest

from bot.chat.slack.api import slack_unescape
from bot.core.models import Notice, NoticeKind
from bot.core.ports import Once
from bot.logsafe import MASK
from tests.integration.slack.fake_slack import Channel, FakeSlack
from tests.integration.telegram.harness import PEOPLE, Room, running, until
from tests.integration.telegram.test_story import open_incident

from .receiver import SECRET, Receiver

CHANNEL, ANNOUNCE = "-1009876543210", "C0ANNOUNCE"
TEXT = ("We are aware of a fake recall notice & are checking <every> batch. "
        "\"Nothing is recalled\" — more at 10:00. Спасибо.")
PERSIAN = "ما در حال بررسی هستیم؛ هیچ محصولی فراخوان نشده است."
CORRECTION = "Update: every batch is checked; nothing is recalled."
SECRET_WORDS = ("going viral", "supplier", "Fake recall notice is going")
"""The incident's title (from the alert) and an internal note: never on the status page."""


@asynccontextmanager
async def publishing(tmp_path: Path, *, credentials: str = "", **overrides: Any
                     ) -> AsyncIterator[tuple[Room, FakeSlack, Receiver]]:
    """The app publishing everywhere; `credentials` (`?token=...`, `user:pass@`) go into the
    webhook's URL; `overrides` are more settings."""
    slack, receiver = FakeSlack(), Receiver()
    await slack.start()
    await receiver.start()
    slack.channels[ANNOUNCE] = Channel(ANNOUNCE, "announcements")
    try:
        async with running(
                tmp_path, forum=True, webhook=True,
                slack={"bot_token": "xoxb-test", "api_url": f"{slack.url}/api/"},
                publish={"status_page": True, "telegram_channel": CHANNEL,
                         "slack_channel": ANNOUNCE,
                         "webhook_url": with_credentials(receiver.url, credentials),
                         "webhook_secret": SECRET}, **overrides) as room:
            yield room, slack, receiver
    finally:
        await receiver.stop()
        await slack.stop()


def with_credentials(url: str, credentials: str) -> str:
    if credentials.endswith("@"):
        return url.replace("://", f"://{credentials}", 1)
    return url + credentials


def channel_posts(room: Room) -> list[dict[str, Any]]:
    return [p for p in room.fake.called("sendMessage") if str(p["chat_id"]) == CHANNEL]


def channel_edits(room: Room) -> list[dict[str, Any]]:
    return [e for e in room.fake.called("editMessageText") if str(e["chat_id"]) == CHANNEL]


async def answer(room: Room, who: str, text: str) -> str:
    said = await room.say(who, text)
    return str((await room.reply(said["message"]["message_id"], text))["text"])


async def prepared(room: Room) -> None:
    """INC-1 from an alert, SEV3; Bob commands, Alice approves, an internal note, draft #1."""
    await open_incident(room)
    await room.say("alice", "/crisis help")  # seen in the team chat: may be named
    await answer(room, "bob", "/crisis ack")
    await answer(room, "bob", "/crisis severity SEV3")  # one approval is enough
    await answer(room, "bob", "/crisis role @alice approver")
    await answer(room, "bob", "/crisis note Internal: the supplier has not confirmed yet")
    await answer(room, "bob", f"/crisis draft {TEXT}")


async def test_an_approved_draft_reaches_every_destination_once_with_the_same_bytes(
        tmp_path: Path) -> None:
    async with publishing(tmp_path) as (room, slack, receiver):
        await prepared(room)
        # The commander, for want of approval; an approver and a bystander, for want of the role.
        for who, why in (("bob", "not approved yet"), ("alice", "Only a spokesperson"),
                         ("erin", "Only a spokesperson")):
            assert why in await answer(room, who, "/crisis publish 1"), who
        assert "approved" in await answer(room, "alice", "/crisis approve 1")
        await answer(room, "bob", "/crisis publish 1 Recall rumour")

        [telegram] = await until(lambda: channel_posts(room), what="the channel post")
        [posted] = await until(lambda: slack.channels[ANNOUNCE].messages, what="the Slack post")
        await until(lambda: receiver.received, what="the webhook")
        [event] = receiver.events()
        assert receiver.refused == 0
        assert telegram["text"].encode() == TEXT.encode()
        assert slack_unescape(posted.text).encode() == TEXT.encode()
        assert event["type"] == "statement.published"
        assert event["data"]["text"].encode() == TEXT.encode()

        page = (await room.http.get("/status")).text
        assert "are checking &lt;every&gt; batch" in page
        assert 'lang="en"' in page
        assert "Recall rumour" in page
        feed = feedparser.parse((await room.http.get("/status/feed.atom")).content)
        assert not feed.bozo, feed.bozo_exception
        [entry] = feed.entries
        assert entry.content[0].value == TEXT
        assert entry.title == "Recall rumour"
        board = (await room.http.get("/status.json")).json()
        assert board["incidents"][0]["statements"][0]["text"] == TEXT

        timeline = await answer(room, "bob", "/crisis timeline")
        assert "is out on the Telegram channel: https://t.me/c/9876543210/" in timeline
        assert len(channel_posts(room)) == 1
        assert len(slack.channels[ANNOUNCE].messages) == 1
        assert len(receiver.received) == 1


async def test_a_correction_marks_the_earlier_statement_updated_everywhere(
        tmp_path: Path) -> None:
    async with publishing(tmp_path) as (room, slack, receiver):
        await prepared(room)
        await answer(room, "alice", "/crisis approve 1")
        await answer(room, "bob", "/crisis publish 1")
        [first] = await until(lambda: channel_posts(room), what="the first post")
        await until(lambda: receiver.received, what="the first event")
        await answer(room, "bob", f"/crisis draft revise 1 {CORRECTION}")
        assert "not approved yet" in await answer(room, "bob", "/crisis publish 1")
        await answer(room, "alice", "/crisis approve 1")
        await answer(room, "bob", "/crisis publish 1")

        await until(lambda: len(channel_posts(room)) == 2, what="the correction")
        await until(lambda: len(receiver.received) == 2, what="the updated event")
        edits = await until(lambda: room.fake.called("editMessageText") and [
            e for e in room.fake.called("editMessageText") if str(e["chat_id"]) == CHANNEL],
            what="the earlier channel post marked")
        first_id = next(i for i, m in room.fake.messages.items()
                        if m["text"].endswith(TEXT) and str(m["chat"]["id"]) == CHANNEL)
        assert edits[0]["message_id"] in (first_id, str(first_id))
        assert room.fake.messages[first_id]["text"].startswith("Updated ")
        assert first["text"] == TEXT
        await until(lambda: slack.channels[ANNOUNCE].messages[0].edits == 1,
                    what="the Slack post marked")
        updated = receiver.events()[1]
        assert updated["type"] == "statement.updated"
        assert updated["data"]["replaces"] == receiver.events()[0]["data"]["id"]

        board = (await room.http.get("/status.json")).json()
        [incident] = board["incidents"]
        assert [s["text"] for s in incident["statements"]] == [CORRECTION, TEXT]
        assert incident["statements"][1]["updated_at"] is not None
        said = await room.say("bob", "/crisis report")
        await room.reply(said["message"]["message_id"], "the report")
        report = "\n".join(m["text"] for m in room.replies_to(said["message"]["message_id"]))
        assert "time to first published statement" in report
        assert "## Publications" in report


async def test_the_status_page_never_shows_an_unpublished_word(tmp_path: Path) -> None:
    async with publishing(tmp_path) as (room, _slack, receiver):
        await prepared(room)
        await answer(room, "bob", "/crisis draft Second draft: the supplier sent wrong labels")
        await answer(room, "alice", "/crisis approve 1")
        await answer(room, "bob", "/crisis publish 1")
        await until(lambda: receiver.received, what="the webhook")
        bodies = [(await room.http.get(path)).text
                  for path in ("/status", "/status/feed.atom", "/status.json")]
        assert TEXT.split("&")[0] in json.loads(bodies[2])["incidents"][0]["statements"][0][
            "text"]
        for body in bodies:
            for word in (*SECRET_WORDS, "Second draft", "wrong labels", "Internal"):
                assert word.lower() not in body.lower(), (word, body[:300])


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
async def test_status_routes_are_get_only_and_take_no_body(tmp_path: Path, method: str) -> None:
    async with publishing(tmp_path) as (room, _slack, _receiver):
        for path in ("/status", "/status/feed.atom", "/status.json"):
            response = await room.http.request(method, path, content=b"x" * 10)
            assert response.status_code == 405, (path, response.text)
            assert response.json() == {"error": "Method Not Allowed"}
        response = await room.http.request("GET", "/status", content=b"x" * 10)
        assert response.status_code == 413
        assert response.json() == {"error": "this route takes no request body"}


async def test_uptime_checkers_may_ask_with_head(tmp_path: Path) -> None:
    """HEAD (UptimeRobot's default) answers as GET would, without the body."""
    async with publishing(tmp_path) as (room, _slack, _receiver):
        for path in ("/healthz", "/status", "/status/feed.atom", "/status.json"):
            got = await room.http.get(path)
            head = await room.http.head(path)
            assert (head.status_code, head.content) == (200, b""), path
            assert head.headers["content-type"] == got.headers["content-type"], path


async def test_a_persian_statement_reads_right_to_left_on_the_page(tmp_path: Path) -> None:
    async with publishing(tmp_path) as (room, _slack, receiver):
        await prepared(room)
        await answer(room, "bob", "/crisis lang fa")
        await answer(room, "bob", f"/crisis draft {PERSIAN}")
        await answer(room, "alice", "/crisis approve 2")
        await answer(room, "bob", "/crisis publish 2")
        await until(lambda: receiver.received, what="the webhook")
        page = (await room.http.get("/status")).text
        assert 'lang="fa" dir="rtl"' in page
        assert "منتشرشده در" in page
        assert PERSIAN in page
        feed = feedparser.parse((await room.http.get("/status/feed.atom")).content)
        assert feed.entries[0].content[0].language == "fa"


HOSTILE = ("Line one\x0b\x1b[31m & <b>bold</b> ]]> \"q\" 'a' 🙂👍🏽\r\n"
           f"{PERSIAN}\n\n  indented\x00 end\ufffe")
"""Control characters XML 1.0 cannot carry (a vertical tab, an escape, NUL, U+FFFE), a CRLF,
markup, emoji, Persian, inner blank lines and leading spaces (given to the service as is:
`/crisis draft` joins its words with single spaces)."""


async def test_a_statement_with_control_characters_keeps_the_feed_well_formed(
        tmp_path: Path) -> None:
    async with publishing(tmp_path) as (room, slack, receiver):
        await prepared(room)
        await room.bot.service.post_draft(1, f"telegram:{PEOPLE['bob']['id']}", HOSTILE)
        await answer(room, "alice", "/crisis approve 2")
        await answer(room, "bob", "/crisis publish 2 Recall <rumour>\x07")
        await until(lambda: receiver.received, what="the webhook")
        [telegram] = await until(lambda: channel_posts(room), what="the channel post")
        [posted] = await until(lambda: slack.channels[ANNOUNCE].messages, what="the Slack post")
        assert telegram["text"] == HOSTILE
        assert slack_unescape(posted.text) == HOSTILE
        assert receiver.events()[0]["data"]["text"] == HOSTILE
        assert (await room.http.get("/status.json")).json()["incidents"][0][
            "statements"][0]["text"] == HOSTILE

        response = await room.http.get("/status/feed.atom")
        assert response.status_code == 200
        feed = feedparser.parse(response.content)
        assert not feed.bozo, feed.bozo_exception
        [entry] = feed.entries
        # What XML cannot carry reads as U+FFFD; every other character, the CR included, stays.
        assert entry.content[0].value == HOSTILE.translate(
            {0x0b: "\ufffd", 0x1b: "\ufffd", 0x00: "\ufffd", 0xfffe: "\ufffd"})
        assert entry.title == "Recall <rumour>\ufffd"
        page = (await room.http.get("/status")).text
        assert "&lt;b&gt;bold&lt;/b&gt; ]]&gt;" in page


async def test_a_correction_delivered_again_after_it_landed_posts_nothing_and_succeeds(
        tmp_path: Path) -> None:
    """A replica that died after delivering the correction but before marking its notice done:
    the next one re-delivers it (the earlier post's edit then changes nothing, which Telegram
    answers "message is not modified")."""
    async with publishing(tmp_path) as (room, slack, receiver):
        await prepared(room)
        await answer(room, "alice", "/crisis approve 1")
        await answer(room, "bob", "/crisis publish 1")
        await until(lambda: receiver.received, what="the first event")
        await answer(room, "bob", f"/crisis draft revise 1 {CORRECTION}")
        await answer(room, "alice", "/crisis approve 1")
        second = await room.bot.service.publish(1, f"telegram:{PEOPLE['bob']['id']}", 1)
        await until(lambda: len(receiver.received) == 2, what="the correction")
        await until(lambda: slack.channels[ANNOUNCE].messages[0].edits == 1,
                    what="the Slack post marked")
        await until(lambda: len(channel_edits(room)) == 1, what="the channel post marked")
        assert room.bot.delivery.publisher is not None
        for name in ("telegram", "slack", "webhook", "status"):
            await room.bot.delivery.publisher.deliver(
                Notice(1, NoticeKind.PUBLISH, second.at, destination=name,
                       publication=second.id, id=10**6, attempts=2),
                Once(10**6, retry=True))
        assert len(channel_posts(room)) == 2
        assert len(slack.channels[ANNOUNCE].messages) == 2
        assert len(receiver.received) == 2
        assert len(channel_edits(room)) == 2  # "not modified", taken as done


async def test_a_destination_that_is_down_holds_up_nothing_else_and_gets_it_once(
        tmp_path: Path) -> None:
    """The webhook's receiver answers 503: the team still hears that the statement went out
    and sees its card marked published, the other destinations have it, the team is told
    (once) that the webhook has not got it and why, and the webhook gets it once when its
    receiver is back."""
    async with publishing(tmp_path) as (room, slack, receiver):
        await prepared(room)
        await answer(room, "alice", "/crisis approve 1")
        receiver.down = True
        await answer(room, "bob", "/crisis publish 1")
        await until(lambda: receiver.attempts, what="the webhook tried")
        await until(lambda: [m for m in room.fake.messages.values()
                             if "published draft #1" in m["text"]], what="the team told")
        await until(lambda: slack.channels[ANNOUNCE].messages, what="the Slack post")
        [told] = await until(lambda: [m for m in room.fake.messages.values()
                                      if "is not out on the webhook yet" in m["text"]],
                             what="the team told of the failure")
        assert "webhook answered HTTP 503" in told["text"]
        assert not receiver.received
        await until(lambda: receiver.attempts >= 2, what="the webhook retried")
        receiver.down = False
        await until(lambda: receiver.received, what="the webhook, once back")
        assert len([m for m in room.fake.messages.values()
                    if "is not out on" in m["text"]]) == 1
        assert [len(bodies) for bodies in receiver.received.values()] == [1]
        assert len(channel_posts(room)) == 1


async def test_a_destination_that_refuses_is_given_up_and_the_team_told(tmp_path: Path) -> None:
    """A refusal that retrying does not cure (the receiver knows another secret: 401): after
    the outbox's attempts the team hears that the statement is not out there and will not
    be, so someone posts it by hand; the other destinations have it."""
    quick = {"max_attempts": 2, "backoff": 0.05, "max_backoff": 0.1}
    async with publishing(tmp_path, outbox=quick) as (room, slack, receiver):
        receiver.secret = "whsec_" + "c2VjcmV0LW9mLWFub3RoZXItdGVhbQ=="
        await prepared(room)
        await answer(room, "alice", "/crisis approve 1")
        await answer(room, "bob", "/crisis publish 1")
        [told] = await until(lambda: [m for m in room.fake.messages.values()
                                      if "has stopped trying" in m["text"]],
                             what="the team told the webhook was given up")
        assert "is not out on the webhook: webhook refused the statement: HTTP 401" in (
            told["text"])
        assert "(attempts made: 2); post it there by hand" in told["text"]
        assert receiver.refused == 2
        assert not receiver.received
        assert slack.channels[ANNOUNCE].messages


@pytest.mark.parametrize("credentials", ["?token=hook-very-secret", "hook:very-secret@",
                                         "/services/T01/B02/very-secret-0123456789abcdef"])
async def test_the_webhook_url_credentials_reach_no_log_timeline_or_report(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, credentials: str) -> None:
    """Delivered after a 503 (the failure is logged and told to the team), then accepted."""
    caplog.set_level(logging.DEBUG)
    async with publishing(tmp_path, credentials=credentials) as (room, _slack, receiver):
        await prepared(room)
        await answer(room, "alice", "/crisis approve 1")
        receiver.down = True
        await answer(room, "bob", "/crisis publish 1")
        await until(lambda: receiver.attempts, what="the webhook tried")
        receiver.down = False
        await until(lambda: receiver.received, what="the webhook")
        timeline = await answer(room, "bob", "/crisis timeline")
        assert f"is out on the webhook: {receiver.url}" in timeline
        said = await room.say("bob", "/crisis report")
        await room.reply(said["message"]["message_id"], "the report")
        seen = [caplog.text, *(m["text"] for m in room.fake.messages.values())]
        assert not [text for text in seen if "very-secret" in text]
        posts = [line for line in caplog.text.splitlines()
                 if "HTTP Request: POST" in line and "/hooks/crisis" in line]
        assert posts  # httpx logs each request
        assert all(MASK in line for line in posts)
