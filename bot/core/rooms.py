"""The built-in chat's rooms: spaces, the messages in them (author, time, thread) and the
reactions to those messages.

The local chat adapter keeps everything it shows here, and the web console reads the same
rooms, so a port with a SQL implementation (shared by replicas, kept across restarts) and a
memory one (fast tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.core.models import PersonId

BOT: PersonId = "local:crisisbot"
"""The author of what the bot posts."""


def direct_space_name(person: PersonId) -> str:
    """Where the bot's direct messages to `person` are kept."""
    return f"@{person}"


@dataclass
class RoomSpace:
    """A channel (an incident's room) or a person's direct messages (`direct`)."""

    name: str
    direct: bool = False
    members: list[PersonId] = field(default_factory=list)
    closed: bool = False
    archived: bool = False


@dataclass
class RoomMessage:
    space: str
    author: PersonId
    at: datetime
    text: str
    thread: str | None = None
    """The id of the message this one answers in a thread."""
    draft: int | None = None
    """The draft this message is the card of."""
    pinned: bool = False
    edits: int = 0
    id: str = ""


@dataclass(frozen=True)
class Reaction:
    message: str
    person: PersonId
    name: str
    at: datetime


class Rooms(Protocol):
    """Each call is one transaction of its own."""

    async def open_space(self, base: str, *, direct: bool = False) -> str:
        """Create a space named `base`, or `base-2`, `base-3`... when taken; its name."""
        ...

    async def direct_space(self, person: PersonId) -> str:
        """The person's direct-message space, created the first time."""
        ...

    async def space(self, name: str) -> RoomSpace | None: ...
    async def spaces(self) -> list[RoomSpace]:
        """Every space, in the order they were opened."""
        ...

    async def add_members(self, space: str, people: Sequence[PersonId]) -> list[PersonId]:
        """Add who is not a member yet; those added, in order."""
        ...

    async def set_state(self, space: str, *, closed: bool, archived: bool) -> None: ...

    async def post(self, message: RoomMessage) -> str:
        """Store a message; its new id."""
        ...

    async def edit(self, space: str, message: str, text: str) -> None: ...
    async def pin(self, space: str, message: str) -> None: ...
    async def messages(self, space: str) -> list[RoomMessage]:
        """The space's messages, oldest first."""
        ...

    async def message(self, space: str, message: str) -> RoomMessage | None: ...

    async def react(self, reaction: Reaction) -> None:
        """Record a reaction (once per person, message and name)."""
        ...

    async def reactions(self, message: str) -> list[Reaction]: ...
