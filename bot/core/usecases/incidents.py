"""An incident's life: declared, acknowledged, its severity, status and language changed,
noted, resolved and reopened. Each change, its timeline event and its chat notices are
written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import access
from bot.core import commands as cmd
from bot.core.errors import Invalid
from bot.core.models import (
    STATUS_LABELS,
    SYSTEM,
    CrisisKind,
    EventKind,
    Incident,
    NoticeKind,
    PersonId,
    Severity,
    Status,
)
from bot.core.playbook_views import language_name
from bot.core.rules import COMMANDER, Rules, check_open, check_transition
from bot.core.text import Who, _
from bot.core.tx import Tx
from bot.core.usecases.drafts import settle
from bot.core.usecases.env import Env
from bot.core.usecases.playbooks import open_checklist


async def declare(tx: Tx, env: Env, actor: PersonId, title: str, *,
                  severity: Severity | None = None, kind: CrisisKind | None = None,
                  platform: str | None = None, group_key: str | None = None,
                  invite: Sequence[PersonId] = (), drill: bool = False,
                  playbook: str | None = None,
                  publish_to: tuple[str, ...] | None = None) -> Incident:
    """Open an incident: its space, its people invited, its summary and its checklist."""
    title = title.strip()
    if not title:
        raise Invalid(_("Give the incident a title."))
    incident = Incident(
        number=await tx.unit.next_incident_number(),
        title=title[:200],
        kind=kind or CrisisKind.OTHER,
        severity=severity or env.rules.default_severity,
        status=Status.TRIGGERED,
        created_at=tx.now,
        created_by=actor,
        platform=platform or env.platform,
        group_key=group_key,
        drill=drill,
        publish_to=publish_to,
    )
    if actor != SYSTEM:
        incident.roles[COMMANDER] = [actor]
    await tx.unit.add_incident(incident)
    playbook_data = {"playbook": playbook} if playbook else {}
    await tx.record(incident.number, EventKind.DECLARED, actor, title=incident.title,
                    severity=incident.severity.value, kind=incident.kind.value,
                    **playbook_data)
    await tx.notify(incident.number, NoticeKind.OPEN_SPACE)
    for person in dict.fromkeys([*incident.responders, *invite]):
        await tx.notify(incident.number, NoticeKind.INVITE, person=person)
    await tx.notify(incident.number, NoticeKind.SUMMARY)
    await open_checklist(tx, env.playbooks, incident)
    return incident


async def acknowledge(tx: Tx, number: int, actor: PersonId) -> Incident:
    incident = await tx.incident(number)
    check_open(incident)
    if incident.status is not Status.TRIGGERED:
        raise Invalid(_("{incident} is already acknowledged.", incident=incident.public_id))
    incident.status = Status.ACKNOWLEDGED
    incident.acknowledged_at = tx.now
    await tx.record(number, EventKind.ACKNOWLEDGED, actor)
    if incident.commander is None:
        incident.roles[COMMANDER] = [actor]
        await tx.record(number, EventKind.ROLE_ASSIGNED, actor, person=actor, role=COMMANDER)
    await tx.unit.update_incident(incident)
    await tx.say(number, _("{person} acknowledged {incident}; commander: {commander}.",
                           person=Who(actor), incident=incident.public_id,
                           commander=Who(incident.commander or actor)))
    await tx.notify(number, NoticeKind.SUMMARY)
    return incident


async def set_severity(tx: Tx, rules: Rules, number: int, actor: PersonId,
                       severity: Severity) -> Incident:
    incident = await tx.incident(number)
    check_open(incident)
    access.permit(rules, cmd.SetSeverity, incident, actor)
    if incident.severity is severity:
        raise Invalid(_("{incident} is already {severity}.",
                        incident=incident.public_id, severity=severity.value))
    old, incident.severity = incident.severity, severity
    await tx.unit.update_incident(incident)
    await tx.record(number, EventKind.SEVERITY_CHANGED, actor, **{
        "from": old.value, "to": severity.value})
    await tx.say(number, _("{person} changed severity {old} → {new}.", person=Who(actor),
                           old=old.value, new=severity.value))
    await settle(tx, rules, incident)
    await tx.notify(number, NoticeKind.SUMMARY)
    return incident


async def status_update(tx: Tx, rules: Rules, number: int, actor: PersonId, text: str,
                        status: Status | None = None) -> Incident:
    """Post a status update, optionally moving to `responding` / `monitoring`."""
    incident = await tx.incident(number)
    check_open(incident)
    access.permit(rules, cmd.StatusUpdate, incident, actor)
    if status is not None and status is not incident.status:
        await move(tx, incident, actor, status)
    if text:
        await tx.record(number, EventKind.STATUS_UPDATE, actor, text=text,
                        status=incident.status.value)
        await tx.say(number, _("Update from {person} ({status}): {text}",
                               person=Who(actor), status=STATUS_LABELS[incident.status],
                               text=text))
    await tx.unit.update_incident(incident)
    await tx.notify(number, NoticeKind.SUMMARY)
    return incident


async def move(tx: Tx, incident: Incident, actor: PersonId, status: Status) -> None:
    """Change the status (the caller stores the incident), as the transitions allow."""
    check_transition(incident.status, status)
    old, incident.status = incident.status, status
    if incident.acknowledged_at is None and status is not Status.TRIGGERED:
        incident.acknowledged_at = tx.now
    # resolved_at is set exactly while resolved, whichever use case made the move
    incident.resolved_at = tx.now if status is Status.RESOLVED else None
    await tx.record(incident.number, EventKind.STATUS_CHANGED, actor,
                    **{"from": old.value, "to": status.value})


async def note(tx: Tx, rules: Rules, number: int, actor: PersonId, text: str, *,
               pinned: bool = False, author: PersonId | None = None,
               link: str | None = None) -> None:
    """Record a note (or a message the team pinned: its author and a link to it, when the
    platform has them) in the timeline."""
    incident = await tx.incident(number)
    access.permit(rules, cmd.Note, incident, actor)
    if not text.strip():
        raise Invalid(_("A note needs some text."))
    kind = EventKind.MESSAGE_PINNED if pinned else EventKind.NOTE
    extra = {k: v for k, v in (("author", author), ("link", link)) if v}
    await tx.record(number, kind, actor, text=text, **extra)


async def resolve(tx: Tx, rules: Rules, number: int, actor: PersonId,
                  summary: str = "") -> Incident:
    incident = await tx.incident(number)
    check_open(incident)
    access.permit(rules, cmd.Resolve, incident, actor)
    await move(tx, incident, actor, Status.RESOLVED)
    incident.resolved_at = tx.now
    await tx.unit.update_incident(incident)
    await tx.record(number, EventKind.RESOLVED, actor, summary=summary)
    await tx.say(number, _("{person} resolved {incident}.{summary}", person=Who(actor),
                           incident=incident.public_id,
                           summary=f" {summary}" if summary else ""))
    await tx.notify(number, NoticeKind.SUMMARY)
    await tx.notify(number, NoticeKind.CLOSE_SPACE)
    return incident


async def reopen(tx: Tx, rules: Rules, number: int, actor: PersonId) -> Incident:
    incident = await tx.incident(number)
    if incident.is_open:
        raise Invalid(_("{incident} is not resolved.", incident=incident.public_id))
    access.permit(rules, cmd.Reopen, incident, actor)
    await move(tx, incident, actor, Status.RESPONDING)
    incident.resolved_at = None
    await tx.unit.update_incident(incident)
    await tx.record(number, EventKind.REOPENED, actor)
    await tx.notify(number, NoticeKind.REOPEN_SPACE)
    await tx.say(number, _("{person} reopened {incident}.", person=Who(actor),
                           incident=incident.public_id))
    await tx.notify(number, NoticeKind.SUMMARY)
    return incident


async def set_language(tx: Tx, rules: Rules, number: int, actor: PersonId,
                       language: str | None) -> Incident:
    """The incident's own language (None: the team's default) for everything said about it
    from now on: messages, the summary, cards and the report."""
    incident = await tx.incident(number)
    access.permit(rules, cmd.SetLanguage, incident, actor)
    if incident.language == language:
        raise Invalid(_("{incident} already speaks {language}.",
                        incident=incident.public_id, language=language_name(language)))
    old, incident.language = incident.language, language
    await tx.unit.update_incident(incident)
    await tx.record(number, EventKind.LANGUAGE_CHANGED, actor, **{"from": old,
                                                                   "to": language})
    await tx.say(number, _("{person} switched {incident} to {language}.",
                           person=Who(actor), incident=incident.public_id,
                           language=language_name(language)))
    await tx.notify(number, NoticeKind.SUMMARY)
    return incident
