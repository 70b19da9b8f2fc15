"""The console's rows and reads on SQLite and PostgreSQL: the incident list's query, sign-in
links used once, sessions that end on the server, the cookie key kept (and made once by
replicas starting together)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.core.listing import Drills, Filters
from bot.core.models import Alert, CrisisKind, Incident, Severity, Status
from bot.storage.console import ConsoleStore
from bot.storage.sql.store import SqlStore
from bot.storage.sql.tables import ConsoleSessionRow

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def console(request: pytest.FixtureRequest) -> AsyncIterator[ConsoleStore]:
    url: str = request.getfixturevalue(f"{request.param}_url")
    if request.param == "postgres":
        from tests.conftest import _empty_postgres

        _empty_postgres(url)
    store = SqlStore(url)
    try:
        yield ConsoleStore(store)
    finally:
        await store.close()


async def add(console: ConsoleStore, title: str, *, minutes: int, status: Status = Status.TRIGGERED,
              severity: Severity = Severity.SEV3, drill: bool = False, alerts: int = 0) -> int:
    async with console._store.unit() as unit:
        number = await unit.next_incident_number()
        await unit.add_incident(Incident(number, title, CrisisKind.OTHER, severity, status,
                                         T0 + timedelta(minutes=minutes), "local:alice",
                                         roles={"commander": ["local:bob"]}, drill=drill))
        await unit.add_alerts([Alert("generic", f"{number}-{i}", "g", title, T0, incident=number)
                               for i in range(alerts)])
    return number


async def test_the_list_puts_open_incidents_first_and_counts_alerts(
        console: ConsoleStore) -> None:
    await add(console, "Old outage", minutes=0, alerts=2)
    await add(console, "Resolved storm", minutes=5, status=Status.RESOLVED, alerts=3)
    await add(console, "Фейк о ПРОДУКТЕ", minutes=10, severity=Severity.SEV1)
    await add(console, "Drill: trolls", minutes=15, drill=True)

    def numbers(page) -> list[int]:
        return [listed.incident.number for listed in page.listed]

    page = await console.incident_page(Filters())
    assert numbers(page) == [4, 3, 1, 2]
    assert [listed.alerts for listed in page.listed] == [0, 0, 2, 3]
    assert page.listed[0].incident.commander == "local:bob"
    assert numbers(await console.incident_page(Filters(limit=2))) == [4, 3]
    assert (await console.incident_page(Filters(limit=2))).total == 4
    assert numbers(await console.incident_page(Filters(text="продукте фейк"))) == [3]
    assert numbers(await console.incident_page(Filters(open_only=True,
                                                       drills=Drills.WITHOUT))) == [3, 1]
    assert numbers(await console.incident_page(Filters(drills=Drills.ONLY))) == [4]
    assert numbers(await console.incident_page(Filters(status=Status.RESOLVED))) == [2]
    assert numbers(await console.incident_page(Filters(severity=Severity.SEV1))) == [3]
    found = await console.incident_page(Filters(text="nothing like it"))
    assert (numbers(found), found.total) == ([], 0)


async def test_a_link_is_used_once_before_it_expires(console: ConsoleStore) -> None:
    await console.add_link("h1", "local:alice", T0, T0 + timedelta(minutes=10))
    assert await console.link_usable("h1", T0 + timedelta(minutes=1)) == "local:alice"
    assert await console.link_usable("h1", T0 + timedelta(minutes=10)) is None
    assert await console.use_link("h1", T0 + timedelta(minutes=1)) == "local:alice"
    assert await console.use_link("h1", T0 + timedelta(minutes=2)) is None
    assert await console.link_usable("h1", T0 + timedelta(minutes=2)) is None
    await console.add_link("h2", "local:bob", T0, T0 + timedelta(minutes=10))
    assert await console.use_link("h2", T0 + timedelta(minutes=11)) is None
    assert await console.use_link("unknown", T0) is None


async def test_the_cookie_key_is_made_once_and_kept(console: ConsoleStore) -> None:
    key = await console.session_key()
    assert len(key) >= 60
    assert await console.session_key() == key


async def test_replicas_starting_together_make_one_cookie_key(console: ConsoleStore) -> None:
    """Several first starts at once on a fresh database: none fails, all sign with one key."""
    keys = await asyncio.gather(*(console.session_key() for _ in range(4)))
    assert len(set(keys)) == 1
    assert await console.session_key() == keys[0]


async def test_a_session_lasts_until_it_ends_or_expires(console: ConsoleStore) -> None:
    await console.add_session("s1", "local:alice", T0, T0 + timedelta(hours=12))
    await console.add_session("s2", "local:alice", T0, T0 + timedelta(hours=12))
    assert await console.session_person("s1", T0 + timedelta(hours=1)) == "local:alice"
    assert await console.session_person("s1", T0 + timedelta(hours=12)) is None
    assert await console.session_person("unknown", T0) is None
    await console.end_session("s1")
    assert await console.session_person("s1", T0 + timedelta(hours=1)) is None
    assert await console.session_person("s2", T0 + timedelta(hours=1)) == "local:alice"


async def test_signing_in_clears_expired_sessions(console: ConsoleStore) -> None:
    await console.add_session("old", "local:alice", T0, T0 + timedelta(hours=1))
    await console.add_session("new", "local:bob", T0 + timedelta(hours=2),
                              T0 + timedelta(hours=14))
    async with console._store.unit() as unit:
        kept = list(await unit.session.scalars(select(ConsoleSessionRow.id_hash)))
    assert kept == ["new"]
