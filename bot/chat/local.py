"""The built-in chat platform: channels, messages and reactions kept in `Rooms` (the database
when served), told as a readable transcript.

It is the embedded default when no platform is configured (the demo runs on it) and the chat the
tests read back. People are `local:<name>` and mentioned as `@name`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from bot.chat.slack_syntax import emoji
from bot.core.access import Origin
from bot.core.commands import Command, Mention, parse
from bot.core.context import Context, Reply
from bot.core.delivery import Delivery
from bot.core.errors import CrisisError
from bot.core.models import Draft, Incident, PersonId, Space
from bot.core.ports import Once
from bot.core.rooms import BOT, Reaction, RoomMessage, Rooms, RoomSpace
from bot.core.text import Joined, Text, Who, _
from bot.core.views import space_name

RenderFor = Callable[[str | None], Callable[[Text], str]]
"""language (None = default) -> a function rendering `Text` in it."""


class LocalChat:
    """The built-in chat over `Rooms`: what it shows is stored there (in the database when
    served, so replicas share it and a restart keeps it) and told to `echo` as a transcript."""

    platform = "local"

    def __init__(self, render_for: RenderFor, rooms: Rooms,
                 echo: Callable[[str], None] | None = None, *,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._render_for = render_for
        self.rooms = rooms
        self._echo = echo
        self._now = now

    async def open_space(self, incident: Incident, *, once: Once | None = None) -> Space:
        name = await self.rooms.open_space(space_name(incident))
        self.frame(_("{channel} opened", channel=f"#{name}"))
        return Space(self.platform, name)

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None:
        new = await self.rooms.add_members(space.channel, people)
        if new:
            self.frame(Text("{channel} + {people}", {"channel": f"#{space.channel}",
                                                     "people": Joined(Who(p) for p in new)}))

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        text = self._text(lines, language)
        message = await self.rooms.post(RoomMessage(
            space.channel, BOT, self._now(), text, thread, draft.number if draft else None))
        where = (_("{channel} (thread {thread})", channel=f"#{space.channel}", thread=thread)
                 if thread else Text("{channel}", {"channel": f"#{space.channel}"}))
        self.log(f"{self.render(where)} [{message}] {_indent(text)}")
        return message

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None:
        old = (await self.message(space.channel, message)).text
        text = self._text(lines, language)
        await self.rooms.edit(space.channel, message, text)
        before = set(old.splitlines())
        changed = [line for line in text.splitlines() if line not in before]
        edited = self.render(_("{channel} [{message}] edited:", channel=f"#{space.channel}",
                               message=message))
        self.log(f"{edited} {_indent(chr(10).join(changed))}")

    async def pin(self, space: Space, message: str) -> None:
        await self.message(space.channel, message)
        await self.rooms.pin(space.channel, message)
        self.frame(_("{channel} [{message}] pinned", channel=f"#{space.channel}",
                     message=message))

    async def close_space(self, space: Space) -> None:
        found = await self._space(space.channel)
        await self.rooms.set_state(space.channel, closed=True, archived=found.archived)
        self.frame(_("{channel} closed", channel=f"#{space.channel}"))

    async def reopen_space(self, space: Space) -> None:
        await self._space(space.channel)
        await self.rooms.set_state(space.channel, closed=False, archived=False)
        self.frame(_("{channel} reopened", channel=f"#{space.channel}"))

    async def archive_space(self, space: Space) -> None:
        found = await self._space(space.channel)
        if not found.archived:
            await self.rooms.set_state(space.channel, closed=found.closed, archived=True)
            self.frame(_("{channel} archived", channel=f"#{space.channel}"))

    async def direct(self, person: PersonId, lines: Sequence[Text], *,
                     language: str | None = None, once: Once | None = None) -> None:
        text = self._text(lines, language)
        space = await self.rooms.direct_space(person)
        await self.rooms.post(RoomMessage(space, BOT, self._now(), text))
        self.log(f"{self.render(_('DM to {person}:', person=Who(person)))} {_indent(text)}")

    # -- reading the rooms back (the demo, drills and tests) --------------------------------

    async def channels(self) -> list[RoomSpace]:
        """Every incident channel, in the order they were opened."""
        return [space for space in await self.rooms.spaces() if not space.direct]

    async def space_of(self, incident: int) -> str:
        """The channel opened for an incident (channels are named `crisis-<n>-...`)."""
        return next(space.name for space in await self.channels()
                    if space.name.startswith(f"crisis-{incident}-"))

    async def messages(self, channel: str) -> list[RoomMessage]:
        return await self.rooms.messages(channel)

    async def texts(self, channel: str) -> list[str]:
        return [m.text for m in await self.rooms.messages(channel)]

    async def draft_message(self, channel: str, draft: int) -> str:
        """The id of the latest card posted for draft `draft` in `channel`."""
        return [m.id for m in await self.rooms.messages(channel) if m.draft == draft][-1]

    async def message(self, channel: str, message: str) -> RoomMessage:
        found = await self.rooms.message(channel, message)
        if found is None:
            raise LookupError(f"no message {message} in #{channel}")
        return found

    async def directs(self) -> list[tuple[PersonId, str]]:
        """Every direct message sent, oldest first, as (person, text)."""
        sent = [(int(m.id), space.members[0], m.text) for space in await self.rooms.spaces()
                if space.direct for m in await self.rooms.messages(space.name)]
        return [(person, text) for _id, person, text in sorted(sent)]

    def render(self, text: Text, language: str | None = None) -> str:
        return self._render_for(language)(text)

    def frame(self, text: Text) -> None:
        """The transcript's own words (what happened to a channel), in the chat's language."""
        self.log(self.render(text))

    def log(self, line: str) -> None:
        if self._echo is not None:
            self._echo(line)

    async def _space(self, name: str) -> RoomSpace:
        found = await self.rooms.space(name)
        if found is None:
            raise LookupError(f"no channel #{name}")
        return found

    def _text(self, lines: Sequence[Text], language: str | None) -> str:
        render = self._render_for(language)
        return "\n".join(render(line) for line in lines)


def local_person(mention: Mention) -> PersonId:
    """Locally a username is the id: `@alice` is `local:alice`."""
    return f"local:{mention.value}"


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


class LocalService(Protocol):
    """What a local session calls on the service, and nothing else."""

    def now(self) -> datetime: ...
    async def execute(self, command: Command, ctx: Context) -> Reply: ...
    async def incident_for(self, ctx: Context, number: int | None) -> Incident: ...
    async def react(self, number: int, actor: PersonId, message: str,
                    added: Sequence[str]) -> Draft | None: ...


class LocalSession:
    """A person typing into the local chat: commands and reactions go through the shared parser
    and the service, exactly as Slack's and Telegram's handlers do, then queued notices are
    delivered. The local chat is the team's own (`Origin.TEAM`)."""

    def __init__(self, service: LocalService, chat: LocalChat, delivery: Delivery) -> None:
        self.service = service
        self.chat = chat
        self.delivery = delivery

    async def say(self, name: str, text: str, channel: str | None = None) -> list[str]:
        """Run `/crisis ...` as `local:<name>`; return the lines only the sender sees."""
        where = f"#{channel}" if channel else self.chat.render(_("(direct message)"))
        self.chat.log(f"{where} @{name}: {text}")
        space = Space(self.chat.platform, channel) if channel else None
        ctx = Context(f"local:{name}", self.chat.platform, space, local_person,
                      origin=Origin.TEAM)
        try:
            reply = await self.service.execute(parse(text), ctx)
            lines = [self.chat.render(line, reply.language) for line in reply.lines]
        except CrisisError as refused:
            lines = [self.chat.render(refused.text)]
        await self.delivery.flush()
        self._only(name, "\n".join(lines))
        return lines

    async def react(self, name: str, channel: str, message: str, reaction: str) -> str | None:
        """React to a message; ✅ on a draft card approves it. Returns the refusal, if any."""
        self.chat.frame(_("{channel} {person} reacted {reaction} to [{message}]",
                          channel=f"#{channel}", person=Who(f"local:{name}"),
                          reaction=f":{reaction}:", message=message))
        if await self.chat.rooms.message(channel, message) is not None:
            await self.chat.rooms.react(Reaction(message, f"local:{name}", reaction,
                                                 self.service.now()))
        incident = await self.service.incident_for(
            Context(f"local:{name}", self.chat.platform, Space(self.chat.platform, channel),
                    origin=Origin.TEAM), None)
        try:
            ask = await self.service.react(incident.number, f"local:{name}", message,
                                           [emoji(reaction)])
        except CrisisError as refused:
            text = self.chat.render(refused.text)
            self._only(name, text)
            return text
        finally:
            await self.delivery.flush()
        if ask is None:
            return None
        hint = self.chat.render(_("To reject, say why: “/crisis reject <draft> <reason>”."))
        self._only(name, hint)
        return hint

    def _only(self, name: str, text: str) -> None:
        """What only `name` sees (an ephemeral answer elsewhere)."""
        only = self.chat.render(_("(only {person})", person=Who(f"local:{name}")))
        self.chat.log(f"  ↳ {only} {_indent(text)}")
