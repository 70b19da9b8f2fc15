"""Telegram: incident topics in a forum supergroup, the shared `/crisis` commands, draft approval
by buttons, reactions and replies.

Two halves over one python-telegram-bot `Application` built with `updater(None)`:
`TelegramChat` is the core's `Chat` port (what delivery calls), and `TelegramUpdates` turns
updates into service calls. We feed updates ourselves — from our webhook route or our own
`getUpdates` loop — so every `update_id` is claimed in the database in the same transaction as
everything its handling writes (one commit), and a re-delivery does nothing.

An incident's space is `Space("telegram", "<chat id>/<thread>")`: the thread is the forum topic,
or, in a group that is not a forum, the pinned incident message whose replies hold the
conversation. Bot API errors 429 become `RetryLater`, so the deliverer waits as told.

Answers to commands, refusals and the questions under draft cards are not sent while the
update is handled: they are queued in the outbox (`Service.answer`), so the webhook returns as
soon as the command is committed, and the outbox sends them ahead of routine notices. Only
`answerCallbackQuery` (a button's popup) is answered at once, right after the commit: it is
not a chat message.

Pacing is proactive too, in one place: every call that puts or changes a message in a chat
(send, edit, pin, topic create/close/reopen) takes a turn from `Pacer` first, which keeps to
Telegram's limits (about one message a second per chat, twenty a minute per group) for every
process sharing the database. 429s stay the fallback, handled as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import hmac
import html
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

from telegram import (
    Bot,
    BotCommand,
    Chat,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReactionTypeEmoji,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatType, ForumIconColor, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

from bot.core import access
from bot.core import commands as cmd
from bot.core.errors import CrisisError, NotFound
from bot.core.models import (
    Answer,
    Draft,
    DraftState,
    Incident,
    KnownPerson,
    PersonId,
    Severity,
    Space,
    bounded,
)
from bot.core.ports import Once, RetryLater, Store
from bot.core.rules import reaction_decision
from bot.core.sending import SendRate
from bot.core.service import Service
from bot.core.text import LANGUAGES, Text, Who, _
from bot.core.usecase import Context
from bot.core.views import NOT_A_DRAFT, SPACE_PATTERN, space_name

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = ("message", "callback_query", "message_reaction")


def _verbs() -> dict[str, Text]:
    """`/crisis_<verb>` aliases: each sub-command of the help once (`draft` has two lines),
    with its first description."""
    verbs: dict[str, Text] = {}
    for usage, meaning in cmd.HELP:
        verbs.setdefault(usage.msgid.split()[1], meaning)
    return verbs


VERBS = _verbs()
MAX_TEXT = 4096
ICONS: Mapping[Severity, int] = {
    Severity.SEV1: ForumIconColor.RED,
    Severity.SEV2: ForumIconColor.YELLOW,
    Severity.SEV3: ForumIconColor.BLUE,
    Severity.SEV4: ForumIconColor.GREEN,
}

RenderFor = Callable[[str | None, Callable[[Who], str]], Callable[[Text], str]]
"""(language or None for the default, mention style) -> a function rendering `Text`."""
TelegramApp = Application[Any, Any, Any, Any, Any, Any]
T = TypeVar("T")


def build_application(token: str, api_url: str, timeout: float = 10.0) -> TelegramApp:
    """PTB's custom-webhook setup: no Updater (we fetch updates), no job queue (APScheduler
    runs ours), Bot API and file URLs from settings, every request bounded by `timeout`
    (`CRISISBOT_TELEGRAM__TIMEOUT`) so none outlives its outbox lease."""
    base = api_url.rstrip("/")
    file_url = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"
    return (Application.builder().token(token).base_url(api_url).base_file_url(file_url)
            .connect_timeout(timeout).read_timeout(timeout).write_timeout(timeout)
            .pool_timeout(timeout).updater(None).job_queue(None).build())


def space_of(chat_id: int, thread: int) -> Space:
    return Space(PLATFORM, f"{chat_id}/{thread}")


def _where(space: Space) -> tuple[int, int]:
    chat, thread = space.channel.split("/", 1)
    return int(chat), int(thread)


def person_of(user: User) -> PersonId:
    return f"{PLATFORM}:{user.id}"


def _telegram_id(person: PersonId) -> int | None:
    platform, _sep, handle = person.partition(":")
    return int(handle) if platform == PLATFORM and handle.isdigit() else None


async def _call(request: Awaitable[T]) -> T:
    """One Bot API call; Telegram's "slow down" (429 with `retry_after`) and a lost connection
    become the outbox's `RetryLater`."""
    try:
        return await request
    except RetryAfter as error:
        # The private field is always a timedelta; the public one warns until PTB 23.
        raise RetryLater(str(error), error._retry_after.total_seconds()) from error
    except BadRequest:
        raise
    except NetworkError as error:  # a timeout, a dropped connection, a 5xx
        raise RetryLater(f"Telegram unreachable: {error}") from error


@dataclass(frozen=True)
class Limits:
    """Telegram's sending limits: `per_chat_per_second` messages a second in any chat, and at
    most `per_group` messages in any `group_window` seconds in a group (a negative chat id)."""

    per_chat_per_second: float = 1.0
    per_group: int = 20
    group_window: float = 60.0

    def __post_init__(self) -> None:
        if not (self.per_chat_per_second > 0 and self.per_group >= 1 and self.group_window > 0):
            raise ValueError(f"Telegram limits must be positive: {self}")


class _Gate:
    """One turn at a time in a chat, the most urgent waiter next, then first come."""

    def __init__(self) -> None:
        self.busy = False
        self.waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self, priority: int) -> AsyncIterator[None]:
        if self.busy:
            entry = (priority, next(self._arrivals),
                     asyncio.get_running_loop().create_future())
            heapq.heappush(self.waiting, entry)
            try:
                await entry[2]
            except asyncio.CancelledError:
                if entry[2].cancelled():
                    self.waiting.remove(entry)
                    heapq.heapify(self.waiting)
                else:  # cancelled just as the turn was handed over: pass it on
                    self._next()
                raise
        self.busy = True
        try:
            yield
        finally:
            self._next()

    def _next(self) -> None:
        while self.waiting:
            _priority, _arrival, waiter = heapq.heappop(self.waiting)
            if not waiter.done():
                waiter.set_result(None)  # still busy: the turn is handed over
                return
        self.busy = False


@dataclass
class Pacer:
    """Turns to speak in a chat, within `limits` for every process sharing `store`: a turn
    books its slot in the database (`Unit.reserve_send`: after the chat's previous message by
    `1 / per_chat_per_second` and, in a group, its `per_group`-th last by `group_window`), and
    its stamp moves to when the call *returns*, so Telegram sees the spacing even if requests
    travel at different speeds. (A leaky bucket such as `aiolimiter` allows a full burst on top
    of a drained bucket, up to twice the group limit in one minute; a sliding window never
    does.) In one process a chat's turns are taken one at a time, urgent ones first.
    """

    store: Store
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time
    _gates: dict[int, _Gate] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def turn(self, chat: int, *, urgent: bool = False) -> AsyncIterator[None]:
        """Wait for `chat`'s next slot, then hold it while the caller makes its one call."""
        key = f"{PLATFORM}:{chat}"
        async with self._gates.setdefault(chat, _Gate()).turn(0 if urgent else 1):
            async with self.store.unit() as unit:
                slot = await unit.reserve_send(key, self.clock(), self.rate(chat))
            wait = slot - self.clock()
            if wait > 0:
                log.debug("pacing Telegram chat %s: waiting %.2f s", chat, wait)
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                async with self.store.unit() as unit:
                    await unit.sent(key, slot, self.clock())

    def rate(self, chat: int) -> SendRate:
        """The group window applies to groups (negative ids), not to private chats."""
        return SendRate(1.0 / self.limits.per_chat_per_second,
                        self.limits.per_group if chat < 0 else None, self.limits.group_window)


class TelegramChat:
    """The `Chat` port on the Bot API: topics, HTML messages with inline keyboards, pins, DMs.

    `once` is ignored: the Bot API cannot search what a bot posted, so a retry after a crash
    between sending and recording may repeat a message (the outbox makes that rare).
    """

    platform = PLATFORM

    def __init__(self, app: TelegramApp, chat_id: int | None, render_for: RenderFor,
                 store: Store, *, name_pattern: str = SPACE_PATTERN,
                 limits: Limits | None = None, publishing: bool = False) -> None:
        self.app = app
        self.publishing = publishing
        """Approved cards carry a Publish button (a destination is configured)."""
        self.pacer = Pacer(store, limits or Limits())
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
                topic = await _call(self.bot.create_forum_topic(
                    chat, space_name(incident, self.name_pattern)[:128],
                    icon_color=ICONS[incident.severity]))
            return space_of(chat, topic.message_thread_id)
        text = self.html([_("{incident}: {title} — the conversation about it continues in "
                            "replies to this message.", incident=incident.public_id,
                            title=incident.title)], incident.language)
        async with self.paced(chat):
            root = await _call(self.bot.send_message(chat, text, parse_mode=ParseMode.HTML))
        return space_of(chat, root.message_id)  # recorded now; `pin` pins it

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None:
        """Nothing to do: a bot cannot add people to a group, every member sees the topic, and
        each role assignment mentions its holder."""

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        chat, root = _where(space)
        placement = await self.placement(chat, root, int(thread) if thread else None)
        async with self.paced(chat):
            message = await _call(self.bot.send_message(
                chat, self.html(lines, language), parse_mode=ParseMode.HTML,
                reply_markup=self.keyboard(draft, language), **placement))
        return str(message.message_id)

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None:
        chat, _root = _where(space)
        try:
            async with self.paced(chat):
                await _call(self.bot.edit_message_text(
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
        chat, root = _where(space)
        pins = [int(message)] if await self.is_forum(chat) else [root, int(message)]
        for pinned in pins:
            async with self.paced(chat):
                await _call(self.bot.pin_chat_message(chat, pinned, disable_notification=True))

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
        user = _telegram_id(person)
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
            await _call(self.bot.send_message(user, self.html(lines, language),
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
                message = await _call(self.bot.send_message(
                    chat, chunk, parse_mode=ParseMode.HTML, reply_markup=markup, **placement))
            sent = str(message.message_id)
        return sent

    # -- helpers shared with the update handlers ---------------------------------------------

    def paced(self, chat: int, *,
              urgent: bool = False) -> contextlib.AbstractAsyncContextManager[None]:
        """`async with chat.paced(id): await _call(...)` — one message-making call, in turn
        (answers to people, `urgent`, before routine notices)."""
        return self.pacer.turn(chat, urgent=urgent)

    async def is_forum(self, chat: int) -> bool:
        if chat not in self._forum:
            found = await _call(self.bot.get_chat(chat))
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
        chat, thread = _where(space)
        if not await self.is_forum(chat):
            return
        try:
            async with self.paced(chat):
                await _call(action(chat, thread))
        except BadRequest as error:
            if "not_modified" not in error.message.lower():
                raise

    def _link(self, who: Who) -> str:
        user = _telegram_id(who.person)
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


class TelegramUpdates:
    """Updates in: commands, button presses, reactions and replies -> the service.

    Handlers are PTB handlers on `app`; `handle` claims the update id first. Refusals are told
    to the one who acted (an alert on a button, a reply to a command or a reaction).

    Each handler tells the core where the update came from (`_origin`): the team chat
    (`CRISISBOT_TELEGRAM__CHAT_ID`), a private chat with someone seen there (or bound in
    `[[people]]`), or any other chat, whose commands and button presses get the core's
    one-line refusal and whose reactions and replies do nothing.
    """

    def __init__(self, chat: TelegramChat, service: Service, store: Store, *,
                 secret: str | None = None, poll_timeout: int = 30) -> None:
        self.app = app = chat.app
        self.chat = chat
        self.service = service
        self.store = store
        self.secret = secret
        self.poll_timeout = poll_timeout
        self._known: dict[PersonId, KnownPerson] = {}
        self._polling: asyncio.Task[None] | None = None
        self._popups: dict[int, list[Callable[[], Awaitable[object]]]] = {}
        """Pop-ups waiting for their update's commit, by update id (see `handle`)."""
        app.add_handler(TypeHandler(Update, self._learn), group=-1)
        app.add_handler(CommandHandler(["crisis", *(f"crisis_{v}" for v in VERBS)],
                                       self._command))
        app.add_handler(CallbackQueryHandler(self._button, pattern=r"^d:"))
        app.add_handler(MessageReactionHandler(self._reaction))
        app.add_handler(MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND,
                                       self._answer))
        app.add_error_handler(self._error)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def polling(self) -> bool:
        """Without a webhook secret nothing can prove a POST came from Telegram: poll."""
        return self.secret is None

    async def start(self) -> None:
        """Meet the bot (`getMe`), publish the command list, recall known names and, in polling
        mode, start fetching updates."""
        await self.app.initialize()
        await _call(self.app.bot.set_my_commands(self._commands()))
        async with self.store.unit() as unit:
            for known in await unit.known_people(PLATFORM):
                self._known[known.person] = known
                self.chat.names[known.person] = known.name
        if self.polling:
            await _call(self.app.bot.delete_webhook())
            self._polling = asyncio.create_task(self._poll(), name="telegram-polling")

    async def stop(self) -> None:
        if self._polling is not None:
            self._polling.cancel()
            await asyncio.gather(self._polling, return_exceptions=True)
        await self.app.shutdown()

    def _commands(self) -> list[BotCommand]:
        """`/crisis` and each `/crisis_<verb>`, described in the configured language."""
        commands = [BotCommand("crisis", self.chat.render(_("crisis commands (/crisis help)")))]
        for verb, meaning in VERBS.items():
            commands.append(BotCommand(f"crisis_{verb}", self.chat.render(meaning)[:256]))
        return commands

    # -- updates in -------------------------------------------------------------------------

    async def webhook(self, headers: Mapping[str, str],
                      body: bytes) -> tuple[int, dict[str, Any]]:
        """The `POST /telegram/webhook` route's work: (status, JSON body)."""
        given = {k.lower(): v for k, v in headers.items()}.get(
            "x-telegram-bot-api-secret-token", "")
        if self.secret is None or not hmac.compare_digest(given.encode(), self.secret.encode()):
            return 401, {"error": "missing or wrong X-Telegram-Bot-Api-Secret-Token"}
        try:
            data = json.loads(body)
            update = Update.de_json(data, self.app.bot) if isinstance(data, dict) and \
                isinstance(data.get("update_id"), int) else None
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            update = None  # not JSON, too deep, or not shaped like an update
        if update is None:
            return 400, {"error": "not a Telegram update"}
        await self.handle(update)
        return 200, {"ok": True}

    async def handle(self, update: Update) -> None:
        """Process an update once, in one unit of work (`Service.together`): its id is
        claimed in the same commit as everything handling it writes, answers included, so
        the webhook waits for the disk once. A retried webhook or a re-fetched update finds
        the id taken; a crash before the commit leaves neither, and Telegram sends the update
        again. A button's pop-up goes right after the commit (see `_popup`)."""
        popups: list[Callable[[], Awaitable[object]]] = []
        async with self.service.together() as unit:
            fresh = await unit.first_sight(f"{PLATFORM}:{update.update_id}",
                                           self.service.clock.now())
            if fresh:
                self._popups[update.update_id] = popups
                try:
                    await self.app.process_update(update)
                finally:
                    del self._popups[update.update_id]
        if not fresh:
            log.info("Telegram update %s already processed", update.update_id)
        for popup in popups:
            try:
                await popup()
            except TelegramError as error:
                log.warning("answerCallbackQuery failed: %s", error)

    async def _poll(self) -> None:
        """Long polling: fetch, handle in order, then confirm by moving the offset on."""
        offset: int | None = None
        while True:
            try:
                updates = await _call(self.app.bot.get_updates(
                    offset=offset, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES,
                    read_timeout=self.poll_timeout + 10))
            except RetryLater as wait:
                await asyncio.sleep(wait.after or 1.0)
                continue
            except TelegramError as error:
                log.warning("getUpdates failed: %s; retrying", error)
                await asyncio.sleep(1)
                continue
            for update in updates:
                try:
                    await self.handle(update)
                except Exception:
                    log.exception("could not handle Telegram update %s", update.update_id)
                offset = update.update_id + 1

    async def _error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("Telegram handler failed on %r", update, exc_info=context.error)

    # -- handlers ---------------------------------------------------------------------------

    async def _learn(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """Remember who we see in the team chat (and who is text-mentioned there), so
        `@username` resolves to an id, mentions show names, and they count as team members in
        a private chat with the bot. Other chats teach nothing."""
        chat = update.effective_chat
        if chat is None or chat.id != self.chat.chat_id:
            return
        users = [update.effective_user]
        message = update.effective_message
        if message is not None:
            users += [e.user for e in message.entities if e.type == MessageEntity.TEXT_MENTION]
        if update.message_reaction is not None:
            users.append(update.message_reaction.user)
        seen = [KnownPerson(person_of(u), u.full_name, u.username)
                for u in users if u is not None and not u.is_bot]
        fresh = [p for p in dict.fromkeys(seen) if self._known.get(p.person) != p]
        if not fresh:
            return
        async with self.store.unit() as unit:
            for person in fresh:
                await unit.remember_person(person)
        self.service.after_commit(partial(self._know, fresh))

    def _know(self, people: Sequence[KnownPerson]) -> None:
        for person in people:
            self._known[person.person] = person
            self.chat.names[person.person] = person.name

    async def _command(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.from_user is None or message.text is None:
            return
        text = _with_text_mentions(message)
        origin = self._origin(message.chat, message.from_user)
        try:
            self.service.admit(origin)  # before the words are even read
            command = cmd.parse(_command_words(text))
            resolved = await self._resolve_usernames(command)
            ctx = Context(person_of(message.from_user), PLATFORM, self._space(message),
                          lambda m: resolved.get(m) or f"{PLATFORM}:{m.value}", origin=origin)
            reply = await self.service.execute(command, ctx)
            lines = (await self._privately(message.chat.id, message.from_user, reply.lines)
                     if reply.private else reply.lines)
        except CrisisError as refused:
            lines = [refused.text]
        if lines:
            await self._reply(message, lines, _reader_language(message.from_user, origin))

    async def _privately(self, chat: int, user: User, lines: Sequence[Text]) -> list[Text]:
        """Send what only the sender may see (a sign-in link) to their private chat at once,
        not through the outbox, which stores what it sends: a credential is never stored.
        Return what the chat the command came from is told (nothing, if that was the private
        chat)."""
        try:
            await self.chat.send_private(user.id, lines, urgent=True)
        except (TelegramError, RetryLater) as error:
            log.warning("could not write to %s privately (%s)", person_of(user), error)
            return [NO_PRIVATE_CHAT]
        return [] if chat == user.id else [SENT_PRIVATELY]

    async def _resolve_usernames(self, command: cmd.Command) -> dict[cmd.Mention, PersonId]:
        """`@name` -> the id the bot saw with that username; refuse a name never seen (a
        username alone would make a second, id-less person)."""
        mention = getattr(command.action, "person", None)
        if not isinstance(mention, cmd.Mention) or not mention.is_username:
            return {}
        async with self.store.unit() as unit:
            found = await unit.person_by_username(PLATFORM, mention.value)
        if found is None:
            raise NotFound(_("I have not seen @{username} yet: ask them to write in the group "
                             "once, or use their numeric id.", username=mention.value))
        return {mention: found}

    async def _button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.data is None:
            return
        actor = person_of(query.from_user)
        origin = self._origin(query.message.chat if query.message else None, query.from_user)
        try:
            self.service.admit(origin)
            _tag, *numbers, action = query.data.split(":")
            number, draft, version = (bounded(n, n) for n in numbers)
            if action == "p":
                await self.service.publish(number, actor, draft, version=version)
                await query.answer()
                return
            if action == "a":
                found = await self.service.decide(number, actor, approve=True,
                                                  draft_number=draft, version=version)
                self._popup(update, self.chat.render(
                    _("You approved draft #{number}.", number=found.number)))
                return
            incident, found = await self.service.check_card(
                number, actor, draft, version, cmd.Reject if action == "r" else cmd.ReviseDraft)
        except CrisisError as refused:
            self._popup(update, self.chat.render(refused.text,
                                                 _reader_language(query.from_user, origin)),
                        alert=True)
            return
        except ValueError:
            self._popup(update)
            return
        self._popup(update)
        card = query.message
        if card is not None and incident.space is not None:
            await self._ask(incident.space, card.message_id,
                            "reject" if action == "r" else "revise", found, actor)

    async def _reaction(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """👍/✅ on a draft card approves it, 👎/❌ asks for the reason; other reactions and
        anonymous ones are not decisions."""
        reaction = update.message_reaction
        if reaction is None or reaction.user is None:
            return
        before = {r.emoji for r in reaction.old_reaction if isinstance(r, ReactionTypeEmoji)}
        added = [r.emoji for r in reaction.new_reaction
                 if isinstance(r, ReactionTypeEmoji) and r.emoji not in before]
        decisions = [d for d in map(reaction_decision, added) if d is not None]
        if not decisions:
            return
        if self._origin(reaction.chat, reaction.user) is access.Origin.OUTSIDER:
            return
        message = str(reaction.message_id)
        incident = await self.service.incident_of_message(PLATFORM, message)
        space = incident.space if incident else None
        if incident is None or space is None or _where(space)[0] != reaction.chat.id:
            return
        actor = person_of(reaction.user)
        try:
            _incident, draft = await self._draft(incident.number, message=message)
            if decisions[0]:
                await self.service.decide(incident.number, actor, approve=True,
                                          message=message)
                return
            await self.service.check_card(incident.number, actor, draft.number, draft.version,
                                          cmd.Reject)
        except CrisisError as refused:
            await self._tell(space, reaction.message_id, incident.language,
                             [_("{person}: {refusal}", person=Who(actor),
                                refusal=refused.text)])
            return
        await self._ask(space, reaction.message_id, "reject", draft, actor)

    async def _answer(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply to one of our ForceReply questions: the reason, or the new text."""
        message = update.effective_message
        if message is None or message.reply_to_message is None or message.from_user is None \
                or not message.text:
            return
        if self._origin(message.chat, message.from_user) is access.Origin.OUTSIDER:
            return
        async with self.store.unit() as unit:
            question = await unit.question(PLATFORM, str(message.chat.id),
                                           str(message.reply_to_message.message_id))
        actor = person_of(message.from_user)
        if question is None or question.person != actor:
            return
        try:
            if question.kind == "reject":
                await self.service.decide(question.incident, actor, approve=False,
                                          draft_number=question.draft, version=question.version,
                                          reason=message.text)
            else:
                await self.service.revise(question.incident, question.draft, actor, message.text)
        except CrisisError as refused:
            await self._reply(message, [refused.text])
            return
        async with self.store.unit() as unit:
            await unit.answered(question)

    # -- helpers ----------------------------------------------------------------------------

    def _popup(self, update: Update, text: str | None = None, *, alert: bool = False) -> None:
        """A button's pop-up (`answerCallbackQuery`: not a chat message, not paced), sent as
        soon as the update's unit commits, so it never tells of a decision that was not
        saved and no HTTP call is made while the unit holds the database."""
        query = update.callback_query
        if query is not None:
            self._popups[update.update_id].append(
                partial(query.answer, text, show_alert=alert))

    async def _draft(self, number: int, *, draft: int | None = None,
                     message: str | None = None) -> tuple[Incident, Draft]:
        incident, drafts, _events, _alerts = await self.service.load(number)
        for found in drafts:
            if found.number == draft or (message and found.version_by_message(message)):
                return incident, found
        raise NotFound(NOT_A_DRAFT)

    async def _ask(self, space: Space, card: int, kind: Literal["reject", "revise"],
                   draft: Draft, person: PersonId) -> None:
        """A ForceReply question under the card, asking `person` for the reason of rejecting
        the draft's current version, or its new text; the answer comes back to `_answer`."""
        text = (
            _("{person}, reply to this message with the reason for rejecting draft #{number}.",
              person=Who(person), number=draft.number)
            if kind == "reject" else
            _("{person}, reply to this message with the new text of draft #{number}.",
              person=Who(person), number=draft.number))
        chat, root = _where(space)
        # Remembered as a `Question` once sent (see `Delivery`), until answered.
        await self.service.answer(
            Answer(PLATFORM, str(chat), (text,), thread=str(root), reply_to=str(card),
                   ask=kind),
            incident=draft.incident, draft=draft.number, version=draft.version, asked=person)

    async def _tell(self, space: Space, reply_to: int, language: str | None,
                    lines: list[Text]) -> None:
        """Answer under a message of the incident's space (see `_reply`)."""
        chat, root = _where(space)
        await self.service.answer(Answer(PLATFORM, str(chat), tuple(lines), thread=str(root),
                                         reply_to=str(reply_to), language=language))

    async def _reply(self, message: Message, lines: Sequence[Text],
                     language: str | None = None) -> None:
        """Answer the sender in place (Telegram has no private replies in a group), through
        the outbox: the update's handling ends when the answer is queued."""
        thread = message.message_thread_id if message.is_topic_message else None
        await self.service.answer(Answer(
            PLATFORM, str(message.chat.id), tuple(lines),
            thread=str(thread) if thread is not None else None,
            reply_to=str(message.message_id), language=language))

    def _origin(self, chat: Chat | None, user: User) -> access.Origin:
        """Which kind of chat this is, for the core: the team chat, a private chat (its person
        counts if seen in the team chat), or another chat."""
        if chat is not None and chat.id == self.chat.chat_id:
            kind = access.Chat.TEAM
        elif chat is not None and chat.type == ChatType.PRIVATE and chat.id == user.id:
            kind = access.Chat.PRIVATE
        else:
            kind = access.Chat.OTHER
        person = person_of(user)
        return self.service.origin(kind, person, seen=person in self._known)

    def _space(self, message: Message) -> Space | None:
        """The topic, or the reply thread of a pinned incident message, the message is in."""
        thread = message.message_thread_id
        if thread is None and message.reply_to_message is not None:
            thread = message.reply_to_message.message_id
        return space_of(message.chat.id, thread) if thread is not None else None


NO_PRIVATE_CHAT = _("I cannot write to you privately yet: open a private chat with me, press "
                    "Start, then send “/crisis web” again.")
SENT_PRIVATELY = _("I sent your sign-in link to you in a private message.")


def _reader_language(user: User, origin: access.Origin) -> str | None:
    """An outsider is answered in the language their Telegram app uses, when the bot speaks
    it (the team's language means nothing to them); the team in the team's language."""
    code = (user.language_code or "").split("-")[0].lower()
    return code if origin is access.Origin.OUTSIDER and code in LANGUAGES else None


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


def _command_words(text: str) -> str:
    """`/crisis_ack@CrisisBot INC-2` or `/crisis ack INC-2` -> `ack INC-2` for the parser."""
    head, _sep, rest = text.strip().partition(" ")
    name = head.lstrip("/").split("@", 1)[0].lower()
    verb = name.removeprefix("crisis").lstrip("_")
    return f"{verb} {rest}".strip()


def _with_text_mentions(message: Message) -> str:
    """Text mentions (people without a username, picked from the member list) carry the user,
    not a parsable word: put their numeric id where their name was."""
    text = message.text or ""
    mentions = [(e.offset, e.length, e.user.id) for e in message.entities
                if e.type == MessageEntity.TEXT_MENTION and e.user is not None]
    if not mentions:
        return text
    units = text.encode("utf-16-le")  # entity offsets count UTF-16 code units
    for offset, length, user in sorted(mentions, reverse=True):
        start, end = offset * 2, (offset + length) * 2
        units = units[:start] + str(user).encode("utf-16-le") + units[end:]
    return units.decode("utf-16-le")
