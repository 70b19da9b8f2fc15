"""Publishing approved statements: only the current approved version of a draft goes out, by
a spokesperson or the commander (`bot.core.access`), and never a drill's. The publication
record, its timeline event and one outbox notice per destination commit together;
`bot.core.publishing` delivers each from the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.core import access
from bot.core import commands as cmd
from bot.core.errors import Invalid, NotFound
from bot.core.models import Draft, DraftState, EventKind, Incident, NoticeKind, PersonId
from bot.core.publication import DESTINATIONS, Publication, digest
from bot.core.rules import check_open, refuse_unpublishable
from bot.core.status_board import Board
from bot.core.status_board import status_board as board_of
from bot.core.text import Joined, Who, _
from bot.core.tx import Tx
from bot.core.usecases.env import Env
from bot.core.views import destination_names

NOWHERE = _("Nothing to publish to: no destination is configured under [publish] "
            "(see docs/publishing.md).")


async def publish(tx: Tx, env: Env, number: int, actor: PersonId,
                  draft_number: int | None = None, *, to: Sequence[str] = (),
                  title: str | None = None, version: int | None = None) -> Publication:
    """Publish the current approved version of a draft (`version` is what a button showed:
    an older one is refused) to `to` or every configured destination."""
    incident = await tx.incident(number)
    check_open(incident)
    access.permit(env.rules, cmd.Publish, incident, actor)
    if incident.drill:  # a rehearsal's words must not reach the public
        raise Invalid(_("{incident} is a drill: its statements are not published (drafting "
                        "and approval were the practice).", incident=incident.public_id))
    published = await tx.unit.publications(number)
    draft = await _publishable(tx, incident, draft_number, published)
    refuse_unpublishable(draft, version, published)
    where = destinations(env.publish_to, to, incident)
    earlier = next((p for p in reversed(published) if p.draft == draft.number), None)
    publication = Publication(
        incident=number, draft=draft.number, version=draft.version,
        text=draft.current.text, sha256=digest(draft.current.text),
        language=incident.language or env.language, destinations=where, at=tx.now,
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


def destinations(configured: Sequence[str], to: Sequence[str],
                 incident: Incident) -> tuple[str, ...]:
    """`to`, within what is configured and what the incident's routing rule allows."""
    allowed = tuple(name for name in configured
                    if incident.publish_to is None or name in incident.publish_to)
    if not configured:
        raise Invalid(NOWHERE)
    if not allowed:  # the routing rule names only destinations this bot has not got
        raise Invalid(_("This incident's routing rule publishes only to {names}, and none of "
                        "them is configured under [publish] (see docs/publishing.md).",
                        names=Joined(incident.publish_to or ())))
    unknown = [name for name in to if name not in allowed]
    if unknown:
        raise Invalid(_("“{name}” is not a destination here; statements go to {names}.",
                        name=unknown[0], names=Joined(allowed)))
    wanted = set(to or allowed)
    return tuple(name for name in DESTINATIONS if name in wanted)


async def status_board(tx: Tx, keep: timedelta) -> list[Board]:
    """What the public status page shows (see `core/status_board.py`)."""
    return board_of(await tx.unit.incidents(), await tx.unit.publications(), tx.now, keep)


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


async def publications(tx: Tx, incident: int | None) -> list[Publication]:
    """What was published (of one incident, or of all), oldest first."""
    return await tx.unit.publications(incident)
