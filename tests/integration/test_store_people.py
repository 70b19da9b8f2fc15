"""Known people (for @username lookups and mention names) behave the same on every store."""

from __future__ import annotations

from bot.core.models import KnownPerson
from bot.core.store import Store


async def test_people_are_found_by_username_case_insensitively(store: Store) -> None:
    async with store.unit() as unit:
        await unit.remember_person(KnownPerson("telegram:42", "Alice", "Alice_PR"))
        await unit.remember_person(KnownPerson("telegram:43", "Bob", None))
        await unit.remember_person(KnownPerson("slack:U1", "Alice", "alice_pr"))
    async with store.unit() as unit:
        assert await unit.person_by_username("telegram", "alice_pr") == "telegram:42"
        assert await unit.person_by_username("telegram", "bob") is None
        await unit.remember_person(KnownPerson("telegram:42", "Alice B.", "alice_b"))
    async with store.unit() as unit:
        assert await unit.person_by_username("telegram", "alice_pr") is None
        assert await unit.person_by_username("telegram", "ALICE_B") == "telegram:42"
        people = {p.person: p for p in await unit.known_people("telegram")}
        assert people["telegram:42"] == KnownPerson("telegram:42", "Alice B.", "alice_b")
        assert set(people) == {"telegram:42", "telegram:43"}
