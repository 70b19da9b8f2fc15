"""The built-in chat platform: channels and messages in memory, told as a readable transcript.

It is the embedded default when no platform is configured (the demo runs on it) and the chat the
tests read back. People are `local:<name>` and mentioned as `@name`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bot.core.commands import Mention
from bot.core.models import Draft, Incident, PersonId, Space
from bot.core.text import Text

RenderFor = Callable[[str | None], Callable[[Text], str]]
"""language (None = default) -> a function rendering `Text` in it."""


@dataclass
class LocalMessage:
    id: str
    channel: str
    text: str
    thread: str | None = None
    draft: int | None = None
    pinned: bool = False
    edits: int = 0


@dataclass
class LocalChannel:
    name: str
    members: list[PersonId] = field(default_factory=list)
    messages: list[LocalMessage] = field(default_factory=list)


class LocalChat:
    platform = "local"

    def __init__(self, render_for: RenderFor, echo: Callable[[str], None] | None = None) -> None:
        self._render_for = render_for
        self._echo = echo
        self.channels: dict[str, LocalChannel] = {}
        self.directs: list[tuple[PersonId, str]] = []
        self._ids = 0

    async def open_space(self, incident: Incident) -> Space:
        base = f"crisis-{incident.number}-{_slug(incident.title)}"[:80].rstrip("-")
        name, n = base, 1
        while name in self.channels:
            n += 1
            name = f"{base}-{n}"
        self.channels[name] = LocalChannel(name)
        self._say(f"#{name} opened")
        return Space(self.platform, name)

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None:
        channel = self.channels[space.channel]
        new = [p for p in people if p not in channel.members]
        channel.members.extend(new)
        if new:
            self._say(f"#{space.channel} + {', '.join(_handle(p) for p in new)}")

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None) -> str:
        self._ids += 1
        message = LocalMessage(str(self._ids), space.channel, self._text(lines, language),
                               thread, draft.number if draft else None)
        self.channels[space.channel].messages.append(message)
        where = f"#{space.channel}" + (f" (thread {thread})" if thread else "")
        self._say(f"{where} [{message.id}] {_indent(message.text)}")
        return message.id

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None:
        found = self.message(space.channel, message)
        found.text, found.edits = self._text(lines, language), found.edits + 1
        self._say(f"#{space.channel} [{message}] edited: {_indent(found.text)}")

    async def pin(self, space: Space, message: str) -> None:
        self.message(space.channel, message).pinned = True
        self._say(f"#{space.channel} [{message}] pinned")

    async def direct(self, person: PersonId, lines: Sequence[Text], *,
                     language: str | None = None) -> None:
        text = self._text(lines, language)
        self.directs.append((person, text))
        self._say(f"DM {_handle(person)}: {_indent(text)}")

    def message(self, channel: str, message: str) -> LocalMessage:
        return next(m for m in self.channels[channel].messages if m.id == message)

    def _text(self, lines: Sequence[Text], language: str | None) -> str:
        render = self._render_for(language)
        return "\n".join(render(line) for line in lines)

    def _say(self, line: str) -> None:
        if self._echo is not None:
            self._echo(line)


def local_person(mention: Mention) -> PersonId:
    """Locally a username is the id: `@alice` is `local:alice`."""
    return f"local:{mention.value}"


def _slug(title: str) -> str:
    return re.sub(r"[^\w]+", "-", title.lower()).strip("-")[:40] or "incident"


def _handle(person: PersonId) -> str:
    return "@" + person.split(":", 1)[-1]


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")
