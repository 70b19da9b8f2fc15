"""What each `/crisis` command does: one handler per command of `bot.core.commands`, over the
service's use cases, answering the sender with a `Reply`. `bot.core.command_registry` pairs
each with its command, words, help and access row."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import TYPE_CHECKING, TypeVar

from bot.core import commands as cmd
from bot.core.context import Context, Reply
from bot.core.playbook_views import task_list_lines
from bot.core.text import _
from bot.core.views import publishing_text, role_lines, timeline_lines

if TYPE_CHECKING:
    from bot.core.service import Service

A = TypeVar("A", bound=cmd.Action)

Handler = Callable[["Service", A, Context, int | None], Awaitable[Reply]]
"""(service, the command's action, its context, the incident it names) -> the reply."""
OnIncident = Callable[["Service", A, int, Context], Awaitable[Reply | None]]
"""(service, action, the incident it addresses, context) -> the reply, None for “Done.”."""


def on_incident(handle: OnIncident[A]) -> Handler[A]:
    """A command on one incident: the one it names, or the one owning the space it was written
    in (else `Invalid`, before anything is read or changed)."""

    @wraps(handle)
    async def addressed(service: Service, action: A, ctx: Context,
                        named: int | None) -> Reply:
        number = (await service.incident_for(ctx, named)).number
        return await handle(service, action, number, ctx) or Reply([_("Done.")], number)

    return addressed


async def declare(service: Service, action: cmd.Declare, ctx: Context,
                  named: int | None) -> Reply:
    incident = await service.declare(ctx.actor, action.title, severity=action.severity,
                                     kind=action.kind, platform=ctx.platform)
    return Reply([_("Declared {incident}: {title}.", incident=incident.public_id,
                    title=incident.title)], incident.number)


async def start_drill(service: Service, action: cmd.StartDrill, ctx: Context,
                      named: int | None) -> Reply:
    incident = await service.start_drill(ctx.actor, action.kind, platform=ctx.platform)
    return Reply([_("Drill {incident} started: simulated mentions will arrive in its "
                    "channel. Resolve it when the exercise is over.",
                    incident=incident.public_id)], incident.number)


async def show_templates(service: Service, action: cmd.ShowTemplates, ctx: Context,
                         named: int | None) -> Reply:
    return await service._show_templates(ctx, named)


async def web_sign_in(service: Service, action: cmd.WebSignIn, ctx: Context,
                      named: int | None) -> Reply:
    return Reply([await service.web_link(ctx.actor)], private=True)


@on_incident
async def ack(service: Service, action: cmd.Ack, number: int, ctx: Context) -> None:
    await service.acknowledge(number, ctx.actor)


@on_incident
async def assign_role(service: Service, action: cmd.AssignRole, number: int,
                      ctx: Context) -> None:
    await service.assign(number, ctx.actor, ctx.person(action.person), action.role,
                         remove=action.remove)


@on_incident
async def set_severity(service: Service, action: cmd.SetSeverity, number: int,
                       ctx: Context) -> None:
    await service.set_severity(number, ctx.actor, action.severity)


@on_incident
async def status_update(service: Service, action: cmd.StatusUpdate, number: int,
                        ctx: Context) -> None:
    await service.status_update(number, ctx.actor, action.text, action.status)


@on_incident
async def post_draft(service: Service, action: cmd.PostDraft, number: int,
                     ctx: Context) -> Reply:
    draft = await service.post_draft(number, ctx.actor, action.text, action.target)
    return Reply([_("Draft #{number} posted for approval.", number=draft.number)], number)


@on_incident
async def revise_draft(service: Service, action: cmd.ReviseDraft, number: int,
                       ctx: Context) -> Reply:
    draft = await service.revise(number, action.draft, ctx.actor, action.text, action.version)
    return Reply([_("Draft #{number} is now at version {version}.", number=draft.number,
                    version=draft.version)], number)


@on_incident
async def approve(service: Service, action: cmd.Approve, number: int, ctx: Context) -> Reply:
    draft = await service.decide(number, ctx.actor, approve=True, draft_number=action.draft)
    return Reply([_("You approved draft #{number}.", number=draft.number)], number)


@on_incident
async def reject(service: Service, action: cmd.Reject, number: int, ctx: Context) -> Reply:
    draft = await service.decide(number, ctx.actor, approve=False, draft_number=action.draft,
                                 reason=action.reason)
    return Reply([_("You rejected draft #{number}.", number=draft.number)], number)


@on_incident
async def publish(service: Service, action: cmd.Publish, number: int, ctx: Context) -> Reply:
    published = await service.publish(number, ctx.actor, action.draft, to=action.to,
                                      title=action.title)
    return Reply([publishing_text(published)], number)


@on_incident
async def note(service: Service, action: cmd.Note, number: int, ctx: Context) -> None:
    await service.note(number, ctx.actor, action.text)


@on_incident
async def show_timeline(service: Service, action: cmd.ShowTimeline, number: int,
                        ctx: Context) -> Reply:
    events = (await service.load(number))[2]
    return Reply(timeline_lines(events), number)


@on_incident
async def show_roles(service: Service, action: cmd.ShowRoles, number: int,
                     ctx: Context) -> Reply:
    incident = (await service.load(number))[0]
    return Reply(role_lines(incident, service.rules), number)


@on_incident
async def resolve(service: Service, action: cmd.Resolve, number: int, ctx: Context) -> None:
    await service.resolve(number, ctx.actor, action.summary)


@on_incident
async def reopen(service: Service, action: cmd.Reopen, number: int, ctx: Context) -> None:
    await service.reopen(number, ctx.actor)


@on_incident
async def show_report(service: Service, action: cmd.ShowReport, number: int,
                      ctx: Context) -> Reply:
    report = await service.report(number)
    return Reply(report.lines(), number)


@on_incident
async def show_tasks(service: Service, action: cmd.ShowTasks, number: int,
                     ctx: Context) -> Reply:
    incident = await service.incident_for(ctx, number)
    return Reply(task_list_lines(incident, await service.tasks(number)), number)


@on_incident
async def task_done(service: Service, action: cmd.TaskDone, number: int, ctx: Context) -> None:
    await service.mark_task(number, ctx.actor, action.task, done=action.done)


@on_incident
async def task_assign(service: Service, action: cmd.TaskAssign, number: int,
                      ctx: Context) -> None:
    await service.assign_task(number, ctx.actor, action.task, ctx.person(action.person))


@on_incident
async def set_language(service: Service, action: cmd.SetLanguage, number: int,
                       ctx: Context) -> Reply:
    incident = await service.set_language(number, ctx.actor, action.language)
    return Reply([_("Done.")], number, incident.language or service.language)


@on_incident
async def lesson(service: Service, action: cmd.Lesson, number: int, ctx: Context) -> Reply:
    await service.lesson(number, ctx.actor, action.text)
    return Reply([_("Lesson recorded; it will appear in the report.")], number)


@on_incident
async def post_template(service: Service, action: cmd.PostTemplate, number: int,
                        ctx: Context) -> Reply:
    draft = await service.draft_from_template(number, ctx.actor, action.name, action.target)
    return Reply([_("Draft #{number} posted for approval from the template “{name}”; adapt "
                    "it with “/crisis draft revise {number} <text>”.", number=draft.number,
                    name=action.name)], number)
