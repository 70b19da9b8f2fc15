"""Turn queued notices into chat actions, in order per incident, from current state.

Notices name what to show, not how: a SUMMARY notice posts and pins the summary the first
time and edits it after; a DRAFT notice posts a version's card once and edits it as decisions
arrive. Several summary refreshes waiting together collapse into one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from bot.core.models import Incident, Notice, NoticeKind, Space
from bot.core.ports import Chat, Store, Unit
from bot.core.rules import Rules
from bot.core.views import draft_lines, summary_lines

T = TypeVar("T")


class Delivery:
    def __init__(self, store: Store, chats: Mapping[str, Chat], rules: Rules) -> None:
        self.store = store
        self.chats = chats
        self.rules = rules

    async def flush(self, batch: int = 100) -> int:
        """Deliver everything pending; return how many notices were handled.

        A failing notice stops its incident's queue for this round (order matters within an
        incident) and is raised after the other incidents had their turn.
        """
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
                except Exception as error:
                    blocked.add(notice.incident)
                    failure = failure or error
        if failure is not None:
            raise failure
        return handled

    async def _deliver(self, notice: Notice, *, skip: bool) -> None:
        async with self.store.unit() as unit:
            if not skip:
                incident = await unit.get_incident(notice.incident)
                if incident is not None:
                    await self._act(unit, incident, notice)
            await unit.notice_done(_given(notice.id))

    async def _act(self, unit: Unit, incident: Incident, notice: Notice) -> None:
        chat = self.chats[incident.platform]
        lang = incident.language
        if notice.kind is NoticeKind.OPEN_SPACE:
            if incident.space is None:
                incident.space = await chat.open_space(incident)
                await unit.update_incident(incident)
            return
        if notice.kind is NoticeKind.DIRECT:
            await chat.direct(_given(notice.person), [_given(notice.text)], language=lang)
            return
        space = _space(incident)
        match notice.kind:
            case NoticeKind.INVITE:
                await chat.invite(space, [_given(notice.person)])
            case NoticeKind.SUMMARY:
                lines = summary_lines(incident, self.rules, await unit.drafts(incident.number))
                if incident.summary_message is None:
                    incident.summary_message = await chat.post(space, lines, language=lang)
                    await unit.update_incident(incident)
                    await chat.pin(space, incident.summary_message)
                else:
                    await chat.update(space, incident.summary_message, lines, language=lang)
            case NoticeKind.MESSAGE:
                thread = None
                if notice.thread_of_draft and notice.draft is not None:
                    draft = await unit.get_draft(incident.number, notice.draft)
                    thread = draft.current.message if draft else None
                await chat.post(space, [_given(notice.text)], thread=thread, language=lang)
            case NoticeKind.DRAFT:
                draft = await unit.get_draft(incident.number, _given(notice.draft))
                if draft is None or draft.version != notice.version:
                    return  # a newer version has its own card
                lines = draft_lines(incident, draft, self.rules)
                if draft.current.message is None:
                    draft.current.message = await chat.post(space, lines, draft=draft,
                                                            language=lang)
                    await unit.update_draft(draft)
                else:
                    await chat.update(space, draft.current.message, lines, draft=draft,
                                      language=lang)


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
