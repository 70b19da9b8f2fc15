"""A small world for playbook tests: the real service, shipped playbooks and templates, the
local chat and delivery, on any store, with a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.app.team import templates_from
from bot.chat.local import LocalChat, LocalSession
from bot.console.signin import SignInLinks
from bot.content import PLAYBOOKS
from bot.content.loader import load_playbooks
from bot.core.delivery import Delivery
from bot.core.models import Alert, CrisisKind, Severity
from bot.core.pace import Schedule
from bot.core.rules import Rules
from bot.core.service import Service
from bot.core.store import Store
from bot.i18n import renderer
from bot.settings import Settings
from bot.storage.memory_rooms import MemoryRooms
from tests.unit.support import FakeClock

START = datetime(2026, 3, 14, 8, 30, tzinfo=UTC)


@dataclass
class MemoryLinks:
    """Sign-in links kept in a dict (hash -> person, expiry), as the console store keeps them."""

    links: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    async def add(self, digest: str, person: str, _now: datetime, until: datetime) -> None:
        self.links[digest] = (person, until)

    async def use(self, digest: str, now: datetime) -> str | None:
        person, until = self.links.pop(digest, ("", now))
        return person if until > now else None

    async def usable(self, digest: str, now: datetime) -> str | None:
        person, until = self.links.get(digest, ("", now))
        return person if until > now else None

    def on(self, clock: FakeClock) -> SignInLinks:
        return SignInLinks(self.add, self.use, self.usable, clock, "https://crisis.example")


@dataclass
class World:
    store: Store
    clock: FakeClock
    service: Service
    chat: LocalChat
    delivery: Delivery
    session: LocalSession

    async def say(self, name: str, text: str, incident: int | None = 1) -> list[str]:
        channel = await self.chat.space_of(incident) if incident is not None else None
        return await self.session.say(name, text, channel)

    async def channel_text(self, incident: int = 1) -> str:
        return "\n".join(await self.chat.texts(await self.chat.space_of(incident)))

    async def tick(self, minutes: float = 1) -> int:
        self.clock.advance(minutes=minutes)
        done = await self.service.tick()
        await self.delivery.flush()
        return done


def make_world(store: Store, language: str = "en") -> World:
    clock = FakeClock(START)
    rules = Rules()
    chat = LocalChat(lambda lang: renderer(lang or language), MemoryRooms())
    delivery = Delivery(store, {"local": chat}, rules)
    service = Service(store, clock, rules, schedule=Schedule(pulse_every=None),
                      playbooks=load_playbooks([PLAYBOOKS]),
                      templates=templates_from(Settings(language=language)), language=language,
                      sign_in=MemoryLinks().on(clock))
    return World(store, clock, service, chat, delivery, LocalSession(service, chat, delivery))


def mention(n: int, at: datetime, *, sentiment: float = -0.6, reach: int = 1000,
            group: str = "mentions:test", kind: CrisisKind = CrisisKind.DISINFORMATION) -> Alert:
    return Alert(source="mentions", dedup_key=f"m-{group}-{n}", group_key=group,
                 title="Fake recall story", received_at=at, severity=Severity.SEV2, kind=kind,
                 labels={"brand": "BrightMilk"}, occurred_at=at,
                 metrics={"reach": reach, "sentiment": sentiment})
