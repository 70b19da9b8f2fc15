"""The one entry point adapters call: every use case (`bot.core.usecases`) runs in one unit of
work, so a change to an incident, its timeline event and its chat notices commit together.
Platforms call `execute` with parsed commands or the methods directly; what the chat must show
is queued as `Notice`s and delivered after commit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.core import access, command_registry
from bot.core import commands as cmd
from bot.core.context import Context, Reply, canonical_people
from bot.core.insights import Insights
from bot.core.models import (
    Alert,
    AlertOutcome,
    Answer,
    CrisisKind,
    Draft,
    Incident,
    KnownPerson,
    NoticeKind,
    PersonId,
    RawAlerts,
    Severity,
    Status,
    TimelineEvent,
)
from bot.core.pace import Schedule
from bot.core.playbooks import Playbook, StatementTemplates, Task
from bot.core.ports import Clock, SignIn
from bot.core.publication import Publication
from bot.core.report import Report
from bot.core.rules import Rules
from bot.core.stats import Stats
from bot.core.status_board import Board
from bot.core.store import Store, Unit
from bot.core.text import Text
from bot.core.tx import Tx
from bot.core.usecases import alerts as intake
from bot.core.usecases import (
    chat_events,
    console,
    drafts,
    drills,
    incidents,
    pace,
    people,
    playbooks,
    publishing,
    questions,
    reports,
    roles,
    signin,
)
from bot.core.usecases.alerts import DigestHints
from bot.core.usecases.env import Env

R = TypeVar("R")


@dataclass
class _Later:
    """What waits for the commit of a `Service.together` block."""

    calls: list[Callable[[], None]] = field(default_factory=list)
    closed: bool = False


_AFTER_COMMIT: ContextVar[_Later | None] = ContextVar("crisisbot_after_commit", default=None)


class Service:
    """Incidents, roles, drafts and approvals, alerts, playbooks, drills, publishing, pace and
    commands: each method runs its use case in one unit of work, with every person under
    their one bound id."""

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
        self._digest_hints = DigestHints()

    # -- plumbing ---------------------------------------------------------------------------

    def _env(self) -> Env:
        """The configuration as it is at this call (its attributes may be set after it is built)."""
        return Env(rules=self.rules, platform=self.platform, schedule=self.schedule,
                   playbooks=self.playbooks, templates=self.templates, language=self.language,
                   publish_to=self.publish_to)

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
        env = self._env()
        return await self._run(lambda tx: incidents.declare(
            tx, env, actor, title, severity=severity, kind=kind, platform=platform,
            group_key=group_key, invite=invite, drill=drill))

    @canonical_people
    async def acknowledge(self, number: int, actor: PersonId) -> Incident:
        return await self._run(lambda tx: incidents.acknowledge(tx, number, actor))

    @canonical_people
    async def set_severity(self, number: int, actor: PersonId, severity: Severity) -> Incident:
        return await self._run(lambda tx: incidents.set_severity(tx, self.rules, number, actor,
                                                                 severity))

    @canonical_people
    async def status_update(self, number: int, actor: PersonId, text: str,
                            status: Status | None = None) -> Incident:
        """Post a status update, optionally moving to `responding` / `monitoring`."""
        return await self._run(lambda tx: incidents.status_update(tx, self.rules, number, actor,
                                                                  text, status))

    @canonical_people
    async def assign(self, number: int, actor: PersonId, person: PersonId, role: str,
                     *, remove: bool = False) -> Incident:
        return await self._run(lambda tx: roles.assign(tx, self.rules, number, actor, person,
                                                       role, remove=remove))

    @canonical_people
    async def note(self, number: int, actor: PersonId, text: str, *,
                   pinned: bool = False, author: PersonId | None = None,
                   link: str | None = None) -> None:
        await self._run(lambda tx: incidents.note(tx, self.rules, number, actor, text,
                                                  pinned=pinned, author=author, link=link))

    @canonical_people
    async def resolve(self, number: int, actor: PersonId, summary: str = "") -> Incident:
        return await self._run(lambda tx: incidents.resolve(tx, self.rules, number, actor,
                                                            summary))

    @canonical_people
    async def reopen(self, number: int, actor: PersonId) -> Incident:
        return await self._run(lambda tx: incidents.reopen(tx, self.rules, number, actor))

    @canonical_people
    async def set_language(self, number: int, actor: PersonId,
                           language: str | None) -> Incident:
        return await self._run(lambda tx: incidents.set_language(tx, self.rules, number, actor,
                                                                 language))

    # -- drafts -----------------------------------------------------------------------------

    @canonical_people
    async def post_draft(self, number: int, actor: PersonId, text: str,
                         target: str | None = None) -> Draft:
        return await self._run(lambda tx: drafts.post_draft(tx, self.rules, number, actor, text,
                                                            target))

    @canonical_people
    async def revise(self, number: int, draft_number: int, actor: PersonId, text: str,
                     version: int | None = None) -> Draft:
        return await self._run(lambda tx: drafts.revise(tx, self.rules, number, draft_number,
                                                        actor, text, version))

    @canonical_people
    async def decide(self, number: int, actor: PersonId, *, approve: bool,
                     draft_number: int | None = None, reason: str = "",
                     message: str | None = None, version: int | None = None) -> Draft:
        return await self._run(lambda tx: drafts.decide(
            tx, self.rules, number, actor, approve=approve, draft_number=draft_number,
            reason=reason, message=message, version=version))

    @canonical_people
    async def react(self, number: int, actor: PersonId, message: str,
                    added: Sequence[str]) -> Draft | None:
        """A reaction on a draft card (see `usecases.drafts.react`): the draft to ask `actor`
        the rejection reason for, or None."""
        return await self._run(lambda tx: drafts.react(tx, self.rules, number, actor,
                                                       message, added))

    async def incident_of_message(self, platform: str, message: str) -> Incident | None:
        return await self._run(lambda tx: drafts.incident_of_message(tx, platform, message))

    @canonical_people
    async def check_card(self, number: int, actor: PersonId, draft_number: int, version: int,
                         action: type[cmd.Approve | cmd.Reject | cmd.ReviseDraft],
                         ) -> tuple[Incident, Draft]:
        return await self._run(lambda tx: drafts.check_card(tx, self.rules, number, actor,
                                                            draft_number, version, action))

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

    # -- alerts -----------------------------------------------------------------------------

    async def handle_alert(self, alert: Alert) -> AlertOutcome:
        return (await self.handle_alerts([alert]))[0]

    async def handle_alerts(self, alerts: Sequence[Alert], *,
                            raw: Sequence[RawAlerts] = ()) -> list[AlertOutcome]:
        return await intake.handle_alerts(self._run, self._env(), self._digest_hints,
                                           alerts, raw)

    async def send_digests(self) -> int:
        env = self._env()
        return await self._run(lambda tx: intake.send_digests(tx, env, self._digest_hints))

    # -- playbooks --------------------------------------------------------------------------

    async def tasks(self, number: int) -> list[Task]:
        return await self._run(lambda tx: playbooks.tasks(tx, number))

    @canonical_people
    async def mark_task(self, number: int, actor: PersonId, task_number: int, *,
                        done: bool = True) -> Task:
        return await self._run(lambda tx: playbooks.mark_task(tx, self.rules, number, actor,
                                                              task_number, done=done))

    @canonical_people
    async def assign_task(self, number: int, actor: PersonId, task_number: int,
                          person: PersonId) -> Task:
        return await self._run(lambda tx: playbooks.assign_task(tx, self.rules, number, actor,
                                                                task_number, person))

    @canonical_people
    async def lesson(self, number: int, actor: PersonId, text: str) -> None:
        await self._run(lambda tx: playbooks.lesson(tx, self.rules, number, actor, text))

    @canonical_people
    async def draft_from_template(self, number: int, actor: PersonId, name: str,
                                  target: str | None = None) -> Draft:
        env = self._env()
        return await self._run(lambda tx: playbooks.draft_from_template(tx, env, number, actor,
                                                                        name, target))

    async def _show_templates(self, ctx: Context, number: int | None) -> Reply:
        env = self._env()
        return await self._run(lambda tx: playbooks.show_templates(tx, env, ctx, number))

    # -- drills -----------------------------------------------------------------------------

    @canonical_people
    async def start_drill(self, actor: PersonId, kind: CrisisKind, *,
                          platform: str | None = None) -> Incident:
        env = self._env()
        return await self._run(lambda tx: drills.start_drill(tx, env, actor, kind,
                                                             platform=platform))

    async def feed_drills(self) -> int:
        return await drills.feed_drills(self._run, self._env())

    # -- publishing -------------------------------------------------------------------------

    @canonical_people
    async def publish(self, number: int, actor: PersonId, draft_number: int | None = None, *,
                      to: Sequence[str] = (), title: str | None = None,
                      version: int | None = None) -> Publication:
        env = self._env()
        return await self._run(lambda tx: publishing.publish(
            tx, env, number, actor, draft_number, to=to, title=title, version=version))

    async def status_board(self, keep: timedelta = timedelta(days=7)) -> list[Board]:
        return await self._run(lambda tx: publishing.status_board(tx, keep))

    async def publications(self, incident: int | None = None) -> list[Publication]:
        return await self._run(lambda tx: publishing.publications(tx, incident))

    # -- reading ----------------------------------------------------------------------------

    async def incident_for(self, ctx: Context, number: int | None) -> Incident:
        return await self._run(lambda tx: reports.incident_for(tx, ctx, number))

    async def load(self, number: int) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                                list[Alert]]:
        return await self._run(lambda tx: reports.load(tx, number))

    async def report(self, number: int) -> Report:
        return await self._run(lambda tx: reports.report(tx, number))

    async def stats(self, since: datetime, *, include_drills: bool = False) -> Stats:
        return await self._run(lambda tx: reports.stats(tx, since,
                                                        include_drills=include_drills))

    # -- keeping pace -----------------------------------------------------------------------

    async def tick(self) -> int:
        """Perform every escalation and reminder that is due (see `core/pace.py`); return how
        many. Safe to call at any rate and after any downtime: what was done is in the timeline.
        """
        return await pace.tick(self._run, self._env(), self.clock.now())

    # -- commands ---------------------------------------------------------------------------

    async def execute(self, command: cmd.Command, ctx: Context) -> Reply:
        """Run a parsed `/crisis` command (see `bot.core.command_registry`)."""
        return await command_registry.execute(self, command, ctx)

    @canonical_people
    async def web_link(self, actor: PersonId) -> Text:
        """A one-time link signing `actor` (under their one bound id, so their roles apply) in
        to the web console."""
        return await signin.web_link(self.sign_in, self.sign_in_ttl, actor)

    # -- what adapters need besides commands (platform events, people, questions, console)

    def now(self) -> datetime:
        """The service's clock, for what an adapter shows ("3 minutes ago") or stamps."""
        return self.clock.now()

    async def first_sight(self, key: str,
                          job: tuple[str, str, dict[str, Any]] | None = None) -> bool:
        """Claim a platform event's id (see `usecases.chat_events`); inside `together`, in
        the same commit as everything handling the event writes."""
        return await self._run(lambda tx: chat_events.first_sight(tx, key, job))

    async def remember_people(self, seen: Sequence[KnownPerson]) -> None:
        await self._run(lambda tx: people.remember(tx, seen))

    async def person_by_username(self, platform: str, username: str) -> PersonId | None:
        return await self._run(lambda tx: people.by_username(tx, platform, username))

    async def known_people(self, platform: str) -> list[KnownPerson]:
        return await self._run(lambda tx: people.known(tx, platform))

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
        return await self._run(lambda tx: console.weekly_insights(tx, weeks))
