"""Turn queued notices into chat actions, in order per incident, from current state.

Notices name what to show, not how: a SUMMARY notice posts and pins the summary the first
time and edits it after; a DRAFT notice posts a version's card once and edits it as decisions
arrive; CLOSE_SPACE / REOPEN_SPACE follow resolve and reopen; ARCHIVE_SPACE
follows the optional auto-archive (see `core/pace.py`). Several summary refreshes waiting
together collapse into one. An ANSWER goes to the chat it names (someone is waiting for it),
and a question among them is remembered once sent, so its reply can be matched.

`flush` delivers everything pending in this process (the demo, the local chat, tests); the
outbox worker (`bot/chat/outbox.py`) claims notices, calls `deliver` and schedules retries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from bot.core.models import Answer, Draft, Incident, Notice, NoticeKind, Question, Space
from bot.core.pace import page_still_due
from bot.core.playbooks import Task
from bot.core.ports import Answers, Chat, Once
from bot.core.publishing import PublishDelivery
from bot.core.rules import Rules
from bot.core.store import Outbox, Store
from bot.core.views import draft_lines, summary_lines

T = TypeVar("T")


class Delivery:
    def __init__(self, store: Store, chats: Mapping[str, Chat], rules: Rules,
                 publisher: PublishDelivery | None = None) -> None:
        self.store = store
        self.chats = chats
        self.rules = rules
        self.publisher = publisher

    async def flush(self, batch: int = 100) -> int:
        """Deliver everything pending; return how many notices were handled.

        A failing notice stops its queue for this round (order matters within an incident,
        and among a chat's answers) and is raised after the other queues had their turn.
        """
        handled, blocked = 0, set[str]()
        failure: Exception | None = None
        while True:
            async with self.store.unit() as unit:
                pending = await _ready(unit, batch, blocked)
            if not pending:
                break
            for index, notice in enumerate(pending):
                if notice.queue in blocked:
                    continue
                skip = superseded(notice, pending[index + 1:])
                try:
                    result = await self.deliver(notice, skip=skip)
                    async with self.store.unit() as unit:
                        await unit.notice_done(_given(notice.id), result)
                    handled += 1
                except Exception as error:
                    blocked.add(notice.queue)
                    failure = failure or error
        if failure is not None:
            raise failure
        return handled

    async def deliver(self, notice: Notice, *, skip: bool = False) -> str | None:
        """Carry out one notice (unless `skip`) and return the message id it posted, if any;
        the caller marks it done.

        Reads in one short unit, talks to the chat with no transaction open (a slow API must
        not hold the database), then records where things landed."""
        if skip:
            return None
        if notice.answer is not None:
            return await self._answer(notice, notice.answer)
        number = _given(notice.incident)
        async with self.store.unit() as unit:
            incident = await unit.get_incident(number)
            drafts = await unit.drafts(number) if incident else []
            tasks = (await unit.tasks(number)
                     if incident and notice.kind is NoticeKind.SUMMARY else [])
        if incident is None:
            return None
        return await self._act(incident, drafts, notice, tasks)

    async def gave_up(self, notice: Notice, error: Exception) -> None:
        """The outbox gave `notice` up: a statement for the public that will not go out is
        told to the team (a chat message that could not be posted has nowhere to be told)."""
        if notice.kind is NoticeKind.PUBLISH and self.publisher is not None:
            await self.publisher.gave_up(notice, error)

    async def _answer(self, notice: Notice, answer: Answer) -> str:
        chat = self.chats[answer.platform]
        if not isinstance(chat, Answers):
            raise TypeError(f"the {answer.platform} chat cannot answer in place")
        sent = await chat.answer(answer)
        if answer.ask is not None:
            async with self.store.unit() as unit:  # kept until answered, across restarts
                await unit.ask(Question(answer.platform, answer.chat, sent, answer.ask,
                                        _given(notice.incident), _given(notice.draft),
                                        _given(notice.version), _given(notice.person),
                                        notice.created_at))
        return sent

    async def _act(self, incident: Incident, drafts: list[Draft], notice: Notice,
                   tasks: Sequence[Task] = ()) -> str | None:
        chat = self.chats[incident.platform]
        lang = incident.language
        once = Once(_given(notice.id), retry=notice.attempts > 1)
        if notice.kind is NoticeKind.PUBLISH:  # a statement to the public, not to the chat
            if self.publisher is None:
                raise LookupError("a statement to publish, and no destination is configured")
            return await self.publisher.deliver(notice, once)
        if notice.kind is NoticeKind.OPEN_SPACE:
            if incident.space is None:
                space = await chat.open_space(incident, once=once)
                await self._remember(incident.number, space=space)
                return space.channel
            return None
        if notice.kind is NoticeKind.DIRECT:
            if not page_still_due(incident, notice.created_at):
                return None
            await chat.direct(self.rules.on(incident.platform, _given(notice.person)),
                              [_given(notice.text)], language=lang, once=once)
            return None
        space = _space(incident)
        by_number = {d.number: d for d in drafts}
        match notice.kind:
            case NoticeKind.INVITE:
                await chat.invite(space, [self.rules.on(incident.platform,
                                                        _given(notice.person))])
            case NoticeKind.CLOSE_SPACE:
                await chat.close_space(space)
            case NoticeKind.REOPEN_SPACE:
                await chat.reopen_space(space)
            case NoticeKind.ARCHIVE_SPACE:
                await chat.archive_space(space)
            case NoticeKind.SUMMARY:
                lines = summary_lines(incident, self.rules, drafts, tasks)
                posted = None
                if incident.summary_message is None:
                    # An earlier refresh, superseded after its answer was lost, may have posted
                    # it: always look first (once per incident).
                    posted = await chat.post(space, lines, language=lang, once=Once(
                        once.notice, retry=True, subject="summary"))
                    await self._remember(incident.number, summary=posted)
                else:
                    await chat.update(space, incident.summary_message, lines, language=lang)
                if not incident.summary_pinned:
                    # Pinned until it worked once: a retry after a failed pin (the post went
                    # through) pins the message it posted. A crash between pinning and
                    # remembering pins again, which the chats take as success.
                    await chat.pin(space, posted or _given(incident.summary_message))
                    await self._remember(incident.number, pinned=True)
                return posted
            case NoticeKind.MESSAGE:
                thread = None
                if notice.thread_of_draft and notice.draft in by_number:
                    thread = by_number[_given(notice.draft)].current.message
                return await chat.post(space, [_given(notice.text)], thread=thread,
                                       language=lang, once=once)
            case NoticeKind.DRAFT:
                draft = by_number.get(_given(notice.draft))
                if draft is None or draft.version != notice.version:
                    return None  # a newer version has its own card
                lines = draft_lines(incident, draft, self.rules)
                if draft.current.message is None:
                    message = await chat.post(space, lines, draft=draft, language=lang,
                                              once=once)
                    await self._remember(incident.number,
                                         draft=(draft.number, draft.version, message))
                    return message
                await chat.update(space, draft.current.message, lines, draft=draft,
                                  language=lang)
        return None

    async def _remember(self, number: int, *, space: Space | None = None,
                        summary: str | None = None, pinned: bool = False,
                        draft: tuple[int, int, str] | None = None) -> None:
        """Store where something landed, re-reading the record so that changes made while the
        chat call was in flight are kept."""
        async with self.store.unit() as unit:
            if draft is not None:
                draft_number, version, message = draft
                found = await unit.get_draft(number, draft_number)
                if found is not None and len(found.versions) >= version:
                    found.versions[version - 1].message = message
                    await unit.update_draft(found)
                return
            incident = await unit.get_incident(number)
            if incident is None:
                return
            incident.space = space or incident.space
            incident.summary_message = summary or incident.summary_message
            incident.summary_pinned = pinned or incident.summary_pinned
            await unit.update_incident(incident)


def _given(value: T | None) -> T:
    """A field the notice's kind requires; its absence is a bug where the notice was made."""
    if value is None:
        raise ValueError("notice is missing a field its kind requires")
    return value


async def _ready(unit: Outbox, batch: int, blocked: set[str]) -> list[Notice]:
    """Up to `batch` pending notices of unblocked queues, looking past the blocked ones
    (a stuck incident's queue must not hide every other incident's notices)."""
    limit = batch
    while True:
        notices = await unit.pending_notices(limit)
        ready = [n for n in notices if n.queue not in blocked]
        if ready or len(notices) < limit:
            return ready[:batch]
        limit *= 2


def _space(incident: Incident) -> Space:
    if incident.space is None:
        raise RuntimeError(f"{incident.public_id} has no chat space yet")
    return incident.space


def superseded(notice: Notice, later: list[Notice]) -> bool:
    """A summary refresh is pointless when another one for the same incident follows."""
    if notice.kind is not NoticeKind.SUMMARY:
        return False
    return any(n.kind is NoticeKind.SUMMARY and n.incident == notice.incident for n in later)
