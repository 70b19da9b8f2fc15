"""People a chat platform has shown us: remembered, so `@username` in a command names an id
and a mention shows a name after a restart."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.models import KnownPerson, PersonId
from bot.core.tx import Tx


async def remember(tx: Tx, people: Sequence[KnownPerson]) -> None:
    for person in people:
        await tx.unit.remember_person(person)


async def by_username(tx: Tx, platform: str, username: str) -> PersonId | None:
    return await tx.unit.person_by_username(platform, username)


async def known(tx: Tx, platform: str) -> list[KnownPerson]:
    return await tx.unit.known_people(platform)
