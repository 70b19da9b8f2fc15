"""People a chat platform has shown us, in the database."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.models import KnownPerson, PersonId
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.tables import PersonRow


class SqlPeople(SqlRole):
    """The `People` port."""

    async def remember_person(self, person: KnownPerson) -> None:
        row = await self._s.get(PersonRow, person.person)
        if row is None:
            row = PersonRow(person=person.person, platform=person.person.split(":", 1)[0])
            self._s.add(row)
        row.name = person.name[:255]
        row.username = person.username
        row.username_key = person.username.lower() if person.username else None
        await self._s.flush()

    async def person_by_username(self, platform: str, username: str) -> PersonId | None:
        found: str | None = await self._s.scalar(
            select(PersonRow.person)
            .where(PersonRow.platform == platform, PersonRow.username_key == username.lower())
            .limit(1)
        )
        return found

    async def known_people(self, platform: str) -> list[KnownPerson]:
        rows = await self._s.scalars(select(PersonRow).where(PersonRow.platform == platform))
        return [KnownPerson(row.person, row.name, row.username) for row in rows]
