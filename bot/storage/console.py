"""What the web console keeps in the database: one-time sign-in links (only their hashes) and
the key that signs session cookies, plus the timeline's high-water mark that live pages watch.

The rows are defined with the store's own (`SignInLinkRow`, `ConsoleKeyRow` in sql.py, one
metadata for the migrations) and written through its units.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import func, select, update

from bot.core.models import PersonId
from bot.storage.sql import ConsoleKeyRow, EventRow, SignInLinkRow, SqlStore

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

    async def link_usable(self, token_hash: str, now: datetime) -> bool:
        async with self._store.unit() as unit:
            found = await unit.session.scalar(
                select(SignInLinkRow.token_hash)
                .where(SignInLinkRow.token_hash == token_hash, SignInLinkRow.used_at.is_(None),
                       SignInLinkRow.expires_at > now))
            return found is not None

    async def session_key(self) -> str:
        """The cookie-signing key, created on first use."""
        async with self._store.unit() as unit:
            key: str | None = await unit.session.scalar(
                select(ConsoleKeyRow.value).where(ConsoleKeyRow.name == SESSION_KEY))
            if key is None:
                key = secrets.token_urlsafe(48)
                unit.session.add(ConsoleKeyRow(name=SESSION_KEY, value=key))
                await unit.session.flush()
            return key

    async def last_event(self) -> int:
        """The newest timeline event's sequence number (0 before the first): every change to
        an incident records one, so a page is stale when this moves."""
        async with self._store.unit() as unit:
            seq: int | None = await unit.session.scalar(select(func.max(EventRow.seq)))
            return seq or 0
