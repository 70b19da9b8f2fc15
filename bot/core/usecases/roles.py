"""Roles in an incident: given, handed over (command has one holder) and taken back."""

from __future__ import annotations

from bot.core import access
from bot.core import commands as cmd
from bot.core.errors import Forbidden, Invalid
from bot.core.models import DraftState, EventKind, Incident, NoticeKind, PersonId, role_name
from bot.core.rules import COMMANDER, Rules, check_open
from bot.core.text import Who, _
from bot.core.tx import Tx


async def assign(tx: Tx, rules: Rules, number: int, actor: PersonId, person: PersonId,
                 role: str, *, remove: bool = False) -> Incident:
    incident = await tx.incident(number)
    check_open(incident)
    access.permit(rules, cmd.AssignRole, incident, actor)
    name = rules.check_role(role)
    holders = incident.roles.setdefault(name, [])
    if remove:
        if person not in holders:
            raise Invalid(_("{person} is not {role} in {incident}.", person=Who(person),
                            role=role_name(name), incident=incident.public_id))
        if name == COMMANDER:
            raise Invalid(_("{incident} keeps a commander: hand over command with "
                            "“/crisis role <@person> commander”.",
                            incident=incident.public_id))
        holders.remove(person)
        if not holders:
            del incident.roles[name]
        await tx.record(number, EventKind.ROLE_REMOVED, actor, person=person, role=name)
        await tx.say(number, _("{person} is no longer {role}.", person=Who(person),
                               role=role_name(name)))
        for draft in await tx.unit.drafts(number):  # their approvals may no longer count
            if draft.state is DraftState.PENDING and any(
                    d.person == person for d in draft.decisions_on(draft.version)):
                await tx.notify(number, NoticeKind.DRAFT, draft=draft.number,
                                version=draft.version)
    else:
        if person in holders:
            raise Invalid(_("{person} is already {role} in {incident}.",
                            person=Who(person), role=role_name(name),
                            incident=incident.public_id))
        if person == actor and (name == COMMANDER or name in rules.deciding_roles()):
            raise Forbidden(_("Nobody gives themselves the role {role}: who commands, approves "
                              "or vetoes is chosen by someone else.", role=role_name(name)))
        if name == COMMANDER:
            holders.clear()
        holders.append(person)
        await tx.record(number, EventKind.ROLE_ASSIGNED, actor, person=person, role=name)
        await tx.say(number, _("{person} is now {role}.", person=Who(person),
                               role=role_name(name)))
        await tx.notify(number, NoticeKind.INVITE, person=person)
    await tx.unit.update_incident(incident)
    await tx.notify(number, NoticeKind.SUMMARY)
    return incident
