"""The built-in chat's rooms in memory, for fast tests: the same contract as the database's
(`bot.storage.sql.rooms`), nothing on disk."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace

from bot.core.models import PersonId
from bot.core.rooms import Reaction, RoomMessage, RoomSpace, direct_space_name


class MemoryRooms:
    """The built-in chat's rooms in memory (see `bot.core.rooms.Rooms`). Messages are handed
    out as the stored objects, so a test holding one sees its later edits and pin."""

    def __init__(self) -> None:
        self._spaces: dict[str, RoomSpace] = {}
        self._messages: dict[str, RoomMessage] = {}
        self._reactions: dict[tuple[str, PersonId, str], Reaction] = {}

    async def open_space(self, base: str, *, direct: bool = False) -> str:
        name, n = base, 1
        while name in self._spaces:
            n += 1
            name = f"{base}-{n}"
        self._spaces[name] = RoomSpace(name, direct)
        return name

    async def direct_space(self, person: PersonId) -> str:
        name = direct_space_name(person)
        self._spaces.setdefault(name, RoomSpace(name, direct=True, members=[person]))
        return name

    async def space(self, name: str) -> RoomSpace | None:
        found = self._spaces.get(name)
        return copy.deepcopy(found) if found else None

    async def spaces(self) -> list[RoomSpace]:
        return copy.deepcopy(list(self._spaces.values()))

    async def add_members(self, space: str, people: Sequence[PersonId]) -> list[PersonId]:
        members = self._existing(space).members
        new = [p for p in dict.fromkeys(people) if p not in members]
        members.extend(new)
        return new

    async def set_state(self, space: str, *, closed: bool, archived: bool) -> None:
        found = self._existing(space)
        found.closed, found.archived = closed, archived

    async def post(self, message: RoomMessage) -> str:
        self._existing(message.space)
        message = replace(message, id=str(len(self._messages) + 1))
        self._messages[message.id] = message
        return message.id

    async def edit(self, space: str, message: str, text: str) -> None:
        found = self._message(space, message)
        found.text, found.edits = text, found.edits + 1

    async def pin(self, space: str, message: str) -> None:
        self._message(space, message).pinned = True

    async def messages(self, space: str) -> list[RoomMessage]:
        return [m for m in self._messages.values() if m.space == space]

    async def message(self, space: str, message: str) -> RoomMessage | None:
        found = self._messages.get(message)
        return found if found and found.space == space else None

    async def react(self, reaction: Reaction) -> None:
        self._reactions.setdefault((reaction.message, reaction.person, reaction.name), reaction)

    async def reactions(self, message: str) -> list[Reaction]:
        return [r for (m, _p, _n), r in self._reactions.items() if m == message]

    def _existing(self, space: str) -> RoomSpace:
        found = self._spaces.get(space)
        if found is None:
            raise LookupError(f"no space {space!r}")
        return found

    def _message(self, space: str, message: str) -> RoomMessage:
        found = self._messages.get(message)
        if found is None or found.space != space:
            raise LookupError(f"no message {message!r} in {space!r}")
        return found
