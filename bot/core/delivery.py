"""Turn queued notices into chat actions, in order per incident, from current state.

Notices name what to show, not how: a SUMMARY notice posts and pins the summary the first
time and edits it after; a DRAFT notice posts a version's card once and edits it as decisions
arrive. Several summary refreshes waiting together collapse into one.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.models import Incident, Notice, NoticeKind, Space
from bot.core.ports import Chat, Store, Unit
from bot.core.rules import Rules
from bot.core.views import draft_lines, summary_lines


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
                pending = await _ready(unit, batch, blocked)
            if not pending:
                break
            for index, notice in enumerate(pending):
                if notice.incident in blocked:
                    continue
                superseded = _superseded(notice, pending[index + 1:])
                try:
                    await self._deliver(notice, skip=superseded)
                    handled += 1
                except Exception as error:  # noqa: BLE001 - re-raised once the round is over
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
            assert notice.id is not None  # noqa: S101 - stored notices always have ids
            await unit.notice_done(notice.id)

    async def _act(self, unit: Unit, incident: Incident, notice: Notice) -> None:
        chat = self.chats[incident.platform]
        lang = incident.language
        if notice.kind is NoticeKind.OPEN_SPACE:
            if incident.space is None:
                incident.space = await chat.open_space(incident)
                await unit.update_incident(incident)
            return
        if notice.kind is NoticeKind.DIRECT:
            assert notice.person is not None and notice.text is not None  # noqa: S101
            await chat.direct(notice.person, [notice.text], language=lang)
            return
        space = _space(incident)
        match notice.kind:
            case NoticeKind.INVITE:
                assert notice.person is not None  # noqa: S101
                await chat.invite(space, [notice.person])
            case NoticeKind.SUMMARY:
                lines = summary_lines(incident, self.rules, await unit.drafts(incident.number))
                if incident.summary_message is None:
                    incident.summary_message = await chat.post(space, lines, language=lang)
                    await unit.update_incident(incident)
                    await chat.pin(space, incident.summary_message)
                else:
                    await chat.update(space, incident.summary_message, lines, language=lang)
            case NoticeKind.MESSAGE:
                assert notice.text is not None  # noqa: S101
                thread = None
                if notice.thread_of_draft and notice.draft is not None:
                    draft = await unit.get_draft(incident.number, notice.draft)
                    thread = draft.current.message if draft else None
                await chat.post(space, [notice.text], thread=thread, language=lang)
            case NoticeKind.DRAFT:
                assert notice.draft is not None  # noqa: S101
                draft = await unit.get_draft(incident.number, notice.draft)
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


async def _ready(unit: Unit, batch: int, blocked: set[int]) -> list[Notice]:
    """Up to `batch` pending notices of unblocked incidents, looking past the blocked ones
    (a stuck incident's queue must not hide every other incident's notices)."""
    limit = batch
    while True:
        notices = await unit.pending_notices(limit)
        ready = [n for n in notices if n.incident not in blocked]
        if ready or len(notices) < limit:
            return ready[:batch]
        limit *= 2


def _space(incident: Incident) -> Space:
    if incident.space is None:
        raise RuntimeError(f"{incident.public_id} has no chat space yet")
    return incident.space


def _superseded(notice: Notice, later: list[Notice]) -> bool:
    """A summary refresh is pointless when another one for the same incident follows."""
    if notice.kind is not NoticeKind.SUMMARY:
        return False
    return any(n.kind is NoticeKind.SUMMARY and n.incident == notice.incident for n in later)
