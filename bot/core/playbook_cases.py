"""Playbook use cases: the checklist an incident opens with (tasks done, reopened, handed
out), statement templates, the incident's language and its lessons. A mixin of `Service`,
which provides the unit of work, loading and drafting."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from bot.core import access
from bot.core import commands as cmd
from bot.core.errors import Invalid, NotFound
from bot.core.models import (
    Alert,
    CrisisKind,
    Draft,
    EventKind,
    Incident,
    NoticeKind,
    PersonId,
    TimelineEvent,
)
from bot.core.playbook_views import (
    NO_TEMPLATES,
    checklist_message,
    language_name,
    template_lines,
)
from bot.core.playbooks import Playbook, StatementTemplates, Task, TemplateError, checklist
from bot.core.ports import Clock
from bot.core.rules import Rules
from bot.core.text import Joined, Who, _
from bot.core.tx import Tx
from bot.core.usecase import Context, Reply, canonical_people

R = TypeVar("R")


class PlaybookCases:
    rules: Rules
    clock: Clock
    playbooks: dict[CrisisKind, Playbook]
    templates: StatementTemplates | None
    language: str

    if TYPE_CHECKING:  # provided by Service
        async def _run(self, work: Callable[[Tx], Awaitable[R]]) -> R: ...
        async def load(self, number: int) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                                   list[Alert]]: ...
        async def post_draft(self, number: int, actor: PersonId, text: str,
                             target: str | None = None) -> Draft: ...
        async def incident_for(self, ctx: Context, number: int | None) -> Incident: ...

    async def _open_checklist(self, tx: Tx, incident: Incident) -> None:
        """Store the playbook's checklist as the incident's tasks and post it in the channel."""
        playbook = self.playbooks.get(incident.kind)
        if playbook is None:
            return
        tasks = checklist(playbook, incident.number)
        for task in tasks:
            await tx.unit.add_task(task)
        await tx.say(incident.number, checklist_message(incident, playbook, tasks))

    async def tasks(self, number: int) -> list[Task]:
        async def work(tx: Tx) -> list[Task]:
            await tx.incident(number)
            return await tx.unit.tasks(number)

        return await self._run(work)

    async def _task(self, tx: Tx, incident: Incident, task_number: int) -> Task:
        found = next((t for t in await tx.unit.tasks(incident.number)
                      if t.number == task_number), None)
        if found is None:
            raise NotFound(_("{incident} has no checklist item {number}; “/crisis task” lists "
                             "them.", incident=incident.public_id, number=task_number))
        return found

    @canonical_people
    async def mark_task(self, number: int, actor: PersonId, task_number: int, *,
                        done: bool = True) -> Task:
        """Tick an item off (or back on); allowed after resolve, as reviews finish checklists."""

        async def work(tx: Tx) -> Task:
            incident = await tx.incident(number)
            access.permit(self.rules, cmd.TaskDone, incident, actor)
            task = await self._task(tx, incident, task_number)
            if task.done == done:
                raise Invalid(_("Item {number} is already done.", number=task.number) if done
                              else _("Item {number} is not done yet.", number=task.number))
            task.done_at, task.done_by = (tx.now, actor) if done else (None, None)
            await tx.unit.update_task(task)
            kind = EventKind.TASK_DONE if done else EventKind.TASK_REOPENED
            await tx.record(number, kind, actor, task=task.number, title=dict(task.title.texts))
            message = (_("{person} completed item {number}: {title}", person=Who(actor),
                         number=task.number, title=task.title) if done else
                       _("{person} reopened item {number}: {title}", person=Who(actor),
                         number=task.number, title=task.title))
            await tx.say(number, message)
            await tx.notify(number, NoticeKind.SUMMARY)
            return task

        return await self._run(work)

    @canonical_people
    async def assign_task(self, number: int, actor: PersonId, task_number: int,
                          person: PersonId) -> Task:
        async def work(tx: Tx) -> Task:
            incident = await tx.incident(number)
            access.permit(self.rules, cmd.TaskAssign, incident, actor)
            task = await self._task(tx, incident, task_number)
            task.assignee = person
            await tx.unit.update_task(task)
            await tx.record(number, EventKind.TASK_ASSIGNED, actor, task=task.number,
                            person=person, title=dict(task.title.texts))
            await tx.say(number, _("Item {number} is now with {person}: {title}",
                                   number=task.number, person=Who(person), title=task.title))
            await tx.notify(number, NoticeKind.INVITE, person=person)
            return task

        return await self._run(work)

    @canonical_people
    async def set_language(self, number: int, actor: PersonId,
                           language: str | None) -> Incident:
        """The incident's own language (None: the team's default) for everything said about
        it from now on: messages, the summary, cards and the report."""

        async def work(tx: Tx) -> Incident:
            incident = await tx.incident(number)
            access.permit(self.rules, cmd.SetLanguage, incident, actor)
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

        return await self._run(work)

    @canonical_people
    async def lesson(self, number: int, actor: PersonId, text: str) -> None:
        """A lesson learned, for the report's own section; open or resolved alike."""

        async def work(tx: Tx) -> None:
            incident = await tx.incident(number)
            access.permit(self.rules, cmd.Lesson, incident, actor)
            if not text.strip():
                raise Invalid(_("Write the lesson: /crisis lesson <text>"))
            await tx.record(number, EventKind.LESSON, actor, text=text.strip())

        await self._run(work)

    def _templates(self) -> StatementTemplates:
        if self.templates is None:
            raise Invalid(NO_TEMPLATES)
        return self.templates

    @canonical_people
    async def draft_from_template(self, number: int, actor: PersonId, name: str,
                                  target: str | None = None) -> Draft:
        """Fill a template from the incident's fields and post it as an ordinary draft."""
        incident, _drafts, _events, alerts = await self.load(number)
        access.permit(self.rules, cmd.PostTemplate, incident, actor)
        language = incident.language or self.language
        templates = self._templates()
        brand = next((a.labels["brand"] for a in alerts if a.labels.get("brand")), None)
        fields = {
            "incident": incident.public_id, "title": incident.title, "kind": incident.kind.value,
            "severity": incident.severity.value, "status": incident.status.value,
            "opened": incident.created_at, "now": self.clock.now(),
            "brand": brand, "target": target, "drill": incident.drill, "language": language,
        }
        try:
            text = templates.render(name, incident.kind, language, fields)
        except KeyError:
            raise NotFound(_("There is no template “{name}”. Templates: {names}.", name=name,
                             names=Joined(templates.names(incident.kind, language)))) from None
        except TemplateError as error:
            raise Invalid(_("The template “{name}” could not be filled: {error}", name=name,
                            error=str(error))) from None
        return await self.post_draft(number, actor, text, target)

    async def _show_templates(self, ctx: Context, number: int | None) -> Reply:
        """The templates for the incident at hand, or the generic ones outside any incident."""
        incident: Incident | None = None
        if number is not None or ctx.space is not None:
            try:
                incident = await self.incident_for(ctx, number)
            except Invalid:
                incident = None
        kind = incident.kind if incident else CrisisKind.OTHER
        language = (incident.language if incident else None) or self.language
        playbook = self.playbooks.get(kind)
        names = self._templates().names(kind, language)
        return Reply(template_lines(kind, names, playbook.templates if playbook else ()),
                     incident.number if incident else None)
