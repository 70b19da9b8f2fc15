"""What the bot shows about playbooks: the checklist posted when an incident opens, the task
list, the summary's checklist line and the template list — translatable lines, as in views.py."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.models import KIND_LABELS, CrisisKind, Incident, role_name
from bot.core.playbooks import Playbook, Task, open_tasks
from bot.core.text import N_, Joined, Lines, Prefixed, Text, Who, _

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "fa": "فارسی"}

NO_TEMPLATES = _("No statement templates are installed: ask an admin to set "
                 "CRISISBOT_TEMPLATES_DIR, or write the statement with “/crisis draft <text>”.")
"""Each language by its own name, so a reader finds theirs whatever the current one is."""


def stack(*lines: Text) -> Text:
    """Several lines as one message (not a message id: there is nothing to translate)."""
    return Text("{lines}", {"lines": Lines(lines)})


def checklist_message(incident: Incident, playbook: Playbook, tasks: Sequence[Task]) -> Text:
    lines = [_("Playbook for {kind} — roles to fill: {roles}.", kind=KIND_LABELS[playbook.kind],
               roles=Joined(tuple(role_name(r) for r in playbook.roles)) or "—")]
    guidance = playbook.severity.get(incident.severity)
    if guidance is not None:
        lines.append(_("{severity} means: {guidance}", severity=incident.severity.value,
                       guidance=guidance))
    lines.append(_("Checklist:"))
    lines += [task_line(t) for t in tasks]
    if playbook.templates:
        lines.append(_("Statement templates to start from: {names} (“/crisis draft template "
                       "<name>”).", names=Joined(playbook.templates)))
    lines.append(_("Mark items with “/crisis task done <n>”, hand them out with "
                   "“/crisis task assign <n> <@person>”."))
    return stack(*lines)


def task_line(task: Task) -> Text:
    return _("{mark} {number}. {title} ({role}){assignee}", mark="☑" if task.done else "☐",
             number=task.number, title=task.title, role=role_name(task.role),
             assignee=Prefixed(" → ", Who(task.assignee)) if task.assignee else "")


def task_list_lines(incident: Incident, tasks: Sequence[Task]) -> list[Text]:
    if not tasks:
        return [_("{incident} has no checklist: there is no playbook for {kind}.",
                  incident=incident.public_id, kind=KIND_LABELS[incident.kind])]
    done = len(tasks) - len(open_tasks(tasks))
    return [_("Checklist of {incident}: {done} of {total} done.", incident=incident.public_id,
              done=done, total=len(tasks)), *(task_line(t) for t in tasks)]


def checklist_summary(tasks: Sequence[Task]) -> Text | None:
    """The summary's one line about the checklist (None when there is none)."""
    if not tasks:
        return None
    remaining = len(open_tasks(tasks))
    if remaining == 0:
        return _("Checklist: all {total} items done.", total=len(tasks))
    return N_("Checklist: {n} open item of {total} — “/crisis task” lists them.",
              "Checklist: {n} open items of {total} — “/crisis task” lists them.", remaining,
              total=len(tasks))


def template_lines(kind: CrisisKind, names: Sequence[str], suggested: Sequence[str]) -> list[
    Text
]:
    if not names:
        return [NO_TEMPLATES]
    lines = [_("Statement templates for {kind}:", kind=KIND_LABELS[kind])]
    lines += [_("- {name}{suggested}", name=name,
                suggested=_(" (suggested by the playbook)") if name in suggested else "")
              for name in names]
    lines.append(_("Start a draft from one with “/crisis draft template <name>”."))
    return lines


def language_name(language: str | None) -> Text | str:
    return LANGUAGE_NAMES.get(language, language) if language else _("the team's default")
