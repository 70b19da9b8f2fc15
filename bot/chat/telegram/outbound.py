"""`TelegramChat`, the core's `Chat` port on the Bot API: topics, HTML messages with inline
keyboards, pins, private messages and the answers the outbox sends."""

from __future__ import annotations

import contextlib
import html
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from telegram import Bot, ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ForumIconColor, ParseMode
from telegram.error import BadRequest, Forbidden

from bot.chat.telegram.api import PLATFORM, TelegramApp, call, space_of, telegram_id, where
from bot.chat.telegram.pacing import Limits, Pacer
from bot.core.models import Answer, Draft, DraftState, Incident, PersonId, Severity, Space
from bot.core.ports import Once, SendSlots
from bot.core.text import Text, Who, _
from bot.core.views import SPACE_PATTERN, space_name

log = logging.getLogger(__name__)

MAX_TEXT = 4096
ICONS: Mapping[Severity, int] = {
    Severity.SEV1: ForumIconColor.RED,
    Severity.SEV2: ForumIconColor.YELLOW,
    Severity.SEV3: ForumIconColor.BLUE,
    Severity.SEV4: ForumIconColor.GREEN,
}

RenderFor = Callable[[str | None, Callable[[Who], str]], Callable[[Text], str]]
"""(language or None for the default, mention style) -> a function rendering `Text`."""

class TelegramChat:
    """The `Chat` port on the Bot API: topics, HTML messages with inline keyboards, pins, DMs.

    `once` is ignored: the Bot API cannot search what a bot posted, so a retry after a crash
    between sending and recording may repeat a message (the outbox makes that rare).
    """

    platform = PLATFORM

    def __init__(self, app: TelegramApp, chat_id: int | None, render_for: RenderFor,
                 slots: SendSlots, *, name_pattern: str = SPACE_PATTERN,
                 limits: Limits | None = None, publishing: bool = False) -> None:
        self.app = app
        self.publishing = publishing
        """Approved cards carry a Publish button (a destination is configured)."""
        self.pacer = Pacer(slots, limits or Limits())
        """Every message-making call to a chat takes a turn here first (see `paced`)."""
        self.name_pattern = name_pattern
        self.bot: Bot = app.bot
        self.chat_id = chat_id
        self._render_for = render_for
        self.names: dict[PersonId, str] = {}
        """Display names for mentions, learnt from updates and the people table."""
        self._forum: dict[int, bool] = {}

    # -- the Chat port ----------------------------------------------------------------------

    async def open_space(self, incident: Incident, *, once: Once | None = None) -> Space:
        if self.chat_id is None:
            raise RuntimeError("CRISISBOT_TELEGRAM__CHAT_ID is not set: nowhere to open "
                               f"{incident.public_id}")
        chat = self.chat_id
        if await self.is_forum(chat):
            async with self.paced(chat):
                topic = await call(self.bot.create_forum_topic(
                    chat, space_name(incident, self.name_pattern)[:128],
                    icon_color=ICONS[incident.severity]))
            return space_of(chat, topic.message_thread_id)
        text = self.html([_("{incident}: {title} — the conversation about it continues in "
                            "replies to this message.", incident=incident.public_id,
                            title=incident.title)], incident.language)
        async with self.paced(chat):
            root = await call(self.bot.send_message(chat, text, parse_mode=ParseMode.HTML))
        return space_of(chat, root.message_id)  # recorded now; `pin` pins it

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None:
        """Nothing to do: a bot cannot add people to a group, every member sees the topic, and
        each role assignment mentions its holder."""

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        chat, root = where(space)
        placement = await self.placement(chat, root, int(thread) if thread else None)
        async with self.paced(chat):
            message = await call(self.bot.send_message(
                chat, self.html(lines, language), parse_mode=ParseMode.HTML,
                reply_markup=self.keyboard(draft, language), **placement))
        return str(message.message_id)

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None:
        chat, _root = where(space)
        try:
            async with self.paced(chat):
                await call(self.bot.edit_message_text(
                    self.html(lines, language), chat_id=chat, message_id=int(message),
                    parse_mode=ParseMode.HTML, reply_markup=self.keyboard(draft, language)))
        except BadRequest as error:
            if "not modified" not in error.message.lower():
                raise

    async def pin(self, space: Space, message: str) -> None:
        """Pin the summary; outside a forum, first the incident message whose replies hold
        the conversation. `open_space` leaves that pin to here, after the message is recorded
        as the space, so a failed pin is retried without sending the message again (pins
        are safe to repeat)."""
        chat, root = where(space)
        pins = [int(message)] if await self.is_forum(chat) else [root, int(message)]
        for pinned in pins:
            async with self.paced(chat):
                await call(self.bot.pin_chat_message(chat, pinned, disable_notification=True))

    async def close_space(self, space: Space) -> None:
        """Close the topic (admins and the bot can still write in it). A reply thread cannot
        be closed; the edited summary says the incident is resolved."""
        await self._topic(space, self.bot.close_forum_topic)

    async def reopen_space(self, space: Space) -> None:
        await self._topic(space, self.bot.reopen_forum_topic)

    async def archive_space(self, space: Space) -> None:
        """Telegram has no archive, and nothing is deleted: the topic keeps the record. It was
        already closed on resolve, so this only closes it again in case someone reopened it by
        hand (an unchanged topic or a reply thread is a quiet no-op)."""
        await self._topic(space, self.bot.close_forum_topic)

    async def direct(self, person: PersonId, lines: Sequence[Text], *,
                     language: str | None = None, once: Once | None = None) -> None:
        """A user who never started the bot cannot be written to: log it and carry on, the
        incident channel has the same news."""
        user = telegram_id(person)
        if user is None:
            log.info("no Telegram id for %s; direct message skipped", person)
            return
        try:
            await self.send_private(user, lines, language)
        except (Forbidden, BadRequest) as error:
            log.warning("could not write to %s directly (%s); have them start the bot",
                        person, error.message)

    async def send_private(self, user: int, lines: Sequence[Text], language: str | None = None,
                           *, urgent: bool = False) -> None:
        """One message to `user`'s private chat with the bot, now (raises if they never
        started it)."""
        async with self.paced(user, urgent=urgent):
            await call(self.bot.send_message(user, self.html(lines, language),
                                              parse_mode=ParseMode.HTML))

    async def answer(self, answer: Answer) -> str:
        """In place: a reply to the message that asked, in its topic (or the incident's reply
        thread), in as many messages as a long answer needs (the timeline, a report); a
        question asks with ForceReply, so the asker's app opens a reply to it."""
        chat = int(answer.chat)
        reply_to = int(answer.reply_to) if answer.reply_to else None
        if answer.thread is not None:
            placement = await self.placement(chat, int(answer.thread), reply_to)
        elif reply_to is not None:
            placement = {"reply_parameters": ReplyParameters(
                reply_to, allow_sending_without_reply=True)}
        else:
            placement = {}
        markup = ForceReply(selective=True) if answer.ask else None
        sent = ""
        for chunk in _chunks([self.html([line], answer.language) for line in answer.lines]):
            async with self.paced(chat, urgent=True):
                message = await call(self.bot.send_message(
                    chat, chunk, parse_mode=ParseMode.HTML, reply_markup=markup, **placement))
            sent = str(message.message_id)
        return sent

    # -- helpers shared with the update handlers ---------------------------------------------

    def paced(self, chat: int, *,
              urgent: bool = False) -> contextlib.AbstractAsyncContextManager[None]:
        """`async with chat.paced(id): await call(...)` — one message-making call, in turn
        (answers to people, `urgent`, before routine notices)."""
        return self.pacer.turn(chat, urgent=urgent)

    async def is_forum(self, chat: int) -> bool:
        if chat not in self._forum:
            found = await call(self.bot.get_chat(chat))
            self._forum[chat] = bool(found.is_forum)
        return self._forum[chat]

    def render(self, text: Text, language: str | None = None) -> str:
        """Plain text (button labels, callback answers): no markup, names as @handles."""
        return self._render_for(language, _plain)(text)

    def html(self, lines: Sequence[Text], language: str | None = None) -> str:
        """Telegram HTML: everything escaped except the mentions, which become user links.

        Mentions render as private-use placeholders first, so escaping the finished text can
        never touch the links and a translation can move them anywhere in the sentence.
        """
        links: list[str] = []

        def mention(who: Who) -> str:
            links.append(self._link(who))
            return f"\ue000{len(links) - 1}\ue001"

        render = self._render_for(language, mention)
        rendered = [html.escape(render(line), quote=False) for line in lines]
        text = _fit(rendered)
        for index, link in enumerate(links):
            text = text.replace(f"\ue000{index}\ue001", link)
        return text

    def keyboard(self, draft: Draft | None,
                 language: str | None) -> InlineKeyboardMarkup | None:
        """Approve / Reject / Revise under a pending card, Revise under a rejected one, Publish
        under an approved one; the data names incident, draft and version so a press on an
        old card is refused."""
        if draft is None:
            return None
        key = f"d:{draft.incident}:{draft.number}:{draft.version}"
        if draft.state is DraftState.APPROVED:
            return InlineKeyboardMarkup([[InlineKeyboardButton(
                self.render(_("Publish"), language), callback_data=f"{key}:p")]]
            ) if self.publishing and draft.current.published_at is None else None
        buttons = [InlineKeyboardButton(self.render(_("Approve"), language),
                                        callback_data=f"{key}:a"),
                   InlineKeyboardButton(self.render(_("Reject"), language),
                                        callback_data=f"{key}:r"),
                   InlineKeyboardButton(self.render(_("Revise"), language),
                                        callback_data=f"{key}:v")]
        if draft.state is DraftState.REJECTED:
            buttons = buttons[2:]
        return InlineKeyboardMarkup([buttons])

    async def placement(self, chat: int, root: int, reply_to: int | None) -> dict[str, Any]:
        """Where a message goes: into the topic, or into the incident message's replies."""
        if await self.is_forum(chat):
            placed: dict[str, Any] = {"message_thread_id": root}
            if reply_to is not None:
                placed["reply_parameters"] = ReplyParameters(reply_to,
                                                             allow_sending_without_reply=True)
            return placed
        return {"reply_parameters": ReplyParameters(reply_to or root,
                                                    allow_sending_without_reply=True)}

    async def _topic(self, space: Space,
                     action: Callable[[int, int], Awaitable[bool]]) -> None:
        chat, thread = where(space)
        if not await self.is_forum(chat):
            return
        try:
            async with self.paced(chat):
                await call(action(chat, thread))
        except BadRequest as error:
            if "not_modified" not in error.message.lower():
                raise

    def _link(self, who: Who) -> str:
        user = telegram_id(who.person)
        if user is None:
            return html.escape(_plain(who), quote=False)
        name = self.names.get(who.person, str(user))
        return f'<a href="tg://user?id={user}">{html.escape(name, quote=False)}</a>'


def _plain(who: Who) -> str:
    return f"@{who.handle}"


def _fit(lines: list[str]) -> str:
    """Whole lines up to Telegram's 4096 characters (cut after rendering, so no tag is split)."""
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > MAX_TEXT - 1:
            kept.append("…")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def _chunks(lines: list[str]) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    for line in lines:
        if current and sum(len(c) + 1 for c in current) + len(line) > MAX_TEXT:
            chunks.append("\n".join(current))
            current = []
        current.append(line[:MAX_TEXT])
    if current:
        chunks.append("\n".join(current))
    return chunks

