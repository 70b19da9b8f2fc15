"""Publishing approved statements: the use case (a mixin of `Service`, which provides the unit
of work) and the delivery of each publication to each destination from the outbox.

Only the current approved version of a draft is published, by a spokesperson or the commander
(`bot.core.access`). The publication record, its timeline event and one outbox notice per
destination commit together; each notice then delivers the stored text (never the draft's
current text, which may have moved on) and records where it landed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.core import access
from bot.core import commands as cmd
from bot.core.errors import Invalid, NotFound
from bot.core.models import (
    Draft,
    DraftState,
    EventKind,
    Incident,
    Notice,
    NoticeKind,
    PersonId,
    TimelineEvent,
)
from bot.core.ports import Clock, Once
from bot.core.publication import (
    DESTINATIONS,
    Destination,
    Publication,
    digest,
)
from bot.core.rules import Rules, check_open
from bot.core.status_board import Board, status_board
from bot.core.store import Store
from bot.core.text import Joined, Who, _
from bot.core.tx import Tx
from bot.core.usecase import canonical_people
from bot.core.views import destination_names

R = TypeVar("R")

NOWHERE = _("Nothing to publish to: no destination is configured under [publish] "
            "(see docs/publishing.md).")


class Publishing:
    """`publish` and what the status page and the report read back; `publish_to` holds the
    configured destinations (empty: publishing is off and says so)."""

    rules: Rules
    language: str
    publish_to: tuple[str, ...]

    if TYPE_CHECKING:  # provided by Service
        async def _run(self, work: Callable[[Tx], Awaitable[R]]) -> R: ...

    @canonical_people
    async def publish(self, number: int, actor: PersonId, draft_number: int | None = None, *,
                      to: Sequence[str] = (), title: str | None = None,
                      version: int | None = None) -> Publication:
        """Publish the current approved version of a draft (`version` is what a button showed:
        an older one is refused) to `to` or every configured destination."""

        async def work(tx: Tx) -> Publication:
            incident = await tx.incident(number)
            check_open(incident)
            access.permit(self.rules, cmd.Publish, incident, actor)
            published = await tx.unit.publications(number)
            draft = await _publishable(tx, incident, draft_number, published)
            refuse_unpublishable(draft, version, published)
            where = self._destinations(to, incident)
            earlier = next((p for p in reversed(published) if p.draft == draft.number), None)
            publication = Publication(
                incident=number, draft=draft.number, version=draft.version,
                text=draft.current.text, sha256=digest(draft.current.text),
                language=incident.language or self.language, destinations=where, at=tx.now,
                by=actor, title=(title or "").strip()[:200] or None,
                replaces=earlier.id if earlier else None)
            await tx.unit.add_publication(publication)
            draft.current.published_at = tx.now
            await tx.unit.update_draft(draft)
            if earlier is not None:
                earlier.updated_at = tx.now
                await tx.unit.update_publication(earlier)
            await tx.record(number, EventKind.STATEMENT_PUBLISHED, actor,
                            publication=publication.id, draft=draft.number,
                            version=draft.version, sha256=publication.sha256,
                            destinations=list(where), replaces=publication.replaces)
            for name in where:
                await tx.notify(number, NoticeKind.PUBLISH, publication=publication.id,
                                destination=name, draft=draft.number, version=draft.version)
            await tx.say(number, _("{person} published draft #{number} (version {version}) "
                                   "to {destinations}.", person=Who(actor),
                                   number=draft.number, version=draft.version,
                                   destinations=destination_names(where)),
                         draft=draft.number, version=draft.version, thread_of_draft=True)
            await tx.notify(number, NoticeKind.DRAFT, draft=draft.number, version=draft.version)
            return publication

        return await self._run(work)

    def _destinations(self, to: Sequence[str], incident: Incident) -> tuple[str, ...]:
        """`to`, within what is configured and what the incident's routing rule allows."""
        allowed = tuple(name for name in self.publish_to
                        if incident.publish_to is None or name in incident.publish_to)
        if not allowed:
            raise Invalid(NOWHERE)
        unknown = [name for name in to if name not in allowed]
        if unknown:
            raise Invalid(_("“{name}” is not a destination here; statements go to {names}.",
                            name=unknown[0], names=Joined(allowed)))
        wanted = set(to or allowed)
        return tuple(name for name in DESTINATIONS if name in wanted)

    async def status_board(self, keep: timedelta = timedelta(days=7)) -> list[Board]:
        """What the public status page shows (see `core/status_board.py`)."""

        async def work(tx: Tx) -> list[Board]:
            return status_board(await tx.unit.incidents(), await tx.unit.publications(),
                                tx.now, keep)

        return await self._run(work)

    async def publications(self, incident: int | None = None) -> list[Publication]:
        """What was published (of one incident, or of all), oldest first."""

        async def work(tx: Tx) -> list[Publication]:
            return await tx.unit.publications(incident)

        return await self._run(work)


async def _publishable(tx: Tx, incident: Incident, number: int | None,
                       published: Sequence[Publication]) -> Draft:
    if number is not None:
        return await tx.draft(incident, number)
    done = {(p.draft, p.version) for p in published}
    drafts = [d for d in await tx.unit.drafts(incident.number)
              if d.state is DraftState.APPROVED and (d.number, d.version) not in done]
    if not drafts:
        raise NotFound(_("{incident} has no approved draft waiting to be published.",
                         incident=incident.public_id))
    return drafts[-1]


def refuse_unpublishable(draft: Draft, version: int | None,
                         published: Sequence[Publication]) -> None:
    """Only the current, approved, not yet published version goes out; say why not."""
    if version is not None and version != draft.version:
        raise Invalid(_("Version {old} of draft #{number} was superseded by version "
                        "{version}; only the current version can be published.",
                        old=version, number=draft.number, version=draft.version))
    if draft.state is DraftState.REJECTED:
        raise Invalid(_("Draft #{number} was rejected; revise it and have the new version "
                        "approved before publishing.", number=draft.number))
    if draft.state is not DraftState.APPROVED:
        raise Invalid(_("Version {version} of draft #{number} is not approved yet, so it "
                        "cannot be published.", version=draft.version, number=draft.number))
    if any(p.draft == draft.number and p.version == draft.version for p in published):
        raise Invalid(_("Version {version} of draft #{number} is published already.",
                        version=draft.version, number=draft.number))


def was_published(draft: Draft, published: Sequence[Publication]) -> bool:
    return any(p.draft == draft.number for p in published)


class PublishDelivery:
    """Carries one PUBLISH notice to its destination, called by `Delivery` from the outbox.

    The destination gets the stored publication; after a correction it also marks the
    earlier statement's message there as updated. Where it landed is recorded on the
    publication and in the timeline. A destination already recorded is not delivered again.
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
        if name in statement.links:
            return statement.messages.get(name)
        destination = self.destinations.get(name)
        if destination is None:  # configured when published, gone since: say so, once
            raise LookupError(f"destination {name!r} is no longer configured")
        posted = await destination.publish(statement, earlier, once=once)
        if earlier is not None and name in earlier.messages:
            await destination.mark_updated(earlier, earlier.messages[name], statement)
        async with self.store.unit() as unit:
            fresh = await unit.get_publication(_given(statement.id))
            if fresh is None:
                return None
            fresh.links[name] = posted.link
            if posted.message is not None:
                fresh.messages[name] = posted.message
            await unit.update_publication(fresh)
            await unit.append(TimelineEvent(
                statement.incident, self.clock.now(), EventKind.STATEMENT_DELIVERED, None,
                {"publication": statement.id, "draft": statement.draft,
                 "version": statement.version, "destination": name, "link": posted.link}))
        return posted.message


def _given(value: int | None) -> int:
    if value is None:
        raise ValueError("a PUBLISH notice names its publication")
    return value

