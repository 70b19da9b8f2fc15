"""Turn queued notices into chat actions, in order per incident, from current state.

Notices name what to show, not how: a SUMMARY notice posts and pins the summary the first
time and edits it after; a DRAFT notice posts a version's card once and edits it as decisions
arrive; CLOSE_SPACE / REOPEN_SPACE follow resolve and reopen. Several summary refreshes waiting
together collapse into one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TypeVar

from bot.core.errors import RetryLater
from bot.core.models import Draft, Incident, Notice, NoticeKind, Space
from bot.core.ports import Chat, Store
from bot.core.rules import Rules
from bot.core.views import draft_lines, summary_lines

T = TypeVar("T")


class Delivery:
    def __init__(self, store: Store, chats: Mapping[str, Chat], rules: Rules) -> None:
        self.store = store
        self.chats = chats
        self.rules = rules
        self._lock = asyncio.Lock()

    async def flush(self, batch: int = 100) -> int:
        """Deliver everything pending; return how many notices were handled.

        A failing notice stops its incident's queue for this round (order matters within an
        incident) and is raised after the other incidents had their turn. A platform that says
        "slow down" (`RetryLater`) is waited for, then the queue is read again in order.

        One flush at a time: the scheduler's tick and the delivery task both flush, and two
        reading the same pending notices would post them twice; holding the lock while waiting
        out a `RetryLater` keeps the other from knocking early.
        """
        async with self._lock:
            return await self._flush(batch)

    async def _flush(self, batch: int) -> int:
        handled, blocked = 0, set[int]()
        failure: Exception | None = None
        while True:
            async with self.store.unit() as unit:
                pending = [n for n in await unit.pending_notices(batch)
                           if n.incident not in blocked]
            if not pending:
                break
            for index, notice in enumerate(pending):
                if notice.incident in blocked:
                    continue
                superseded = _superseded(notice, pending[index + 1:])
                try:
                    await self._deliver(notice, skip=superseded)
                    handled += 1
                except RetryLater as wait:
                    await asyncio.sleep(wait.seconds)
                    break
                except Exception as error:
                    blocked.add(notice.incident)
                    failure = failure or error
        if failure is not None:
            raise failure
        return handled

    async def _deliver(self, notice: Notice, *, skip: bool) -> None:
        """Read in one short unit, talk to the chat with no transaction open (a slow API must
        not hold the database), then record what the chat returned and mark the notice done."""
        if not skip:
            async with self.store.unit() as unit:
                incident = await unit.get_incident(notice.incident)
                drafts = await unit.drafts(notice.incident) if incident else []
            if incident is not None:
                await self._act(incident, drafts, notice)
        async with self.store.unit() as unit:
            await unit.notice_done(_given(notice.id))

    async def _act(self, incident: Incident, drafts: list[Draft], notice: Notice) -> None:
        chat = self.chats[incident.platform]
        lang = incident.language
        if notice.kind is NoticeKind.OPEN_SPACE:
            if incident.space is None:
                space = await chat.open_space(incident)
                await self._remember(incident.number, space=space)
            return
        if notice.kind is NoticeKind.DIRECT:
            await chat.direct(_given(notice.person), [_given(notice.text)], language=lang)
            return
        space = _space(incident)
        by_number = {d.number: d for d in drafts}
        match notice.kind:
            case NoticeKind.INVITE:
                await chat.invite(space, [_given(notice.person)])
            case NoticeKind.CLOSE_SPACE:
                await chat.close_space(space)
            case NoticeKind.REOPEN_SPACE:
                await chat.reopen_space(space)
            case NoticeKind.SUMMARY:
                lines = summary_lines(incident, self.rules, drafts)
                if incident.summary_message is None:
                    message = await chat.post(space, lines, language=lang)
                    await self._remember(incident.number, summary=message)
                    await chat.pin(space, message)
                else:
                    await chat.update(space, incident.summary_message, lines, language=lang)
            case NoticeKind.MESSAGE:
                thread = None
                if notice.thread_of_draft and notice.draft in by_number:
                    thread = by_number[_given(notice.draft)].current.message
                await chat.post(space, [_given(notice.text)], thread=thread, language=lang)
            case NoticeKind.DRAFT:
                draft = by_number.get(_given(notice.draft))
                if draft is None or draft.version != notice.version:
                    return  # a newer version has its own card
                lines = draft_lines(incident, draft, self.rules)
                if draft.current.message is None:
                    message = await chat.post(space, lines, draft=draft, language=lang)
                    await self._remember(incident.number,
                                         draft=(draft.number, draft.version, message))
                else:
                    await chat.update(space, draft.current.message, lines, draft=draft,
                                      language=lang)

    async def _remember(self, number: int, *, space: Space | None = None,
                        summary: str | None = None,
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
            await unit.update_incident(incident)


def _given(value: T | None) -> T:
    """A field the notice's kind requires; its absence is a bug where the notice was made."""
    if value is None:
        raise ValueError("notice is missing a field its kind requires")
    return value


def _space(incident: Incident) -> Space:
    if incident.space is None:
        raise RuntimeError(f"{incident.public_id} has no chat space yet")
    return incident.space


def _superseded(notice: Notice, later: list[Notice]) -> bool:
    """A summary refresh is pointless when another one for the same incident follows."""
    if notice.kind is not NoticeKind.SUMMARY:
        return False
    return any(n.kind is NoticeKind.SUMMARY and n.incident == notice.incident for n in later)
