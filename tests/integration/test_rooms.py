"""The built-in chat's rooms, on every store (memory, SQLite, PostgreSQL): what the local chat
posted comes back with author, time and thread, reactions once each, and a restarted bot
still speaks in the channels an earlier run opened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app.wiring import build
from bot.core.models import EventKind
from bot.core.rooms import BOT, Reaction, RoomMessage, Rooms
from bot.settings import load
from bot.storage.memory_rooms import MemoryRooms
from bot.storage.sql.rooms import SqlRooms
from bot.storage.sql.store import SqlStore
from tests.integration.test_scheduler import alert

AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


@pytest.fixture
async def rooms(store_url: str | None) -> AsyncIterator[Rooms]:
    if store_url is None:
        yield MemoryRooms()
        return
    store = SqlStore(store_url)
    try:
        yield SqlRooms(store)
    finally:
        await store.close()


async def test_spaces_messages_threads_and_reactions(rooms: Rooms) -> None:
    assert await rooms.open_space("crisis-1-outage") == "crisis-1-outage"
    assert await rooms.open_space("crisis-1-outage") == "crisis-1-outage-2"
    assert await rooms.add_members("crisis-1-outage", ["local:a", "local:b", "local:a"]) == [
        "local:a", "local:b"]
    assert await rooms.add_members("crisis-1-outage", ["local:b", "local:c"]) == ["local:c"]
    first = await rooms.post(RoomMessage("crisis-1-outage", BOT, AT, "Summary", draft=None))
    reply = await rooms.post(RoomMessage("crisis-1-outage", "local:a", AT, "Seen",
                                         thread=first))
    await rooms.edit("crisis-1-outage", first, "Summary, edited")
    await rooms.pin("crisis-1-outage", first)
    await rooms.set_state("crisis-1-outage", closed=True, archived=False)
    for _ in range(2):
        await rooms.react(Reaction(first, "local:b", "white_check_mark", AT))

    [space, other] = await rooms.spaces()
    assert (space.name, space.members, space.closed, space.archived) == (
        "crisis-1-outage", ["local:a", "local:b", "local:c"], True, False)
    assert other.name == "crisis-1-outage-2"
    summary, answer = await rooms.messages("crisis-1-outage")
    assert (summary.id, summary.author, summary.at, summary.text, summary.pinned,
            summary.edits) == (first, BOT, AT, "Summary, edited", True, 1)
    assert (answer.id, answer.author, answer.thread) == (reply, "local:a", first)
    assert await rooms.message("crisis-1-outage-2", first) is None
    assert await rooms.reactions(first) == [Reaction(first, "local:b", "white_check_mark", AT)]

    dm = await rooms.direct_space("local:a")
    assert dm == await rooms.direct_space("local:a")
    found = await rooms.space(dm)
    assert found is not None
    assert (found.direct, found.members) == (True, ["local:a"])


async def test_an_incident_opened_before_a_restart_gets_its_escalation_after_it(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    """The first run opens the incident and its channel, then stops; the next run's scheduler
    escalates into that channel and DMs the on-call person (before: KeyError until the outbox
    gave up, while the timeline said the escalation was sent)."""
    monkeypatch.setenv("CRISISBOT_SCHEDULE__ACK_TIMEOUT", "1s")
    monkeypatch.setenv("CRISISBOT_SCHEDULE__TICK", "0.2")
    monkeypatch.setenv("CRISISBOT_SCHEDULE__ESCALATION",
                       '[{"after": "0s", "people": ["local:oncall"]}]')
    first = await build(load(database_url=sqlite_url))
    await first.service.handle_alert(alert())
    await first.delivery.flush()
    channel = await first.local.space_of(1)
    await first.close()

    second = await build(load(database_url=sqlite_url))
    assert second.scheduler is not None
    second.scheduler.start()
    try:
        # The channel message and the DM are two notices: wait for both (and an empty
        # outbox), however slowly a loaded machine delivers them.
        for _ in range(200):
            texts = await second.local.texts(channel)
            directs = await second.local.directs()
            async with second.store.unit() as unit:
                pending = await unit.pending_notices(10)
            if directs and not pending and texts[-1].startswith("INC-1 is still"):
                break
            await asyncio.sleep(0.05)
        assert texts[-1].startswith("INC-1 is still not acknowledged")
        assert [person for person, _text in directs] == ["local:oncall"]
        assert pending == []  # every notice delivered
        events = (await second.service.load(1))[2]
        assert [e.kind for e in events].count(EventKind.ESCALATION) == 1
    finally:
        await second.close()
