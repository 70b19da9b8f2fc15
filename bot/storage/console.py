"""What the web console keeps in the database: one-time sign-in links and signed-in
sessions (only their hashes) and the key that signs session cookies; and what it reads fast:
the timeline's high-water mark that live pages watch, and the incident list.

The rows are defined with the store's own (`SignInLinkRow`, `ConsoleSessionRow`,
`ConsoleKeyRow` in `sql/tables.py`, one metadata for the migrations) and written through its
units.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.listing import Drills, Filters, Listed, Page, order
from bot.core.models import PersonId, Status
from bot.logsafe import STORED_KEY_MARK, guard
from bot.storage.sql.mappers import to_incident
from bot.storage.sql.store import SqlStore
from bot.storage.sql.tables import (
    AlertRow,
    ConsoleKeyRow,
    ConsoleSessionRow,
    EventRow,
    IncidentRow,
    SignInLinkRow,
)

SESSION_KEY = "session"


class ConsoleStore:
    """The console's rows, through the SQL store's units."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def add_link(self, token_hash: str, person: PersonId, issued_at: datetime,
                       expires_at: datetime) -> None:
        async with self._store.unit() as unit:
            unit.session.add(SignInLinkRow(token_hash=token_hash, person=person,
                                           issued_at=issued_at, expires_at=expires_at))
            await unit.session.flush()

    async def use_link(self, token_hash: str, now: datetime) -> PersonId | None:
        """The link's person, marking it used, if it is unused and unexpired; else None. One
        conditional UPDATE, so two concurrent uses cannot both succeed."""
        async with self._store.unit() as unit:
            person: str | None = await unit.session.scalar(
                update(SignInLinkRow)
                .where(SignInLinkRow.token_hash == token_hash, SignInLinkRow.used_at.is_(None),
                       SignInLinkRow.expires_at > now)
                .values(used_at=now)
                .returning(SignInLinkRow.person))
            return person

    async def link_usable(self, token_hash: str, now: datetime) -> PersonId | None:
        """Whom the link signs in, if it is unused and unexpired (it stays unused); else
        None."""
        async with self._store.unit() as unit:
            person: str | None = await unit.session.scalar(
                select(SignInLinkRow.person)
                .where(SignInLinkRow.token_hash == token_hash, SignInLinkRow.used_at.is_(None),
                       SignInLinkRow.expires_at > now))
            return person

    async def add_session(self, id_hash: str, person: PersonId, created_at: datetime,
                          expires_at: datetime) -> None:
        """A new signed-in session; the expired ones go in the same unit (signing in is
        rare, so they never pile up)."""
        async with self._store.unit() as unit:
            await unit.session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.expires_at <= created_at))
            unit.session.add(ConsoleSessionRow(id_hash=id_hash, person=person,
                                               created_at=created_at, expires_at=expires_at))
            await unit.session.flush()

    async def session_person(self, id_hash: str, now: datetime) -> PersonId | None:
        """Whose the session is, while it has not ended or expired (one primary-key read,
        every console request)."""
        async with self._store.unit() as unit:
            person: str | None = await unit.session.scalar(
                select(ConsoleSessionRow.person)
                .where(ConsoleSessionRow.id_hash == id_hash, ConsoleSessionRow.expires_at > now))
            return person

    async def end_session(self, id_hash: str) -> None:
        async with self._store.unit() as unit:
            await unit.session.execute(
                delete(ConsoleSessionRow).where(ConsoleSessionRow.id_hash == id_hash))

    async def session_key(self) -> str:
        """The cookie-signing key, created on first use, and redacted from every log line:
        read marked, so the row SQLAlchemy may log is masked before the key is known; a new
        one registered before its INSERT, which SQLAlchemy may log with its values. Replicas
        starting together may each offer one: `ON CONFLICT DO NOTHING` keeps the first, and
        every one reads back what is stored (a new statement sees the committed row)."""
        read = (select(literal(STORED_KEY_MARK) + ConsoleKeyRow.value)
                .where(ConsoleKeyRow.name == SESSION_KEY))
        insert = postgresql.insert if self._store.dialect == "postgresql" else sqlite.insert
        async with self._store.unit() as unit:
            stored: str | None = await unit.session.scalar(read)
            if stored is None:
                offered = secrets.token_urlsafe(48)
                guard([offered])
                await unit.session.execute(
                    insert(ConsoleKeyRow).values(name=SESSION_KEY, value=offered)
                    .on_conflict_do_nothing(index_elements=[ConsoleKeyRow.name]))
                stored = (await unit.session.execute(read)).scalar_one()
            key = stored.removeprefix(STORED_KEY_MARK)
            guard([key])
            return key

    async def last_event(self) -> int:
        """The newest timeline event's sequence number (0 before the first): every change to
        an incident records one, so a page is stale when this moves."""
        async with self._store.unit() as unit:
            seq: int | None = await unit.session.scalar(select(func.max(EventRow.seq)))
            return seq or 0

    async def incident_page(self, filters: Filters) -> Page:
        """The incident list (see `core/listing.py`) in a few narrow queries: the matching
        numbers in list order (with a text search, every match's title is read and searched
        here, so any script's case folds as Python folds it; without one, the database
        counts and cuts the page), the page's incidents, and their alert counts."""
        conditions = [column == value.value for column, value in (
            (IncidentRow.status, filters.status), (IncidentRow.severity, filters.severity),
            (IncidentRow.kind, filters.kind)) if value is not None]
        if filters.open_only:
            conditions.append(IncidentRow.status != Status.RESOLVED.value)
        if filters.drills is not Drills.WITH:
            conditions.append(IncidentRow.drill.is_(filters.drills is Drills.ONLY))
        closed = case((IncidentRow.status == Status.RESOLVED.value, 1), else_=0)
        ordered = (closed, IncidentRow.created_at.desc(), IncidentRow.number.desc())
        async with self._store.unit() as unit:
            if filters.text.strip():
                found = await unit.session.execute(
                    select(IncidentRow.number, IncidentRow.title).where(*conditions)
                    .order_by(*ordered))
                numbers = [n for n, title in found if filters.matches_title(title)]
                total, shown = len(numbers), numbers[:filters.limit]
            else:
                total = await unit.session.scalar(
                    select(func.count()).select_from(IncidentRow).where(*conditions)) or 0
                shown = list(await unit.session.scalars(
                    select(IncidentRow.number).where(*conditions).order_by(*ordered)
                    .limit(filters.limit)))
            rows = await unit.session.scalars(
                select(IncidentRow).where(IncidentRow.number.in_(shown)))
            incidents = sorted((to_incident(row) for row in rows), key=order)
            counts = dict(list(await unit.session.execute(
                select(AlertRow.incident, func.count()).where(AlertRow.incident.in_(shown))
                .group_by(AlertRow.incident))))
        return Page([Listed(i, counts.get(i.number, 0)) for i in incidents], total)
