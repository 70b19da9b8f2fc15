"""The use cases: every change to an incident, its timeline event and its chat notices commit
together in one unit of work. Platforms call `execute` with parsed commands or the methods
directly; what the chat must show is queued as `Notice`s and delivered after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from bot.core import access, command_registry
from bot.core import commands as cmd
from bot.core.alert_intake import AlertIntake
from bot.core.drills import Drills
from bot.core.errors import Invalid, NotFound
from bot.core.insights import Insights, reports_since
from bot.core.models import (
    STATUS_LABELS,
    SYSTEM,
    Alert,
    Answer,
    CrisisKind,
    Decision,
    Draft,
    DraftState,
    DraftVersion,
    EventKind,
    Incident,
    KnownPerson,
    NoticeKind,
    PersonId,
    Severity,
    Status,
    TimelineEvent,
    role_name,
)
from bot.core.pace import Action, Schedule, due_actions, watched
from bot.core.playbook_cases import PlaybookCases
from bot.core.playbooks import (
    Playbook,
    StatementTemplates,
)
from bot.core.ports import Clock, SignIn
from bot.core.publishing import Publishing, was_published
from bot.core.report import Report
from bot.core.rules import (
    COMMANDER,
    Rules,
    check_current,
    check_open,
    check_transition,
)
from bot.core.stats import Stats, collect_stats
from bot.core.store import Store, Unit
from bot.core.text import N_, Joined, Text, Who, _
from bot.core.tx import Tx
from bot.core.usecase import Context, Reply, canonical_people
from bot.core.usecases import chat_events, console, people, questions
from bot.core.views import NOT_A_DRAFT

FORGOTTEN_AFTER = timedelta(days=2)
"""How long a chat event id is remembered (so a re-delivered event is handled once), and an
unanswered question waits for its reply. Slack retries an event for about an hour and
Telegram keeps an update for a day: an id older than this will not come again, and the tables
would otherwise grow with every event."""

R = TypeVar("R")


@dataclass
class _Later:
    """What waits for the commit of a `Service.together` block."""

    calls: list[Callable[[], None]] = field(default_factory=list)
    closed: bool = False


_AFTER_COMMIT: ContextVar[_Later | None] = ContextVar("crisisbot_after_commit", default=None)


class Service(AlertIntake, PlaybookCases, Drills, Publishing):
    """Incidents, roles, drafts and approvals, pace and commands; alert intake, playbooks,
    drills and publishing come from their mixins."""

    def __init__(self, store: Store, clock: Clock, rules: Rules | None = None, *,
                 platform: str = "local", after_commit: Callable[[], None] | None = None,
                 schedule: Schedule | None = None,
                 playbooks: Mapping[CrisisKind, Playbook] | None = None,
                 templates: StatementTemplates | None = None, language: str = "en",
                 publish_to: Sequence[str] = (), sign_in: SignIn | None = None,
                 sign_in_ttl: timedelta = timedelta(minutes=10)) -> None:
        self.store = store
        self.clock = clock
        self.rules = rules or Rules()
        self.platform = platform
        self._after_commit = after_commit
        self.schedule = schedule or Schedule()
        self.playbooks = dict(playbooks or {})
        self.templates = templates
        self.language = language
        self.publish_to = tuple(publish_to)
        self.sign_in = sign_in
        self.sign_in_ttl = sign_in_ttl

    # -- plumbing ---------------------------------------------------------------------------

    async def _run(self, work: Callable[[Tx], Awaitable[R]]) -> R:
        async with self.store.unit() as unit:
            tx = Tx(unit, self.clock.now())
            result = await work(tx)
        if tx.queued and self._after_commit is not None:
            self.after_commit(self._after_commit)
        return result

    @asynccontextmanager
    async def together(self) -> AsyncIterator[Unit]:
        """One unit of work for the whole block: the units opened inside it (by the service
        or the caller, on this task) join it, so all commits at once. An adapter records an
        event's id with everything handling it writes, answers included: one wait for the
        disk, and a crash keeps both or neither. What follows a commit (`after_commit`) waits
        for this one's."""
        later = _Later()
        token = _AFTER_COMMIT.set(later)
        try:
            async with self.store.unit() as unit:
                yield unit
        finally:
            _AFTER_COMMIT.reset(token)
            later.closed = True
        for call in dict.fromkeys(later.calls):  # one outbox wake for the block
            call()

    def after_commit(self, call: Callable[[], None]) -> None:
        """Run `call` once what was written so far is committed: now, or when the enclosing
        `together` block has committed."""
        later = _AFTER_COMMIT.get()
        if later is None or later.closed:  # (a task started in a block may outlive it)
            call()
        else:
            later.calls.append(call)

    async def answer(self, answer: Answer, *, incident: int | None = None,
                     draft: int | None = None, version: int | None = None,
                     asked: PersonId | None = None) -> None:
        """Queue an answer for someone who is waiting (a question names the draft and whom
        it asks, as the platform knows them: their reply is matched with that); the outbox
        sends it ahead of routine notices, so the request that brought the command returns
        at once."""

        async def queue(tx: Tx) -> None:
            await tx.notify(incident, NoticeKind.ANSWER, answer=answer, draft=draft,
                            version=version, person=asked)

        await self._run(queue)

    # -- incidents --------------------------------------------------------------------------

    @canonical_people
    async def declare(self, actor: PersonId, title: str, *, severity: Severity | None = None,
                      kind: CrisisKind | None = None, platform: str | None = None,
                      group_key: str | None = None, invite: Sequence[PersonId] = (),
                      drill: bool = False) -> Incident:
        async def work(tx: Tx) -> Incident:
            return await self._declare(tx, actor, title, severity=severity, kind=kind,
                                       platform=platform, group_key=group_key, invite=invite,
                                       drill=drill)

        return await self._run(work)

    async def _declare(self, tx: Tx, actor: PersonId, title: str, *,
                       severity: Severity | None, kind: CrisisKind | None,
                       platform: str | None, group_key: str | None,
                       invite: Sequence[PersonId], drill: bool,
                       playbook: str | None = None,
                       publish_to: tuple[str, ...] | None = None) -> Incident:
        title = title.strip()
        if not title:
            raise Invalid(_("Give the incident a title."))
        incident = Incident(
            number=await tx.unit.next_incident_number(),
            title=title[:200],
            kind=kind or CrisisKind.OTHER,
            severity=severity or self.rules.default_severity,
            status=Status.TRIGGERED,
            created_at=tx.now,
            created_by=actor,
            platform=platform or self.platform,
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
        await self._open_checklist(tx, incident)
        return incident

    @canonical_people
    async def acknowledge(self, number: int, actor: PersonId) -> Incident:
        async def work(tx: Tx) -> Incident:
            incident = await tx.incident(number)
            check_open(incident)
            if incident.status is not Status.TRIGGERED:
                raise Invalid(_("{incident} is already acknowledged.",
                                incident=incident.public_id))
            incident.status = Status.ACKNOWLEDGED
            incident.acknowledged_at = tx.now
            await tx.record(number, EventKind.ACKNOWLEDGED, actor)
            if incident.commander is None:
                incident.roles[COMMANDER] = [actor]
                await tx.record(number, EventKind.ROLE_ASSIGNED, actor, person=actor,
                                role=COMMANDER)
            await tx.unit.update_incident(incident)
            await tx.say(number, _("{person} acknowledged {incident}; commander: {commander}.",
                                   person=Who(actor), incident=incident.public_id,
                                   commander=Who(incident.commander or actor)))
            await tx.notify(number, NoticeKind.SUMMARY)
            return incident

        return await self._run(work)

    @canonical_people
    async def set_severity(self, number: int, actor: PersonId, severity: Severity) -> Incident:
        async def work(tx: Tx) -> Incident:
            incident = await tx.incident(number)
            check_open(incident)
            access.permit(self.rules, cmd.SetSeverity, incident, actor)
            if incident.severity is severity:
                raise Invalid(_("{incident} is already {severity}.",
                                incident=incident.public_id, severity=severity.value))
            old, incident.severity = incident.severity, severity
            await tx.unit.update_incident(incident)
            await tx.record(number, EventKind.SEVERITY_CHANGED, actor, **{
                "from": old.value, "to": severity.value})
            await tx.say(number, _("{person} changed severity {old} → {new}.", person=Who(actor),
                                   old=old.value, new=severity.value))
            await tx.notify(number, NoticeKind.SUMMARY)
            return incident

        return await self._run(work)

    @canonical_people
    async def status_update(self, number: int, actor: PersonId, text: str,
                            status: Status | None = None) -> Incident:
        """Post a status update, optionally moving to `responding` / `monitoring`."""

        async def work(tx: Tx) -> Incident:
            incident = await tx.incident(number)
            check_open(incident)
            access.permit(self.rules, cmd.StatusUpdate, incident, actor)
            if status is not None and status is not incident.status:
                await self._move(tx, incident, actor, status)
            if text:
                await tx.record(number, EventKind.STATUS_UPDATE, actor, text=text,
                                status=incident.status.value)
                await tx.say(number, _("Update from {person} ({status}): {text}",
                                       person=Who(actor), status=STATUS_LABELS[incident.status],
                                       text=text))
            await tx.unit.update_incident(incident)
            await tx.notify(number, NoticeKind.SUMMARY)
            return incident

        return await self._run(work)

    async def _move(self, tx: Tx, incident: Incident, actor: PersonId, status: Status) -> None:
        check_transition(incident.status, status)
        old, incident.status = incident.status, status
        if incident.acknowledged_at is None and status is not Status.TRIGGERED:
            incident.acknowledged_at = tx.now
        # resolved_at is set exactly while resolved, whichever use case made the move
        incident.resolved_at = tx.now if status is Status.RESOLVED else None
        await tx.record(incident.number, EventKind.STATUS_CHANGED, actor,
                        **{"from": old.value, "to": status.value})

    @canonical_people
    async def assign(self, number: int, actor: PersonId, person: PersonId, role: str,
                     *, remove: bool = False) -> Incident:
        async def work(tx: Tx) -> Incident:
            incident = await tx.incident(number)
            check_open(incident)
            access.permit(self.rules, cmd.AssignRole, incident, actor)
            name = self.rules.check_role(role)
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
            else:
                if person in holders:
                    raise Invalid(_("{person} is already {role} in {incident}.",
                                    person=Who(person), role=role_name(name),
                                    incident=incident.public_id))
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

        return await self._run(work)

    @canonical_people
    async def note(self, number: int, actor: PersonId, text: str, *,
                   pinned: bool = False, author: PersonId | None = None,
                   link: str | None = None) -> None:
        """Record a note (or a message the team pinned: its author and a link to it, when the
        platform has them) in the timeline."""

        async def work(tx: Tx) -> None:
            incident = await tx.incident(number)
            access.permit(self.rules, cmd.Note, incident, actor)
            if not text.strip():
                raise Invalid(_("A note needs some text."))
            kind = EventKind.MESSAGE_PINNED if pinned else EventKind.NOTE
            extra = {k: v for k, v in (("author", author), ("link", link)) if v}
            await tx.record(number, kind, actor, text=text, **extra)

        await self._run(work)

    @canonical_people
    async def resolve(self, number: int, actor: PersonId, summary: str = "") -> Incident:
        async def work(tx: Tx) -> Incident:
            incident = await tx.incident(number)
            check_open(incident)
            access.permit(self.rules, cmd.Resolve, incident, actor)
            await self._move(tx, incident, actor, Status.RESOLVED)
            incident.resolved_at = tx.now
            await tx.unit.update_incident(incident)
            await tx.record(number, EventKind.RESOLVED, actor, summary=summary)
            await tx.say(number, _("{person} resolved {incident}.{summary}", person=Who(actor),
                                   incident=incident.public_id,
                                   summary=f" {summary}" if summary else ""))
            await tx.notify(number, NoticeKind.SUMMARY)
            await tx.notify(number, NoticeKind.CLOSE_SPACE)
            return incident

        return await self._run(work)

    @canonical_people
    async def reopen(self, number: int, actor: PersonId) -> Incident:
        async def work(tx: Tx) -> Incident:
            incident = await tx.incident(number)
            if incident.is_open:
                raise Invalid(_("{incident} is not resolved.", incident=incident.public_id))
            access.permit(self.rules, cmd.Reopen, incident, actor)
            await self._move(tx, incident, actor, Status.RESPONDING)
            incident.resolved_at = None
            await tx.unit.update_incident(incident)
            await tx.record(number, EventKind.REOPENED, actor)
            await tx.notify(number, NoticeKind.REOPEN_SPACE)
            await tx.say(number, _("{person} reopened {incident}.", person=Who(actor),
                                   incident=incident.public_id))
            await tx.notify(number, NoticeKind.SUMMARY)
            return incident

        return await self._run(work)

    # -- drafts -----------------------------------------------------------------------------

    @canonical_people
    async def post_draft(self, number: int, actor: PersonId, text: str,
                         target: str | None = None) -> Draft:
        async def work(tx: Tx) -> Draft:
            incident = await tx.incident(number)
            check_open(incident)
            access.permit(self.rules, cmd.PostDraft, incident, actor)
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

        return await self._run(work)

    @canonical_people
    async def revise(self, number: int, draft_number: int, actor: PersonId, text: str) -> Draft:
        """A new version; the old version's approvals no longer count."""

        async def work(tx: Tx) -> Draft:
            incident = await tx.incident(number)
            check_open(incident)
            draft = await tx.draft(incident, draft_number)
            access.permit(self.rules, cmd.ReviseDraft, incident, actor, draft)
            if not text.strip():
                raise Invalid(_("A draft needs some text."))
            if draft.state is DraftState.APPROVED and not was_published(
                    draft, await tx.unit.publications(number)):  # a correction is a revision
                raise Invalid(_("Draft #{number} is already approved; post a new draft instead.",
                                number=draft.number))
            version = DraftVersion(draft.version + 1, text.strip(), actor, tx.now)
            draft.versions.append(version)
            draft.state = DraftState.PENDING
            await tx.unit.update_draft(draft)
            await tx.record(number, EventKind.DRAFT_REVISED, actor, draft=draft.number,
                            version=version.number, text=version.text)
            await tx.notify(number, NoticeKind.DRAFT, draft=draft.number, version=version.number)
            await tx.notify(number, NoticeKind.SUMMARY)
            return draft

        return await self._run(work)

    @canonical_people
    async def decide(self, number: int, actor: PersonId, *, approve: bool,
                     draft_number: int | None = None, reason: str = "",
                     message: str | None = None, version: int | None = None) -> Draft:
        """Approve or reject a draft (by number, by the message it was posted as, or the latest
        pending one) under the incident's approval policy. A button names the `version` it was
        shown for, so a press on an outdated card is refused."""

        async def work(tx: Tx) -> Draft:
            incident = await tx.incident(number)
            check_open(incident)
            draft = await self._find_draft(tx, incident, draft_number, message)
            if version is not None:
                check_current(draft, version)
            access.permit(self.rules, cmd.Approve if approve else cmd.Reject, incident, actor)
            if approve:
                step, role = self.rules.approve(incident, draft, actor)
            else:
                if not reason.strip():
                    raise Invalid(_("Say why the draft is rejected."))
                step, role = None, self.rules.reject(incident, draft, actor)
            decision = Decision(draft.version, actor, approve, tx.now, step, role,
                                reason.strip() or None)
            draft.decisions.append(decision)
            draft.state = self.rules.state_after(incident, draft, decision)
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
                approvers = [d.person for d in draft.decisions_on(draft.version) if d.approve]
                await tx.record(number, EventKind.DRAFT_APPROVED, None, approvers=approvers,
                                **data)
                await tx.say(number, _("Draft #{number} is approved and ready to publish. "
                                       "Approved by {people}.", number=draft.number,
                                       people=Joined(tuple(Who(p) for p in approvers))),
                             draft=draft.number, version=draft.version, thread_of_draft=True)
            await tx.notify(number, NoticeKind.DRAFT, draft=draft.number, version=draft.version)
            if draft.state is not DraftState.PENDING:
                await tx.notify(number, NoticeKind.SUMMARY)
            return draft

        return await self._run(work)

    @staticmethod
    async def _find_draft(tx: Tx, incident: Incident, number: int | None,
                          message: str | None) -> Draft:
        if message is None:
            return await tx.draft(incident, number)
        for draft in await tx.unit.drafts(incident.number):
            version = draft.version_by_message(message)
            if version is None:
                continue
            check_current(draft, version.number)
            return draft
        raise NotFound(NOT_A_DRAFT)

    async def incident_of_message(self, platform: str, message: str) -> Incident | None:
        """The open incident on `platform` that posted `message` as a draft card: a reaction
        names only the message."""

        async def work(tx: Tx) -> Incident | None:
            for incident in await tx.unit.incidents(open_only=True):
                if incident.platform != platform:
                    continue
                drafts = await tx.unit.drafts(incident.number)
                if any(d.version_by_message(message) for d in drafts):
                    return incident
            return None

        return await self._run(work)

    # -- access -----------------------------------------------------------------------------

    def origin(self, chat: access.Chat, person: PersonId, *, seen: bool) -> access.Origin:
        """Where a request comes from: `seen` is whether the platform saw `person` in the team
        chat; being bound in `[[people]]` counts too (bound ids are the team's own list)."""
        return access.origin(chat, known=seen or self.rules.bound(person))

    @staticmethod
    def admit(origin: access.Origin) -> None:
        """Refuse an outsider (buttons, reactions and replies come through here, commands
        through `execute`)."""
        access.admit(origin)

    @canonical_people
    async def check_card(self, number: int, actor: PersonId, draft_number: int, version: int,
                         action: type[cmd.Approve | cmd.Reject | cmd.ReviseDraft],
                         ) -> tuple[Incident, Draft]:
        """What pressing a card's button would refuse, refused now (see `access.check_card`);
        return the incident and the draft."""

        async def work(tx: Tx) -> tuple[Incident, Draft]:
            incident = await tx.incident(number)
            draft = await tx.draft(incident, draft_number)
            access.check_card(self.rules, incident, draft, actor, version, action)
            return incident, draft

        return await self._run(work)

    # -- reading ----------------------------------------------------------------------------

    async def incident_for(self, ctx: Context, number: int | None) -> Incident:
        """The incident a command addresses: named (`INC-7`) or the one owning the space."""

        async def work(tx: Tx) -> Incident:
            if number is not None:
                return await tx.incident(number)
            if ctx.space is not None:
                found = await tx.unit.incident_by_space(ctx.space.platform, ctx.space.channel)
                if found is not None:
                    return found
            raise Invalid(_("Which incident? Run the command in its channel or name it, "
                            "e.g. “/crisis ack INC-1”."))

        return await self._run(work)

    async def load(self, number: int) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                                list[Alert]]:
        """Everything known about one incident (for reports and summaries)."""

        async def work(tx: Tx) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                          list[Alert]]:
            incident = await tx.incident(number)
            return (incident, await tx.unit.drafts(number), await tx.unit.timeline(number),
                    await tx.unit.alerts(number))

        return await self._run(work)

    # -- keeping pace -----------------------------------------------------------------------

    async def tick(self) -> int:
        """Perform every escalation and reminder that is due (see `core/pace.py`); return how
        many. Safe to call at any rate and after any downtime: what was done is in the timeline.
        """
        now = self.clock.now()
        async with self.store.unit() as unit:
            numbers = [i.number for i in await unit.incidents()
                       if watched(i, self.schedule, now)]
        performed = 0
        for number in numbers:
            performed += await self._run(partial(self._keep_pace, number=number))
        performed += await self.feed_drills()
        async with self.store.unit() as unit:
            await unit.forget(now - FORGOTTEN_AFTER)
        return performed

    async def _keep_pace(self, tx: Tx, number: int) -> int:
        """Re-read the incident inside the transaction, so an ack that just landed wins."""
        incident = await tx.incident(number)
        series = (await tx.unit.mentions(incident.group_key, tx.now - 2 * self.schedule.pulse_every)
                  if incident.group_key and self.schedule.pulse_every else [])
        actions = due_actions(incident, await tx.unit.drafts(number),
                              await tx.unit.timeline(number), self.schedule, self.rules, tx.now,
                              series)
        for action in actions:
            await self._perform(tx, action)
        return len(actions)

    @staticmethod
    async def _perform(tx: Tx, action: Action) -> None:
        """The timeline event that marks the action done, and its notices, in one transaction."""
        await tx.record(action.incident, action.event, SYSTEM, **action.data)
        await tx.say(action.incident, action.message, draft=action.draft,
                     version=action.version, thread_of_draft=action.draft is not None)
        if action.dm is not None:
            for person in action.direct:
                await tx.notify(action.incident, NoticeKind.DIRECT, person=person, text=action.dm)
        if action.notice is not None:
            await tx.notify(action.incident, action.notice)

    # -- commands ---------------------------------------------------------------------------

    async def execute(self, command: cmd.Command, ctx: Context) -> Reply:
        """Run a parsed `/crisis` command (see `bot.core.command_registry`)."""
        return await command_registry.execute(self, command, ctx)

    @canonical_people
    async def web_link(self, actor: PersonId) -> Text:
        """A one-time link signing `actor` (under their one bound id, so their roles apply) in
        to the web console, in the words that tell them how long it lasts."""
        if self.sign_in is None:
            raise Invalid(_("This crisisbot has no web console."))
        link = await self.sign_in.issue(actor, self.sign_in_ttl)
        minutes = max(1, int(self.sign_in_ttl.total_seconds() // 60))
        return N_("Your sign-in link to the web console, for you alone, once, within {n} "
                  "minute: {link}",
                  "Your sign-in link to the web console, for you alone, once, within {n} "
                  "minutes: {link}", minutes, link=link)

    # -- reports across the incident and across incidents ------------------------------------

    async def report(self, number: int) -> Report:
        async def work(tx: Tx) -> Report:
            incident = await tx.incident(number)
            return Report(incident, await tx.unit.drafts(number), await tx.unit.timeline(number),
                          await tx.unit.alerts(number), await tx.unit.tasks(number))

        return await self._run(work)

    async def stats(self, since: datetime, *, include_drills: bool = False) -> Stats:
        """Incidents opened since `since` (drills only when asked), with their metrics."""

        async def work(tx: Tx) -> Stats:
            reports = [r for r in await reports_since(tx.unit, since)
                       if include_drills or not r.incident.drill]
            return collect_stats(reports, since, tx.now, include_drills=include_drills)

        return await self._run(work)

    # -- what adapters need besides commands (platform events, people, questions, console)

    def now(self) -> datetime:
        """The service's clock, for what an adapter shows ("3 minutes ago") or stamps."""
        return self.clock.now()

    async def first_sight(self, key: str,
                          job: tuple[str, str, dict[str, Any]] | None = None) -> bool:
        """Claim a platform event's id (see `usecases.chat_events`); inside `together`, in
        the same commit as everything handling the event writes."""
        async with self.store.unit() as unit:
            return await chat_events.first_sight(Tx(unit, self.clock.now()), key, job)

    async def remember_people(self, seen: Sequence[KnownPerson]) -> None:
        async with self.store.unit() as unit:
            await people.remember(Tx(unit, self.clock.now()), seen)

    async def person_by_username(self, platform: str, username: str) -> PersonId | None:
        async with self.store.unit() as unit:
            return await people.by_username(Tx(unit, self.clock.now()), platform, username)

    async def known_people(self, platform: str) -> list[KnownPerson]:
        async with self.store.unit() as unit:
            return await people.known(Tx(unit, self.clock.now()), platform)

    @canonical_people
    async def answer_question(self, platform: str, chat: str, message: str, actor: PersonId,
                              text: str) -> bool:
        """`actor`'s reply `text` to the question `message` asked them: the reason that
        rejects the draft, or its new text. The decision and the question's being answered
        commit together (the decision's unit joins this one); False when `message` asked
        `actor` nothing. A refusal is raised and the question still waits. Call it inside
        `together` (Telegram handles each update in one), so the outbox wakes after that
        commit."""
        async with self.store.unit() as unit:
            tx = Tx(unit, self.clock.now())
            question = await questions.waiting(tx, self.rules, platform, chat, message, actor)
            if question is None:
                return False
            if question.kind == "reject":
                await self.decide(question.incident, actor, approve=False,
                                  draft_number=question.draft, version=question.version,
                                  reason=text)
            else:
                await self.revise(question.incident, question.draft, actor, text)
            await questions.answered(tx, question)
        return True

    async def weekly_insights(self, weeks: int) -> Insights:
        async with self.store.unit() as unit:
            return await console.weekly_insights(Tx(unit, self.clock.now()), weeks)
