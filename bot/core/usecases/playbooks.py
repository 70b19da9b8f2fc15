"""Playbook use cases: the checklist an incident opens with (tasks done, reopened, handed
out), statement templates and the incident's lessons."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core import access
from bot.core import commands as cmd
from bot.core.context import Context, Reply
from bot.core.errors import Invalid, NotFound
from bot.core.models import CrisisKind, Draft, EventKind, Incident, NoticeKind, PersonId
from bot.core.playbook_views import NO_TEMPLATES, checklist_message, template_lines
from bot.core.playbooks import Playbook, StatementTemplates, Task, TemplateError, checklist
from bot.core.rules import Rules, check_open, quoted
from bot.core.text import Joined, Who, _
from bot.core.tx import Tx
from bot.core.usecases.drafts import post_draft
from bot.core.usecases.env import Env
from bot.core.usecases.reports import incident_for


async def open_checklist(tx: Tx, playbooks: Mapping[CrisisKind, Playbook],
                         incident: Incident) -> None:
    """Store the playbook's checklist as the incident's tasks and post it in the channel."""
    playbook = playbooks.get(incident.kind)
    if playbook is None:
        return
    tasks = checklist(playbook, incident.number)
    for task in tasks:
        await tx.unit.add_task(task)
    await tx.say(incident.number, checklist_message(incident, playbook, tasks))


async def tasks(tx: Tx, number: int) -> list[Task]:
    await tx.incident(number)
    return await tx.unit.tasks(number)


async def _task(tx: Tx, incident: Incident, task_number: int) -> Task:
    found = next((t for t in await tx.unit.tasks(incident.number)
                  if t.number == task_number), None)
    if found is None:
        raise NotFound(_("{incident} has no checklist item {number}; “/crisis task” lists "
                         "them.", incident=incident.public_id, number=task_number))
    return found


async def mark_task(tx: Tx, rules: Rules, number: int, actor: PersonId, task_number: int, *,
                    done: bool = True) -> Task:
    """Tick an item off (or back on); allowed after resolve, as reviews finish checklists."""
    incident = await tx.incident(number)
    access.permit(rules, cmd.TaskDone, incident, actor)
    task = await _task(tx, incident, task_number)
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


async def assign_task(tx: Tx, rules: Rules, number: int, actor: PersonId, task_number: int,
                      person: PersonId) -> Task:
    incident = await tx.incident(number)
    access.permit(rules, cmd.TaskAssign, incident, actor)
    task = await _task(tx, incident, task_number)
    task.assignee = person
    await tx.unit.update_task(task)
    await tx.record(number, EventKind.TASK_ASSIGNED, actor, task=task.number,
                    person=person, title=dict(task.title.texts))
    await tx.say(number, _("Item {number} is now with {person}: {title}",
                           number=task.number, person=Who(person), title=task.title))
    await tx.notify(number, NoticeKind.INVITE, person=person)
    return task


async def lesson(tx: Tx, rules: Rules, number: int, actor: PersonId, text: str) -> None:
    """A lesson learned, for the report's own section; open or resolved alike."""
    incident = await tx.incident(number)
    access.permit(rules, cmd.Lesson, incident, actor)
    if not text.strip():
        raise Invalid(_("Write the lesson: /crisis lesson <text>"))
    await tx.record(number, EventKind.LESSON, actor, text=text.strip())


def _templates(env: Env) -> StatementTemplates:
    if env.templates is None:
        raise Invalid(NO_TEMPLATES)
    return env.templates


async def draft_from_template(tx: Tx, env: Env, number: int, actor: PersonId, name: str,
                              target: str | None = None) -> Draft:
    """Fill a template from the incident's fields and post it as an ordinary draft."""
    incident = await tx.incident(number)
    check_open(incident)
    access.permit(env.rules, cmd.PostTemplate, incident, actor)
    language = incident.language or env.language
    templates = _templates(env)
    alerts = await tx.unit.alerts(number)
    brand = next((a.labels["brand"] for a in alerts if a.labels.get("brand")), None)
    fields = {
        "incident": incident.public_id, "title": incident.title, "kind": incident.kind.value,
        "severity": incident.severity.value, "status": incident.status.value,
        "opened": incident.created_at, "now": tx.now,
        "brand": brand, "target": target, "drill": incident.drill, "language": language,
    }
    try:
        text = templates.render(name, incident.kind, language, fields)
    except KeyError:
        raise NotFound(_("There is no template “{name}”. Templates: {names}.", name=quoted(name),
                         names=Joined(templates.names(incident.kind, language)))) from None
    except TemplateError as error:
        raise Invalid(_("The template “{name}” could not be filled: {error}", name=quoted(name),
                        error=str(error))) from None
    return await post_draft(tx, env.rules, number, actor, text, target)


async def show_templates(tx: Tx, env: Env, ctx: Context, number: int | None) -> Reply:
    """The templates for the incident at hand, or the generic ones outside any incident."""
    incident: Incident | None = None
    if number is not None or ctx.space is not None:
        try:
            incident = await incident_for(tx, ctx, number)
        except Invalid:
            incident = None
    kind = incident.kind if incident else CrisisKind.OTHER
    language = (incident.language if incident else None) or env.language
    playbook = env.playbooks.get(kind)
    names = _templates(env).names(kind, language)
    return Reply(template_lines(kind, names, playbook.templates if playbook else ()),
                 incident.number if incident else None)
