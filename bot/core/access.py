"""Who may do what, and from which chat: one table for every adapter (Slack, Telegram, the local
chat, the command line, the web console), applied by the use cases themselves.

Two questions, asked in this order:

1. *From which chat?* An adapter tells the core where a request came from (`Origin`): the
   team's own chat, a private chat with someone the bot knows as a team member, or any other
   chat. Outsiders get one line saying why and what to do, and nothing about any incident.
2. *Who?* Each command needs something of the person in the incident it addresses (`Need`):
   nothing more than being in the team (open, read, acknowledge), a role in it (change it), a
   role that hands out roles (`Rules.assign_roles`, the commander by default), a role the
   approval policy names (`Rules.approve`/`Rules.reject`), or, to revise a draft, being its
   author, a spokesperson or the commander.

Each command's `Need` is in its entry of `bot.core.command_registry`; the README's "Who may do
what" table is checked against them (tests/unit/test_access_matrix.py).
"""

from __future__ import annotations

from enum import StrEnum

from bot.core import commands as cmd
from bot.core.errors import Forbidden
from bot.core.models import Draft, Incident, PersonId
from bot.core.rules import Rules, check_current, check_open
from bot.core.text import Joined, Text, Who, _


class Origin(StrEnum):
    """Where a request comes from, as the adapter knows it."""

    TEAM = "team"
    """The team's chat (an incident's channel or topic in it), the team's Slack workspace, the
    local chat, the command line, a signed-in console session."""
    MEMBER = "member"
    """A private chat with the bot, from someone it knows as a team member (seen in the team
    chat, or bound in `[[people]]`)."""
    OUTSIDER = "outsider"
    """Anything else: another group, a stranger's private chat, another Slack workspace."""


class Chat(StrEnum):
    """The kind of chat a platform says a request was written in."""

    TEAM = "team"
    PRIVATE = "private"
    OTHER = "other"


class Need(StrEnum):
    """What a command asks of the person, in the incident it addresses."""

    TEAM = "team"
    """Only to be in the team: open an incident or a drill, acknowledge, read, help."""
    ROLE = "role"
    """A role in the incident: every change to it."""
    ASSIGN = "assign"
    """A role that hands out roles (`[access] assign_roles`; the commander by default)."""
    DECIDE = "decide"
    """A role the approval policy names (approve) or a veto role (reject): `Rules.approve`,
    `Rules.reject`."""
    REVISE = "revise"
    """A role, and being the draft's author, a spokesperson or the commander."""
    PUBLISH = "publish"
    """Being a spokesperson or the commander: who speaks for the team in public."""


OUTSIDER = _("crisisbot takes commands only in its team's chat, and in private chats from "
             "people it knows from there. Ask your team to add you to the team chat and "
             "write there.")


def origin(chat: Chat, *, known: bool) -> Origin:
    """The team chat is the team; a private chat counts when its person is `known` as a team
    member; every other chat is outside."""
    if chat is Chat.TEAM:
        return Origin.TEAM
    if chat is Chat.PRIVATE and known:
        return Origin.MEMBER
    return Origin.OUTSIDER


def admit(where: Origin) -> None:
    """Refuse an outsider before anything is read or changed."""
    if where is Origin.OUTSIDER:
        raise Forbidden(OUTSIDER)


def need(action: type[cmd.Action]) -> Need:
    """What `action` needs, from its registry entry (which has one for every command)."""
    from bot.core.command_registry import REGISTRY  # the registry is built on this module

    return REGISTRY[action].need


def permit(rules: Rules, action: type[cmd.Action], incident: Incident, person: PersonId,
           draft: Draft | None = None) -> None:
    """Refuse `person` doing `action` in `incident` (to `draft`, for a revision) unless the
    table allows it, saying why and whom to ask."""
    required = need(action)
    if required is Need.TEAM or required is Need.DECIDE:  # the approval policy decides
        return
    if required is Need.PUBLISH:
        if not _speaks(incident, person):
            raise Forbidden(_("Only a spokesperson or the commander publishes statements of "
                              "{incident}.", incident=incident.public_id))
        return
    if required is Need.ASSIGN:
        if not incident.roles_of(person) & rules.assign_roles:
            raise Forbidden(_assign_refusal(rules, incident))
        return
    if not incident.roles_of(person):
        raise Forbidden(_role_refusal(rules, incident))
    if required is Need.REVISE and draft is not None and not _may_revise(incident, draft,
                                                                         person):
        raise Forbidden(_("Only the author, a spokesperson or the commander can revise "
                          "draft #{number}.", number=draft.number))


def check_card(rules: Rules, incident: Incident, draft: Draft, person: PersonId, version: int,
               action: type[cmd.Approve | cmd.Reject | cmd.ReviseDraft]) -> None:
    """Refuse now, in the words the use case would use, what pressing a card's button would
    refuse, so a platform never asks for a reason (or new text) in vain."""
    check_open(incident)
    check_current(draft, version)
    permit(rules, action, incident, person, draft)
    if action is cmd.Reject:
        rules.reject(incident, draft, person)


def _may_revise(incident: Incident, draft: Draft, person: PersonId) -> bool:
    return person == draft.author or _speaks(incident, person)


def _speaks(incident: Incident, person: PersonId) -> bool:
    """The commander or a spokesperson: may revise any draft and publish statements."""
    return person == incident.commander or person in incident.holders("spokesperson")


def _role_refusal(rules: Rules, incident: Incident) -> Text:
    people = rules.assigners(incident)
    if people:
        return _("Changing {incident} needs a role in it; ask {people} for one.",
                 incident=incident.public_id, people=Joined(Who(p) for p in people))
    return _("Changing {incident} needs a role in it, and it has no commander yet: "
             "“/crisis ack {incident}” makes you its commander.", incident=incident.public_id)


def _assign_refusal(rules: Rules, incident: Incident) -> Text:
    roles = " / ".join(sorted(rules.assign_roles))
    people = rules.assigners(incident)
    if people:
        return _("Only the {roles} gives and takes back roles in {incident}; ask {people}.",
                 roles=roles, incident=incident.public_id,
                 people=Joined(Who(p) for p in people))
    return _("Only the {roles} gives and takes back roles in {incident}, and it has no "
             "commander yet: “/crisis ack {incident}” makes you its commander.",
             roles=roles, incident=incident.public_id)

