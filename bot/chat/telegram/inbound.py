"""`TelegramUpdates`: updates in (commands, button presses, reactions, replies to questions),
each handled once, in one unit of work, through the narrow `TelegramService`."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any, Literal, Protocol

from telegram import BotCommand, Chat, Message, MessageEntity, ReactionTypeEmoji, Update, User
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

from bot.chat.telegram.api import PLATFORM, call, person_of, space_of, where
from bot.chat.telegram.outbound import TelegramChat
from bot.chat.telegram.words import VERBS, command_words, reader_language, with_text_mentions
from bot.core import access
from bot.core import commands as cmd
from bot.core.context import Context, Reply
from bot.core.errors import CrisisError, NotFound
from bot.core.models import (
    Answer,
    Draft,
    Incident,
    KnownPerson,
    PersonId,
    Space,
    bounded,
)
from bot.core.ports import RetryLater
from bot.core.publication import Publication
from bot.core.text import Text, Who, _

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ("message", "callback_query", "message_reaction")




class TelegramService(Protocol):
    """What the Telegram adapter calls on the service, and nothing else."""

    def together(self) -> AbstractAsyncContextManager[object]: ...
    def after_commit(self, call: Callable[[], None]) -> None: ...
    async def first_sight(self, key: str) -> bool: ...
    async def remember_people(self, seen: Sequence[KnownPerson]) -> None: ...
    async def known_people(self, platform: str) -> list[KnownPerson]: ...
    async def person_by_username(self, platform: str, username: str) -> PersonId | None: ...
    def origin(self, chat: access.Chat, person: PersonId, *, seen: bool) -> access.Origin: ...
    def admit(self, origin: access.Origin) -> None: ...
    async def execute(self, command: cmd.Command, ctx: Context) -> Reply: ...
    async def incident_of_message(self, platform: str, message: str) -> Incident | None: ...
    async def check_card(self, number: int, actor: PersonId, draft_number: int, version: int,
                         action: type[cmd.Approve | cmd.Reject | cmd.ReviseDraft],
                         ) -> tuple[Incident, Draft]: ...
    async def decide(self, number: int, actor: PersonId, *, approve: bool,
                     draft_number: int | None = None, reason: str = "",
                     message: str | None = None, version: int | None = None) -> Draft: ...
    async def react(self, number: int, actor: PersonId, message: str,
                    added: Sequence[str]) -> Draft | None: ...
    async def publish(self, number: int, actor: PersonId, draft_number: int | None = None, *,
                      version: int | None = None) -> Publication: ...
    async def answer(self, answer: Answer, *, incident: int | None = None,
                     draft: int | None = None, version: int | None = None,
                     asked: PersonId | None = None) -> None: ...
    async def answer_question(self, platform: str, chat: str, message: str, actor: PersonId,
                              text: str) -> bool: ...


class TelegramUpdates:
    """Updates in: commands, button presses, reactions and replies -> the service.

    Handlers are PTB handlers on `app`; `handle` claims the update id first. Refusals are told
    to the one who acted (an alert on a button, a reply to a command or a reaction).

    Each handler tells the core where the update came from (`_origin`): the team chat
    (`CRISISBOT_TELEGRAM__CHAT_ID`), a private chat with someone seen there (or bound in
    `[[people]]`), or any other chat, whose commands and button presses get the core's
    one-line refusal and whose reactions and replies do nothing.
    """

    def __init__(self, chat: TelegramChat, service: TelegramService, *,
                 secret: str | None = None, poll_timeout: int = 30) -> None:
        self.app = app = chat.app
        self.chat = chat
        self.service = service
        self.secret = secret
        self.poll_timeout = poll_timeout
        self._known: dict[PersonId, KnownPerson] = {}
        self._polling: asyncio.Task[None] | None = None
        self._after: dict[int, list[Callable[[], Awaitable[object]]]] = {}
        """Calls waiting for their update's commit, by update id (see `handle`): pop-ups and
        private messages, never made while the unit holds the database."""
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
        await call(self.app.bot.set_my_commands(self._commands()))
        for known in await self.service.known_people(PLATFORM):
            self._known[known.person] = known
            self.chat.names[known.person] = known.name
        if self.polling:
            await call(self.app.bot.delete_webhook())
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
        again. A button's pop-up and a private message go right after the commit (see
        `_popup`, `_privately`)."""
        after: list[Callable[[], Awaitable[object]]] = []
        async with self.service.together():
            fresh = await self.service.first_sight(f"{PLATFORM}:{update.update_id}")
            if fresh:
                self._after[update.update_id] = after
                try:
                    await self.app.process_update(update)
                finally:
                    del self._after[update.update_id]
        if not fresh:
            log.info("Telegram update %s already processed", update.update_id)
        for later in after:
            try:
                await later()
            except TelegramError as error:
                log.warning("a call after the commit failed: %s", error)

    async def _poll(self) -> None:
        """Long polling: fetch, handle in order, then confirm by moving the offset on."""
        offset: int | None = None
        while True:
            try:
                updates = await call(self.app.bot.get_updates(
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
        await self.service.remember_people(fresh)
        self.service.after_commit(partial(self._know, fresh))

    def _know(self, people: Sequence[KnownPerson]) -> None:
        for person in people:
            self._known[person.person] = person
            self.chat.names[person.person] = person.name

    async def _command(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.from_user is None or message.text is None:
            return
        text = with_text_mentions(message)
        origin = self._origin(message.chat, message.from_user)
        try:
            self.service.admit(origin)  # before the words are even read
            command = cmd.parse(command_words(text))
            resolved = await self._resolve_usernames(command)
            ctx = Context(person_of(message.from_user), PLATFORM, self._space(message),
                          lambda m: resolved.get(m) or f"{PLATFORM}:{m.value}", origin=origin)
            reply = await self.service.execute(command, ctx)
        except CrisisError as refused:
            reply = Reply([refused.text])
        language = reader_language(message.from_user, origin)
        if reply.private:
            self._after[update.update_id].append(
                partial(self._privately, message, message.from_user, reply.lines, language))
        elif reply.lines:
            await self._reply(message, reply.lines, language)

    async def _privately(self, message: Message, user: User, lines: Sequence[Text],
                         language: str | None) -> None:
        """Send what only the sender may see (a sign-in link) to their private chat, not
        through the outbox, which stores what it sends: a credential is never stored. It runs
        after the update's commit (the link's token is saved; no Telegram call waits while the
        unit holds the database, nor holds a chat's turn the outbox may need), then tells the
        chat the command came from, unless that was the private chat, through the outbox."""
        try:
            await self.chat.send_private(user.id, lines, urgent=True)
        except (TelegramError, RetryLater) as error:
            log.warning("could not write to %s privately (%s)", person_of(user), error)
            await self._reply(message, [NO_PRIVATE_CHAT], language)
            return
        if message.chat.id != user.id:
            await self._reply(message, [SENT_PRIVATELY], language)

    async def _resolve_usernames(self, command: cmd.Command) -> dict[cmd.Mention, PersonId]:
        """`@name` -> the id the bot saw with that username; refuse a name never seen (a
        username alone would make a second, id-less person)."""
        mention = getattr(command.action, "person", None)
        if not isinstance(mention, cmd.Mention) or not mention.is_username:
            return {}
        found = await self.service.person_by_username(PLATFORM, mention.value)
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
                                                 reader_language(query.from_user, origin)),
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
        """Emoji added to a draft card in the team chat go to the core (`Service.react`),
        which approves or wants the reason, asked here as a question; anonymous reactions
        and those in other chats are not decisions."""
        reaction = update.message_reaction
        if reaction is None or reaction.user is None:
            return
        before = {r.emoji for r in reaction.old_reaction if isinstance(r, ReactionTypeEmoji)}
        added = [r.emoji for r in reaction.new_reaction
                 if isinstance(r, ReactionTypeEmoji) and r.emoji not in before]
        if not added or self._origin(reaction.chat, reaction.user) is access.Origin.OUTSIDER:
            return
        message = str(reaction.message_id)
        incident = await self.service.incident_of_message(PLATFORM, message)
        space = incident.space if incident else None
        if incident is None or space is None or where(space)[0] != reaction.chat.id:
            return
        actor = person_of(reaction.user)
        try:
            draft = await self.service.react(incident.number, actor, message, added)
        except CrisisError as refused:
            await self._tell(space, reaction.message_id, incident.language,
                             [_("{person}: {refusal}", person=Who(actor),
                                refusal=refused.text)])
            return
        if draft is not None:
            await self._ask(space, reaction.message_id, "reject", draft, actor)

    async def _answer(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        """A reply to one of our ForceReply questions: the reason, or the new text."""
        message = update.effective_message
        if message is None or message.reply_to_message is None or message.from_user is None \
                or not message.text:
            return
        if self._origin(message.chat, message.from_user) is access.Origin.OUTSIDER:
            return
        try:
            await self.service.answer_question(
                PLATFORM, str(message.chat.id), str(message.reply_to_message.message_id),
                person_of(message.from_user), message.text)
        except CrisisError as refused:
            await self._reply(message, [refused.text])

    # -- helpers ----------------------------------------------------------------------------

    def _popup(self, update: Update, text: str | None = None, *, alert: bool = False) -> None:
        """A button's pop-up (`answerCallbackQuery`: not a chat message, not paced), sent as
        soon as the update's unit commits, so it never tells of a decision that was not
        saved and no HTTP call is made while the unit holds the database."""
        query = update.callback_query
        if query is not None:
            self._after[update.update_id].append(
                partial(query.answer, text, show_alert=alert))

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
        chat, root = where(space)
        # Remembered as a `Question` once sent (see `Delivery`), until answered.
        await self.service.answer(
            Answer(PLATFORM, str(chat), (text,), thread=str(root), reply_to=str(card),
                   ask=kind),
            incident=draft.incident, draft=draft.number, version=draft.version, asked=person)

    async def _tell(self, space: Space, reply_to: int, language: str | None,
                    lines: list[Text]) -> None:
        """Answer under a message of the incident's space (see `_reply`)."""
        chat, root = where(space)
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
