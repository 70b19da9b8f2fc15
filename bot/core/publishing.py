"""Publishing approved statements, the outbox's side: the delivery of each publication to
each destination (the use case is `bot.core.usecases.publishing`).

Each notice delivers the stored text (never the draft's current text, which may have moved
on) and records where it landed.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.models import EventKind, Notice, NoticeKind, TimelineEvent
from bot.core.ports import Clock, Once, RetryLater
from bot.core.publication import DESTINATION_LABELS, Destination, Posted, Publication
from bot.core.store import Store
from bot.core.text import Text, _


class PublishDelivery:
    """Carries one PUBLISH notice to its destination, called by `Delivery` from the outbox.

    The destination gets the stored publication; after a correction it also marks the
    earlier statement's message there as updated. Where it landed is recorded on the
    publication and in the timeline before the earlier one is marked. A destination already
    recorded is not delivered again (a retry only marks the earlier message).
    """

    def __init__(self, store: Store, clock: Clock,
                 destinations: Mapping[str, Destination]) -> None:
        self.store = store
        self.clock = clock
        self.destinations = destinations

    async def deliver(self, notice: Notice, once: Once) -> str | None:
        name = notice.destination
        async with self.store.unit() as unit:
            statement = await unit.get_publication(_given(notice.publication))
            if statement is None or name is None:
                return None
            earlier = (await unit.get_publication(statement.replaces)
                       if statement.replaces is not None else None)
        destination = self.destinations.get(name)
        message = statement.messages.get(name)
        if name not in statement.links:
            try:
                if destination is None:  # configured when published, gone since
                    raise LookupError(f"destination {name!r} is no longer configured")
                posted = await destination.publish(statement, earlier, once=once)
            except Exception as error:
                if not once.retry:  # the first failure; the timeline says when it is out
                    await self._failed(statement, name, error)
                raise
            await self._landed(statement, name, posted)
            message = posted.message
        # After the delivery is recorded: a failed edit is retried alone, never re-posting.
        if destination is not None and earlier is not None and name in earlier.messages:
            await destination.mark_updated(earlier, earlier.messages[name], statement)
        return message

    async def _landed(self, statement: Publication, name: str, posted: Posted) -> None:
        """Record where `statement` landed on `name`: its link, message and timeline event."""
        async with self.store.unit() as unit:
            fresh = await unit.get_publication(_given(statement.id))
            if fresh is None:
                return
            fresh.links[name] = posted.link
            if posted.message is not None:
                fresh.messages[name] = posted.message
            await unit.update_publication(fresh)
            await unit.append(TimelineEvent(
                statement.incident, self.clock.now(), EventKind.STATEMENT_DELIVERED, None,
                {"publication": statement.id, "draft": statement.draft,
                 "version": statement.version, "destination": name, "link": posted.link}))

    async def _failed(self, statement: Publication, name: str, error: Exception) -> None:
        """Tell the incident that `statement` is not out on `name` yet, and why."""
        await self._tell(statement, name, _(
            "Draft #{number} (version {version}) is not out on {destination} yet: {reason}. The "
            "bot keeps trying; “/crisis timeline” shows when it is out.",
            number=statement.draft, version=statement.version,
            destination=DESTINATION_LABELS.get(name, name), reason=_reason(error)))

    async def gave_up(self, notice: Notice, error: Exception) -> None:
        """The outbox stopped trying `notice` (a refusal that retrying does not cure): unless
        it landed after all, the team hears that the statement is not out there and will not
        be, so someone posts it by hand."""
        async with self.store.unit() as unit:
            statement = await unit.get_publication(_given(notice.publication))
        name = notice.destination
        if statement is None or name is None or name in statement.links:
            return
        await self._tell(statement, name, _(
            "Draft #{number} (version {version}) is not out on {destination}: {reason}. The "
            "bot has stopped trying (attempts made: {attempts}); post it there by hand.",
            number=statement.draft, version=statement.version,
            destination=DESTINATION_LABELS.get(name, name), reason=_reason(error),
            attempts=notice.attempts))

    async def _tell(self, statement: Publication, name: str, text: Text) -> None:
        """A message in the draft's thread about `statement` on `name` (the adapters' reasons
        name the platform's answer, never a credential)."""
        async with self.store.unit() as unit:
            await unit.enqueue(Notice(
                statement.incident, NoticeKind.MESSAGE, self.clock.now(), text=text,
                draft=statement.draft, version=statement.version, thread_of_draft=True))


def _reason(error: Exception) -> str:
    reason = error.reason if isinstance(error, RetryLater) else str(error)
    return (reason or type(error).__name__)[:300]


def _given(value: int | None) -> int:
    if value is None:
        raise ValueError("a PUBLISH notice names its publication")
    return value

