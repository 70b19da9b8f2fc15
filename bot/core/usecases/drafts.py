"""Statements drafted, revised and decided under the incident's approval policy, and the
checks a draft card's buttons and reactions run before asking anything."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core import access
from bot.core import commands as cmd
from bot.core.errors import Invalid, NotFound
from bot.core.models import (
    Decision,
    Draft,
    DraftState,
    DraftVersion,
    EventKind,
    Incident,
    NoticeKind,
    PersonId,
)
from bot.core.rules import (
    Rules,
    check_current,
    check_open,
    check_revisable,
    reaction_decision,
    was_published,
)
from bot.core.text import Joined, Who, _
from bot.core.tx import Tx
from bot.core.views import NOT_A_DRAFT


async def post_draft(tx: Tx, rules: Rules, number: int, actor: PersonId, text: str,
                     target: str | None = None) -> Draft:
    incident = await tx.incident(number)
    check_open(incident)
    access.permit(rules, cmd.PostDraft, incident, actor)
    if not text.strip():
        raise Invalid(_("A draft needs some text."))
    existing = await tx.unit.drafts(number)
    draft = Draft(number, len(existing) + 1, actor, tx.now,
                  [DraftVersion(1, text.strip(), actor, tx.now)], target=target)
    await tx.unit.add_draft(draft)
    await tx.record(number, EventKind.DRAFT_POSTED, actor, draft=draft.number,
                    version=1, text=draft.current.text, target=target)
    await tx.notify(number, NoticeKind.DRAFT, draft=draft.number, version=1)
    await tx.notify(number, NoticeKind.SUMMARY)
    return draft


async def revise(tx: Tx, rules: Rules, number: int, draft_number: int, actor: PersonId,
                 text: str, version: int | None = None) -> Draft:
    """A new version; the old version's approvals no longer count. Given the `version` the
    writer saw, a newer one (another person's revision meanwhile) is refused, in the same
    transaction, rather than overwritten."""
    incident = await tx.incident(number)
    check_open(incident)
    draft = await tx.draft(incident, draft_number)
    if version is not None:
        check_current(draft, version)
    access.permit(rules, cmd.ReviseDraft, incident, actor, draft)
    if not text.strip():
        raise Invalid(_("A draft needs some text."))
    await _check_revisable(tx, draft)
    new = DraftVersion(draft.version + 1, text.strip(), actor, tx.now)
    draft.versions.append(new)
    draft.state = DraftState.PENDING
    await tx.unit.update_draft(draft)
    await tx.record(number, EventKind.DRAFT_REVISED, actor, draft=draft.number,
                    version=new.number, text=new.text)
    await tx.notify(number, NoticeKind.DRAFT, draft=draft.number, version=new.number)
    await tx.notify(number, NoticeKind.SUMMARY)
    return draft


async def decide(tx: Tx, rules: Rules, number: int, actor: PersonId, *, approve: bool,
                 draft_number: int | None = None, reason: str = "",
                 message: str | None = None, version: int | None = None) -> Draft:
    """Approve or reject a draft (by number, by the message it was posted as, or the latest
    pending one) under the incident's approval policy. A button names the `version` it was
    shown for, so a press on an outdated card is refused."""
    incident = await tx.incident(number)
    check_open(incident)
    draft = await find_draft(tx, incident, draft_number, message)
    if version is not None:
        check_current(draft, version)
    access.permit(rules, cmd.Approve if approve else cmd.Reject, incident, actor)
    if approve:
        step, role = rules.approve(incident, draft, actor)
    else:
        if not reason.strip():
            raise Invalid(_("Say why the draft is rejected."))
        step, role = None, rules.reject(incident, draft, actor)
    decision = Decision(draft.version, actor, approve, tx.now, step, role,
                        reason.strip() or None)
    draft.decisions.append(decision)
    draft.state = rules.state_after(incident, draft, decision)
    await tx.unit.update_draft(draft)
    data = {"draft": draft.number, "version": draft.version, "role": role}
    if approve:
        await tx.record(number, EventKind.DRAFT_APPROVAL, actor, **data)
    else:
        await tx.record(number, EventKind.DRAFT_REJECTED, actor, reason=decision.reason,
                        **data)
        await tx.say(number, _("{person} rejected draft #{number}: {reason}",
                               person=Who(actor), number=draft.number,
                               reason=decision.reason), draft=draft.number,
                     version=draft.version, thread_of_draft=True)
    if draft.state is DraftState.APPROVED:
        await _approved(tx, rules, incident, draft, data)
    await tx.notify(number, NoticeKind.DRAFT, draft=draft.number, version=draft.version)
    if draft.state is not DraftState.PENDING:
        await tx.notify(number, NoticeKind.SUMMARY)
    return draft


async def settle(tx: Tx, rules: Rules, incident: Incident) -> None:
    """Approve the pending drafts the policy is now met for: a lower severity asks fewer
    approvals, and a draft that already has them would otherwise wait for an approval
    nobody can give (“already has every approval it needs”)."""
    for draft in await tx.unit.drafts(incident.number):
        if draft.state is DraftState.PENDING and all(
                p.done for p in rules.progress(incident, draft)):
            draft.state = DraftState.APPROVED
            await tx.unit.update_draft(draft)
            await _approved(tx, rules, incident, draft,
                            {"draft": draft.number, "version": draft.version})
            await tx.notify(incident.number, NoticeKind.DRAFT, draft=draft.number,
                            version=draft.version)


async def _approved(tx: Tx, rules: Rules, incident: Incident, draft: Draft,
                    data: dict[str, Any]) -> None:
    """Record and say that `draft` is approved, naming the approvals that count."""
    approvers = [p for step in rules.progress(incident, draft) for p in step.approvers]
    await tx.record(incident.number, EventKind.DRAFT_APPROVED, None, approvers=approvers,
                    **data)
    await tx.say(incident.number, _("Draft #{number} is approved and ready to publish. "
                                    "Approved by {people}.", number=draft.number,
                                    people=Joined(tuple(Who(p) for p in approvers))),
                 draft=draft.number, version=draft.version, thread_of_draft=True)


async def find_draft(tx: Tx, incident: Incident, number: int | None,
                     message: str | None) -> Draft:
    """The draft a decision names: by number, by the message its card was posted as (only
    its current version), or the latest pending one."""
    if message is None:
        return await tx.draft(incident, number)
    for draft in await tx.unit.drafts(incident.number):
        version = draft.version_by_message(message)
        if version is None:
            continue
        check_current(draft, version.number)
        return draft
    raise NotFound(NOT_A_DRAFT)


async def react(tx: Tx, rules: Rules, number: int, actor: PersonId, message: str,
                added: Sequence[str]) -> Draft | None:
    """Emoji `added` to `message` in incident `number`'s space; on a draft card the first one
    that is a decision (`reaction_decision`) counts. Approving approves the card's version. A
    rejection needs a reason, which an emoji cannot give: what rejecting would refuse is
    refused now, and the draft is returned for the platform to ask `actor` for the reason
    (the same on every platform). None: nothing to ask (approved, no decision, no card)."""
    decisions = [d for d in map(reaction_decision, added) if d is not None]
    if not decisions:
        return None
    incident = await tx.incident(number)
    card = next(((d, v) for d in await tx.unit.drafts(number)
                 if (v := d.version_by_message(message)) is not None), None)
    if card is None:
        return None
    if decisions[0]:
        await decide(tx, rules, number, actor, approve=True, message=message)
        return None
    draft, shown = card  # an older version's card is refused, as its ✅ is
    access.check_card(rules, incident, draft, actor, shown.number, cmd.Reject)
    return draft


async def incident_of_message(tx: Tx, platform: str, message: str) -> Incident | None:
    """The open incident on `platform` that posted `message` as a draft card: a reaction
    names only the message."""
    for incident in await tx.unit.incidents(open_only=True):
        if incident.platform != platform:
            continue
        drafts = await tx.unit.drafts(incident.number)
        if any(d.version_by_message(message) for d in drafts):
            return incident
    return None


async def check_card(tx: Tx, rules: Rules, number: int, actor: PersonId, draft_number: int,
                     version: int, action: type[cmd.Approve | cmd.Reject | cmd.ReviseDraft],
                     ) -> tuple[Incident, Draft]:
    """What pressing a card's button would refuse, refused now (see `access.check_card`);
    return the incident and the draft."""
    incident = await tx.incident(number)
    draft = await tx.draft(incident, draft_number)
    access.check_card(rules, incident, draft, actor, version, action)
    if action is cmd.ReviseDraft:
        await _check_revisable(tx, draft)
    return incident, draft


async def _check_revisable(tx: Tx, draft: Draft) -> None:
    """`rules.check_revisable`, with whether the approved draft went out."""
    published = draft.state is DraftState.APPROVED and was_published(
        draft, await tx.unit.publications(draft.incident))
    check_revisable(draft, published=published)
