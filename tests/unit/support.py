"""Shared helpers for the core's unit tests: a controllable clock and a wired-up world."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.chat.local import LocalChat, local_person
from bot.core.access import Origin
from bot.core.context import Context
from bot.core.delivery import Delivery
from bot.core.models import Incident, Notice, Space, TimelineEvent
from bot.core.rules import Rules
from bot.core.service import Service
from bot.core.text import Text, render
from bot.storage.memory import MemoryStore
from bot.storage.memory_rooms import MemoryRooms

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime = START) -> None:
        self.at = start

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


def render_for(language: str | None):  # type: ignore[no-untyped-def]
    def renderer(text: Text) -> str:
        return render(text)

    return renderer


def person(name: str) -> str:
    return f"local:{name}"


ALICE, BOB, CAROL, DAVE, ERIN, MALLORY = (
    person(n) for n in ("alice", "bob", "carol", "dave", "erin", "mallory")
)


@dataclass
class World:
    store: MemoryStore
    clock: FakeClock
    service: Service
    chat: LocalChat
    delivery: Delivery
    rules: Rules

    def ctx(self, actor: str, space: Space | None = None,
            origin: Origin = Origin.TEAM) -> Context:
        return Context(actor, "local", space, resolve=local_person, origin=origin)

    async def incident(self, number: int) -> Incident:
        async with self.store.unit() as unit:
            found = await unit.get_incident(number)
        assert found is not None
        return found

    async def timeline(self, number: int) -> list[TimelineEvent]:
        async with self.store.unit() as unit:
            return await unit.timeline(number)

    async def pending(self) -> list[Notice]:
        async with self.store.unit() as unit:
            return await unit.pending_notices(10_000)

    async def snapshot(self, number: int) -> tuple[Incident, int, int, list[object]]:
        """Everything a refused command must leave alone."""
        async with self.store.unit() as unit:
            incident = await unit.get_incident(number)
            events = await unit.timeline(number)
            drafts = await unit.drafts(number)
            notices = await unit.pending_notices(10_000)
        assert incident is not None
        return incident, len(events), len(notices), list(drafts)


def make_world(rules: Rules | None = None, clock: FakeClock | None = None) -> World:
    rules = rules or Rules()
    clock = clock or FakeClock()
    store = MemoryStore()
    service = Service(store, clock, rules)
    chat = LocalChat(render_for, MemoryRooms())
    delivery = Delivery(store, {"local": chat}, rules)
    return World(store, clock, service, chat, delivery, rules)
