"""Keeping pace through the real Service, delivery and local chat, on every store; time is a
controllable clock, so nothing sleeps."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chat.local import LocalChat
from bot.core.delivery import Delivery
from bot.core.models import SYSTEM, Alert, EventKind, Severity, TimelineEvent
from bot.core.pace import EscalationStep, Schedule
from bot.core.report import report_lines
from bot.core.rules import Rules
from bot.core.service import Service
from bot.core.store import Store
from bot.core.text import render
from bot.core.views import timeline_lines
from bot.storage.memory_rooms import MemoryRooms
from bot.storage.sql.store import SqlStore
from tests.unit.support import FakeClock

START = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)  # a Friday
ALICE, BOB, CAROL, DAVE, ERIN = (f"local:{n}" for n in ("alice", "bob", "carol", "dave", "erin"))
CHAIN = (EscalationStep(timedelta(0), ("local:oncall",)),
         EscalationStep(timedelta(minutes=10), ("local:lead",), ("local:comms",)))
SCHEDULE = Schedule(escalation=CHAIN, timezone=ZoneInfo("Europe/Berlin"), pulse_every=None)


@dataclass
class World:
    store: Store
    clock: FakeClock
    service: Service
    chat: LocalChat
    delivery: Delivery

    async def tick(self) -> int:
        done = await self.service.tick()
        await self.delivery.flush()
        return done

    async def later(self, **delta: float) -> int:
        self.clock.advance(**delta)
        return await self.tick()

    async def said(self, incident: int = 1) -> list[str]:
        """What the bot wrote in the incident's channel, summaries and cards left out."""
        messages = await self.chat.messages(await self.chat.space_of(incident))
        return [m.text for m in messages if m.draft is None and m.id != "1"]

    async def events(self, kinds: tuple[EventKind, ...] = (EventKind.ESCALATION,
                                                           EventKind.REMINDER_SENT),
                     incident: int = 1) -> list[TimelineEvent]:
        async with self.store.unit() as unit:
            return [e for e in await unit.timeline(incident) if e.kind in kinds]


def world(store: Store, clock: FakeClock | None = None, chat: LocalChat | None = None,
          schedule: Schedule = SCHEDULE) -> World:
    rules = Rules()
    clock = clock or FakeClock(START)
    chat = chat or LocalChat(lambda _language: render, MemoryRooms())
    service = Service(store, clock, rules, schedule=schedule)
    return World(store, clock, service, chat, Delivery(store, {"local": chat}, rules))


async def is_archived(chat: LocalChat, incident: int = 1) -> bool:
    space = await chat.rooms.space(await chat.space_of(incident))
    return space is not None and space.archived


def alert(n: int = 1, severity: Severity = Severity.SEV1) -> Alert:
    return Alert("mentions", f"m-{n}", "g", "Fake recall story", START, severity=severity,
                 metrics={"sentiment": -0.5})


async def test_escalation_walks_the_chain_with_mentions_and_dms_and_stops_at_ack(
        store: Store) -> None:
    w = world(store)
    await w.service.handle_alert(alert())
    await w.delivery.flush()
    assert await w.later(minutes=4, seconds=59) == 0
    assert await w.later(seconds=1) == 1
    assert (await w.said())[-1] == ("INC-1 is still not acknowledged after 5 min; escalating to "
                            "@oncall. Acknowledge with “/crisis ack”.")
    assert [p for p, _ in (await w.chat.directs())] == ["local:oncall"]
    assert await w.later(minutes=9) == 0
    assert await w.later(minutes=1) == 1
    assert "escalating to @lead, @comms" in (await w.said())[-1]
    assert [p for p, _ in (await w.chat.directs())] == ["local:oncall", "local:lead"]
    await w.service.acknowledge(1, BOB)
    await w.later(hours=3)  # the chain is over (only status reminders from now on)
    assert len(await w.chat.directs()) == 2
    steps = [e.data["step"] for e in await w.events((EventKind.ESCALATION,))]
    assert steps == [1, 2]


async def test_ack_in_time_means_no_escalation(store: Store) -> None:
    w = world(store)
    await w.service.handle_alert(alert())
    await w.later(minutes=2)
    await w.service.acknowledge(1, BOB)
    await w.later(minutes=20)
    assert await w.events((EventKind.ESCALATION,)) == []
    assert (await w.chat.directs()) == []


async def test_a_page_still_queued_when_someone_acknowledges_is_not_sent(store: Store) -> None:
    """The chat was down when the escalation came due: its page waits in the outbox. Someone
    acknowledges (from the console, say) before the chat is back: nobody is paged for an
    incident already in hand; the channel's record of the escalation stays."""
    w = world(store)
    await w.service.handle_alert(alert())
    await w.delivery.flush()
    w.clock.advance(minutes=5)
    assert await w.service.tick() == 1  # queued, not yet delivered
    await w.service.acknowledge(1, BOB)
    await w.delivery.flush()
    assert (await w.chat.directs()) == []
    assert "escalating to @oncall" in " ".join(await w.said())


async def test_update_reminder_resets_on_update_and_reschedules_on_severity_change(
        store: Store) -> None:
    w = world(store)
    await w.service.declare(ALICE, "Troll attack", severity=Severity.SEV3)
    await w.service.assign(1, ALICE, BOB, "spokesperson")
    await w.service.status_update(1, ALICE, "Looking into it", None)
    await w.service.acknowledge(1, ALICE)
    await w.delivery.flush()
    assert await w.later(hours=3) == 0
    await w.service.status_update(1, ALICE, "Still on it")  # resets: next due at 7 h
    assert await w.later(hours=3, minutes=59) == 0
    await w.service.set_severity(1, ALICE, Severity.SEV1)  # 30 min cadence: overdue now
    assert await w.tick() == 1
    assert (await w.said())[-1] == (
        "No status update on INC-1 for 3 hr 59 min. @alice, @bob, please post "
        "one with “/crisis status <text>”.")
    assert await w.later(minutes=29) == 0
    assert await w.later(minutes=1) == 1  # reminded again one cadence later, not every tick


async def test_approval_reminders_ping_approvers_who_have_not_acted_then_the_commander(
        store: Store) -> None:
    w = world(store)
    await w.service.declare(ALICE, "Fake quote", severity=Severity.SEV2)
    await w.service.acknowledge(1, ALICE)
    for person in (BOB, CAROL, DAVE):
        await w.service.assign(1, ALICE, person, "approver")
    await w.service.assign(1, ALICE, ERIN, "spokesperson")
    await w.service.post_draft(1, ERIN, "The quote is fake.")
    await w.delivery.flush()
    w.clock.advance(minutes=3)
    await w.service.decide(1, BOB, approve=True)
    assert await w.later(minutes=6) == 0
    assert await w.later(minutes=1) == 1
    channel = await w.chat.space_of(1)
    card = await w.chat.draft_message(channel, 1)
    first = (await w.chat.messages(channel))[-1]
    assert first.thread == card  # in the draft's thread
    assert first.text == ("Draft #1 has waited 10 min for approval. @carol, @dave, please "
                          "approve with ✅ or reject with ❌ and a reason.")
    assert await w.later(minutes=10) == 1
    second = (await w.chat.messages(channel))[-1]
    assert second.thread is None
    assert second.text == ("@alice, draft #1 has still not been approved after 20 min; "
                           "waiting for @carol, @dave.")
    assert await w.later(hours=2) == 1  # only the hourly status reminder from now on
    assert [e.data["purpose"] for e in await w.events()] == ["approval", "approval", "update"]


async def test_review_follow_up_next_working_day_at_ten_in_the_team_timezone(
        store: Store) -> None:
    w = world(store, FakeClock(datetime(2024, 5, 3, 20, 0, tzinfo=UTC)))  # Friday 22:00 in Berlin
    await w.service.declare(ALICE, "Bad post", severity=Severity.SEV4)
    await w.service.resolve(1, ALICE, "Post removed")
    await w.delivery.flush()
    w.clock.at = datetime(2024, 5, 6, 7, 59, tzinfo=UTC)  # Monday 09:59 in Berlin
    assert await w.tick() == 0
    assert await w.later(minutes=1) == 1
    assert "Time for the post-incident review of INC-1" in (await w.said())[-1]
    assert (await w.chat.directs())[-1][0] == ALICE
    assert await w.later(minutes=5) == 0


async def test_auto_archive_n_days_after_resolution_once_and_reopen_restarts_it(
        store: Store) -> None:
    w = world(store, schedule=replace(SCHEDULE, archive_after=timedelta(days=14)))
    await w.service.declare(ALICE, "Bad post", severity=Severity.SEV4)
    await w.delivery.flush()
    await w.service.resolve(1, ALICE, "Post removed")
    await w.later(days=3)  # the review reminder came and went
    await w.service.reopen(1, ALICE)  # reopen cancels the pending archive...
    await w.later(days=1)
    await w.service.resolve(1, ALICE, "Really removed")  # ...and this restarts the clock
    resolved_at = w.clock.at
    await w.tick()
    w.clock.at = START + timedelta(days=14, hours=1)  # 14 days after the first resolve
    assert await w.tick() == 0
    w.clock.at = resolved_at + timedelta(days=14) - timedelta(seconds=1)
    assert await w.tick() == 0
    assert not await is_archived(w.chat)
    assert await w.later(seconds=1) == 1
    assert await is_archived(w.chat)
    assert (await w.said())[-1] == (
        "INC-1 has been resolved since 2024-05-07 12:00 UTC; archiving this channel.")
    assert await w.later(minutes=5) == 0
    assert await w.later(days=1) == 0
    [archived] = await w.events((EventKind.SPACE_ARCHIVED,))
    assert (archived.at, archived.actor) == (resolved_at + timedelta(days=14), SYSTEM)
    async with w.store.unit() as unit:
        lines = [render(line) for line in timeline_lines(await unit.timeline(1))]
    assert any(line.endswith("archived the incident channel") for line in lines)


async def test_no_auto_archive_by_default(store: Store) -> None:
    w = world(store)
    await w.service.declare(ALICE, "Bad post", severity=Severity.SEV4)
    await w.service.resolve(1, ALICE)
    await w.delivery.flush()
    await w.later(days=3)
    await w.later(days=60)
    assert not await is_archived(w.chat)
    assert await w.events((EventKind.SPACE_ARCHIVED,)) == []


async def test_repeated_ticks_never_duplicate(store: Store) -> None:
    w = world(store)
    await w.service.handle_alert(alert())
    w.clock.advance(minutes=6)
    assert [await w.tick() for _ in range(5)] == [1, 0, 0, 0, 0]
    assert len(await w.events()) == 1
    assert len(await w.chat.directs()) == 1


async def test_downtime_runs_the_latest_step_once_with_a_late_note(store: Store) -> None:
    w = world(store)
    await w.service.handle_alert(alert())
    await w.later(minutes=1)
    assert await w.later(minutes=44) == 1  # both steps were missed: one message, both people
    assert (await w.said())[-1] == ("INC-1 is still not acknowledged after 45 min; escalating to "
                            "@oncall, @lead, @comms. Acknowledge with “/crisis ack”. "
                            "(late by 30 min)")
    assert sorted(p for p, _ in (await w.chat.directs())) == ["local:lead", "local:oncall"]


async def test_timeline_and_report_show_every_action_with_its_time(store: Store) -> None:
    w = world(store)
    await w.service.handle_alert(alert())
    await w.later(minutes=5)
    await w.later(minutes=10)
    incident, drafts, events, alerts = await w.service.load(1)
    timeline = [render(line) for line in timeline_lines(events)]
    assert "2024-05-03 12:05 UTC not acknowledged: escalation step 1 to @oncall" in timeline
    assert "2024-05-03 12:15 UTC not acknowledged: escalation step 2 to @lead, @comms" in timeline
    report = [render(line) for line in
              report_lines(incident, drafts, events, alerts)]
    assert "- 2024-05-03 12:05 UTC not acknowledged: escalation step 1 to @oncall" in report
    assert "| escalations, reminders | 2, 0 |" in report


async def test_a_restart_between_scheduling_and_firing_loses_and_duplicates_nothing(
        sqlite_url: str) -> None:
    clock, chat = FakeClock(START), LocalChat(lambda _language: render, MemoryRooms())
    first = SqlStore(sqlite_url)
    w = world(first, clock, chat)
    await w.service.handle_alert(alert())
    await w.delivery.flush()
    await w.later(minutes=5)  # step 1 fires before the restart
    await first.close()

    clock.advance(minutes=12)  # down while step 2 came due
    second = SqlStore(sqlite_url)
    try:
        w = world(second, clock, chat)
        assert await w.tick() == 1
        assert await w.tick() == 0
        steps = [(e.data["step"], e.at) for e in await w.events()]
        assert steps == [(1, START + timedelta(minutes=5)), (2, START + timedelta(minutes=17))]
        assert [p for p, _ in await chat.directs()] == ["local:oncall", "local:lead"]
        assert (await w.said())[-1].endswith("(late by 2 min)")
        assert all(e.actor == SYSTEM for e in await w.events())
    finally:
        await second.close()


async def test_two_replicas_ticking_at_once_escalate_once(store_url: str | None) -> None:
    """Leadership may flap (a leader cut off mid-tick while another takes over): two
    processes on one database ticking at the same moment still send each step once, and an
    ack landing between them stops the next step."""
    if store_url is None:
        pytest.skip("the memory store lives in one process: there is no second replica")
    clock, chat = FakeClock(START), LocalChat(lambda _language: render, MemoryRooms())
    stores = [SqlStore(store_url), SqlStore(store_url)]
    try:
        one, two = (world(s, clock, chat) for s in stores)
        await one.service.handle_alert(alert())
        clock.advance(minutes=5)
        done = await asyncio.gather(one.service.tick(), two.service.tick())
        assert sorted(done) == [0, 1]
        await one.service.acknowledge(1, ALICE)
        clock.advance(minutes=10)
        assert await asyncio.gather(one.service.tick(), two.service.tick()) == [0, 0]
        assert [e.data["step"] for e in await one.events()] == [1]
    finally:
        for s in stores:
            await s.close()
