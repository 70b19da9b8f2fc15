"""`/crisis web` on Telegram, over the webhook with its secret and the fake Bot API: the sign-in
link goes to the sender's private chat (a group answer is public), signs them in to the console
of the same app once, and is never posted in the group nor written to the database; someone who
never started the bot is told in the group how to get it; an outsider gets the refusal only.

Updates are shaped as Telegram sends them (Bot API `Update`/`Message`,
https://core.telegram.org/bots/api#update); the 403 for a user who never pressed Start is
Telegram's ("Forbidden: bot can't initiate conversation with a user")."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.integration.console.browsing import signs_in_once

from .fake_api import CHAT_ID
from .harness import PEOPLE, Room, running, until
from .test_access import REFUSAL_RU, STRANGER, outside, private, sent_to

LINK = re.compile(r"http://127\.0\.0\.1:8080/signin/[\w-]+")
ALICE = PEOPLE["alice"]["id"]


def stored_bytes(tmp_path: Path) -> bytes:
    """Everything SQLite wrote (the database file and its journal)."""
    return b"".join(p.read_bytes() for p in tmp_path.glob("crisisbot.db*"))


async def ask_for_link(room: Room, who: str = "alice") -> dict[str, Any]:
    """`/crisis web` written in the team group; the bot's answer there."""
    update = await room.say(who, "/crisis web")
    return await room.reply(update["message"]["message_id"], "/crisis web")


async def test_the_link_goes_privately_and_signs_the_person_in_once(tmp_path: Path) -> None:
    async with running(tmp_path, forum=False, webhook=True) as room:
        room.fake.started.add(ALICE)
        answer = await ask_for_link(room)
        assert "private message" in answer["text"]
        [direct] = await until(lambda: sent_to(room, ALICE), what="the direct message")
        found = LINK.search(direct)
        assert found is not None, direct
        assert "10 minutes" in direct
        assert not [t for t in sent_to(room, CHAT_ID) if "/signin/" in t]
        link = urlsplit(found.group(0)).path
        assert link.rsplit("/", 1)[-1].encode() not in stored_bytes(tmp_path)

        await signs_in_once(room.http, link, "telegram:101")

        room.fake.started.add(STRANGER["id"])  # an outsider asking gets the refusal only
        update = outside(room, STRANGER, private(STRANGER), "/crisis web")
        await room.deliver(update)
        refused = await room.reply(update["message"]["message_id"], "/crisis web")
        assert REFUSAL_RU in refused["text"]
        assert not [t for t in sent_to(room, STRANGER) if "/signin/" in t]


async def test_someone_who_never_started_the_bot_is_told_what_to_do(tmp_path: Path) -> None:
    async with running(tmp_path, forum=False, webhook=True) as room:
        answer = await ask_for_link(room)
        assert "open a private chat with me, press Start" in answer["text"]
        assert "/signin/" not in answer["text"]
        assert not [m for m in room.fake.messages.values() if "/signin/" in m["text"]]


async def test_in_a_private_chat_the_link_is_the_whole_answer(tmp_path: Path) -> None:
    async with running(tmp_path, forum=False, webhook=True) as room:
        room.fake.started.add(ALICE)
        seen = await room.say("alice", "/crisis help")  # seen in the team chat: a member
        await room.reply(seen["message"]["message_id"], "help")
        update = outside(room, PEOPLE["alice"], private(PEOPLE["alice"]), "/crisis web")
        await room.deliver(update)
        [direct] = await until(lambda: sent_to(room, ALICE), what="the direct message")
        assert LINK.search(direct)



async def test_the_private_message_waits_for_the_commit(tmp_path: Path) -> None:
    """The link is sent once the update's unit has committed: no Telegram call is made while
    it holds the database (or a chat's turn the outbox may be waiting for), and the link's
    token is saved before anyone can follow it. Seen from another connection, the update is
    already recorded when the private message reaches Telegram."""
    async with running(tmp_path, forum=False, webhook=True) as room:
        room.fake.started.add(ALICE)
        seen_then: list[set[str]] = []
        send = room.fake._sendMessage

        async def watched(params: dict[str, Any]) -> Any:
            if int(params["chat_id"]) == ALICE:
                with closing(sqlite3.connect(tmp_path / "crisisbot.db", timeout=0.1)) as db:
                    keys = {key for (key,) in db.execute("SELECT key FROM seen_events")}
                seen_then.append(keys)
            return await send(params)

        room.fake._sendMessage = watched  # type: ignore[method-assign]
        update = await room.say("alice", "/crisis web")
        await until(lambda: sent_to(room, ALICE), what="the direct message")
        assert [f"telegram:{update['update_id']}" in keys for keys in seen_then] == [True]
