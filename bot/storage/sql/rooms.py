"""The built-in chat's rooms in the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.core.models import PersonId
from bot.core.rooms import Reaction, RoomMessage, RoomSpace, direct_space_name
from bot.storage.sql.engine import UnitSession
from bot.storage.sql.store import SqlStore
from bot.storage.sql.tables import ChatMemberRow, ChatMessageRow, ChatReactionRow, ChatSpaceRow


class SqlRooms:
    """The built-in chat's rooms in the database (see `bot.core.rooms.Rooms`), so they are
    shared by replicas and kept across restarts. Each call is a transaction of its own."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert

    async def open_space(self, base: str, *, direct: bool = False) -> str:
        """`ON CONFLICT DO NOTHING` per candidate name: of two replicas opening the same name
        at once, one gets it and the other tries the next."""
        n = 1
        async with self._store.transaction() as s:
            while True:
                name = base if n == 1 else f"{base}-{n}"
                added = await s.execute(
                    self._insert(ChatSpaceRow)
                    .values(name=name, opened_at=datetime.now(UTC), direct=direct,
                            closed=False, archived=False)
                    .on_conflict_do_nothing(index_elements=[ChatSpaceRow.name])
                    .returning(ChatSpaceRow.name))
                if added.first() is not None:
                    return name
                n += 1

    async def direct_space(self, person: PersonId) -> str:
        name = direct_space_name(person)
        async with self._store.transaction() as s:
            await s.execute(
                self._insert(ChatSpaceRow)
                .values(name=name, opened_at=datetime.now(UTC), direct=True, closed=False,
                        archived=False)
                .on_conflict_do_nothing(index_elements=[ChatSpaceRow.name]))
            await s.execute(
                self._insert(ChatMemberRow).values(space=name, person=person, joined=1)
                .on_conflict_do_nothing())
        return name

    async def space(self, name: str) -> RoomSpace | None:
        async with self._store.transaction() as s:
            row = await s.get(ChatSpaceRow, name)
            return await _room_space(s, row) if row else None

    async def spaces(self) -> list[RoomSpace]:
        async with self._store.transaction() as s:
            rows = list(await s.scalars(
                select(ChatSpaceRow).order_by(ChatSpaceRow.opened_at, ChatSpaceRow.name)))
            return [await _room_space(s, row) for row in rows]

    async def add_members(self, space: str, people: Sequence[PersonId]) -> list[PersonId]:
        async with self._store.transaction() as s:
            if await s.get(ChatSpaceRow, space, with_for_update=True) is None:
                raise LookupError(f"no space {space!r}")
            members = await s.scalars(
                select(ChatMemberRow.person).where(ChatMemberRow.space == space))
            known = set(members)
            new = [p for p in dict.fromkeys(people) if p not in known]
            start = len(known)
            for i, person in enumerate(new, start=start + 1):
                s.add(ChatMemberRow(space=space, person=person, joined=i))
            await s.flush()
            return new

    async def set_state(self, space: str, *, closed: bool, archived: bool) -> None:
        async with self._store.transaction() as s:
            await s.execute(update(ChatSpaceRow).where(ChatSpaceRow.name == space)
                            .values(closed=closed, archived=archived))

    async def post(self, message: RoomMessage) -> str:
        async with self._store.transaction() as s:
            row = ChatMessageRow(space=message.space, author=message.author, at=message.at,
                                 text=message.text, thread=message.thread,
                                 draft=message.draft, pinned=message.pinned,
                                 edits=message.edits)
            s.add(row)
            await s.flush()
            return str(row.id)

    async def edit(self, space: str, message: str, text: str) -> None:
        async with self._store.transaction() as s:
            await s.execute(
                update(ChatMessageRow).where(*_the_message(space, message))
                .values(text=text, edits=ChatMessageRow.edits + 1))

    async def pin(self, space: str, message: str) -> None:
        async with self._store.transaction() as s:
            await s.execute(update(ChatMessageRow).where(*_the_message(space, message))
                            .values(pinned=True))

    async def messages(self, space: str) -> list[RoomMessage]:
        async with self._store.transaction() as s:
            rows = await s.scalars(select(ChatMessageRow).where(ChatMessageRow.space == space)
                                   .order_by(ChatMessageRow.id))
            return [_room_message(row) for row in rows]

    async def message(self, space: str, message: str) -> RoomMessage | None:
        async with self._store.transaction() as s:
            row = await s.scalar(select(ChatMessageRow).where(*_the_message(space, message)))
            return _room_message(row) if row else None

    async def react(self, reaction: Reaction) -> None:
        async with self._store.transaction() as s:
            await s.execute(
                self._insert(ChatReactionRow)
                .values(message=int(reaction.message), person=reaction.person,
                        name=reaction.name, at=reaction.at)
                .on_conflict_do_nothing())

    async def reactions(self, message: str) -> list[Reaction]:
        async with self._store.transaction() as s:
            rows = await s.scalars(select(ChatReactionRow)
                                   .where(ChatReactionRow.message == int(message))
                                   .order_by(ChatReactionRow.at))
            return [Reaction(str(r.message), r.person, r.name, r.at) for r in rows]


def _the_message(space: str, message: str) -> tuple[Any, ...]:
    number = int(message) if message.isdigit() else -1
    return ChatMessageRow.space == space, ChatMessageRow.id == number


async def _room_space(s: UnitSession, row: ChatSpaceRow) -> RoomSpace:
    members = await s.scalars(select(ChatMemberRow.person)
                              .where(ChatMemberRow.space == row.name)
                              .order_by(ChatMemberRow.joined))
    return RoomSpace(row.name, row.direct, list(members), row.closed, row.archived)


def _room_message(row: ChatMessageRow) -> RoomMessage:
    return RoomMessage(row.space, row.author, row.at, row.text, row.thread, row.draft,
                       row.pinned, row.edits, str(row.id))
