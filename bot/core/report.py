"""The post-incident report: what happened, who did what, every statement and its approvals,
and the numbers the team wants to improve (time to acknowledge, to a first approved statement,
to resolve)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.models import (
    DRAFT_STATE_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    Alert,
    Draft,
    EventKind,
    Incident,
    TimelineEvent,
    role_name,
)
from bot.core.playbook_views import task_line
from bot.core.playbooks import Task, open_tasks
from bot.core.series import Series, mention_series
from bot.core.text import BLANK, N_, Joined, Percent, Text, Who, _
from bot.core.views import destination_names, event_text


@dataclass(frozen=True)
class Metrics:
    to_acknowledge: timedelta | None
    to_first_update: timedelta | None
    to_first_approved: timedelta | None
    to_resolve: timedelta | None
    to_first_published: timedelta | None
    alerts: int
    drafts: int
    versions: int
    escalations: int = 0
    reminders: int = 0


def metrics(incident: Incident, events: Sequence[TimelineEvent], alerts: Sequence[Alert],
            drafts: Sequence[Draft]) -> Metrics:
    start = incident.created_at

    def since_start(at: datetime | None) -> timedelta | None:
        return at - start if at is not None else None

    def first(kind: EventKind) -> datetime | None:
        return next((e.at for e in events if e.kind is kind), None)

    return Metrics(
        to_acknowledge=since_start(incident.acknowledged_at),
        to_first_update=since_start(first(EventKind.STATUS_UPDATE)),
        to_first_approved=since_start(first(EventKind.DRAFT_APPROVED)),
        to_resolve=since_start(incident.resolved_at),
        to_first_published=since_start(first(EventKind.STATEMENT_PUBLISHED)),
        alerts=len(alerts),
        drafts=len(drafts),
        versions=sum(len(d.versions) for d in drafts),
        escalations=sum(1 for e in events if e.kind is EventKind.ESCALATION),
        reminders=sum(1 for e in events if e.kind is EventKind.REMINDER_SENT),
    )


def duration(value: timedelta | None) -> timedelta | Text:
    """The duration (the renderer writes it: `1 hr 5 min`, `5 мин`), or `—` when it never
    happened."""
    return _("—") if value is None else value


@dataclass(frozen=True)
class Report:
    """Everything the report is made of, read in one unit of work."""

    incident: Incident
    drafts: Sequence[Draft]
    events: Sequence[TimelineEvent]
    alerts: Sequence[Alert]
    tasks: Sequence[Task] = ()

    def lines(self) -> list[Text]:
        return report_lines(self.incident, self.drafts, self.events, self.alerts,
                            tasks=self.tasks)

    @property
    def series(self) -> Series | None:
        return mention_series(self.alerts)

    @property
    def metrics(self) -> Metrics:
        return metrics(self.incident, self.events, self.alerts, self.drafts)


def report_lines(incident: Incident, drafts: Sequence[Draft], events: Sequence[TimelineEvent],
                 alerts: Sequence[Alert], *, tasks: Sequence[Task] = ()) -> list[Text]:
    """The report as Markdown lines, each translatable."""
    m = metrics(incident, events, alerts, drafts)
    lines: list[Text] = [
        _("# Post-incident report: {incident} — {title}", incident=incident.public_id,
          title=incident.title),
        BLANK,
        _("## Summary"),
        _("- Kind: {kind}", kind=KIND_LABELS[incident.kind]),
        _("- Severity: {severity}", severity=incident.severity.value),
        _("- Status: {status}", status=STATUS_LABELS[incident.status]),
        _("- Opened: {time}", time=incident.created_at),
    ]
    if incident.resolved_at is not None:
        lines.append(_("- Resolved: {time}", time=incident.resolved_at))
    summary = next((e.data.get("summary") for e in reversed(events)
                    if e.kind is EventKind.RESOLVED and e.data.get("summary")), None)
    if summary:
        lines.append(_("- Resolution: {summary}", summary=summary))
    lines += [
        BLANK,
        _("## Metrics"),
        _("| metric | value |"),
        _("|---|---|"),
        _("| time to acknowledge | {value} |", value=duration(m.to_acknowledge)),
        _("| time to first status update | {value} |", value=duration(m.to_first_update)),
        _("| time to first approved statement | {value} |", value=duration(m.to_first_approved)),
        *([_("| time to first published statement | {value} |",
             value=duration(m.to_first_published))]
          if m.to_first_published is not None else []),
        _("| time to resolve | {value} |", value=duration(m.to_resolve)),
        _("| alerts | {value} |", value=m.alerts),
        _("| drafts (versions) | {drafts} ({versions}) |", drafts=m.drafts, versions=m.versions),
        _("| escalations, reminders | {escalations}, {reminders} |", escalations=m.escalations,
          reminders=m.reminders),
    ]
    if tasks:
        lines.append(_("| checklist | {done} of {total} done |",
                       done=len(tasks) - len(open_tasks(tasks)), total=len(tasks)))
    if incident.drill:
        lines += [BLANK, _("This was a DRILL: a training exercise, not a real crisis.")]
    lines += [
        BLANK,
        _("## People and roles"),
    ]
    if incident.roles:
        lines += [_("- {role}: {people}", role=role_name(role, capital=True),
                    people=Joined(tuple(Who(p) for p in people)))
                  for role, people in incident.roles.items()]
    else:
        lines.append(_("- nobody held a role"))
    lines += [BLANK, _("## Statements")]
    if not drafts:
        lines.append(_("No drafts were posted."))
    for draft in drafts:
        lines += _draft_section(draft)
    lines += _publications_section(drafts, events)
    lines += _checklist_section(tasks)
    lines += _mentions_section(mention_series(alerts))
    lines += _lessons_section(events)
    lines += [BLANK, _("## Timeline")]
    lines += [_("- {time} {event}", time=e.at, event=event_text(e)) for e in events]
    if alerts:
        lines += [BLANK, _("## Alerts"),
                  N_("{n} alert, first at {first}, last at {last}.",
                     "{n} alerts, first at {first}, last at {last}.", len(alerts),
                     first=alerts[0].received_at, last=alerts[-1].received_at)]
    return lines


def _draft_section(draft: Draft) -> list[Text]:
    lines = [
        BLANK,
        _("### Draft #{number} — {state}", number=draft.number,
          state=DRAFT_STATE_LABELS[draft.state]),
    ]
    if draft.target:
        lines.append(_("In reply to: {target}", target=draft.target))
    for version in draft.versions:
        lines.append(_("- Version {version} by {author} at {time}: “{text}”",
                       version=version.number, author=Who(version.author),
                       time=version.created_at, text=version.text))
        for decision in draft.decisions_on(version.number):
            if decision.approve:
                lines.append(_("  - approved by {person} ({role}) at {time}",
                               person=Who(decision.person), role=role_name(decision.role or ""),
                               time=decision.at))
            else:
                lines.append(_("  - rejected by {person} ({role}) at {time}: {reason}",
                               person=Who(decision.person), role=role_name(decision.role or ""),
                               time=decision.at, reason=decision.reason or ""))
    approved = [d.at for d in draft.decisions if d.approve and d.version == draft.version]
    if approved and draft.state.value == "approved":
        lines.append(_("  - turnaround: {value}",
                       value=duration(max(approved) - draft.current.created_at)))
    return lines


def _publications_section(drafts: Sequence[Draft],
                          events: Sequence[TimelineEvent]) -> list[Text]:
    """Every publication: what went out (version, SHA-256), where, the links it landed at,
    and the approvals behind that version."""
    published = [e for e in events if e.kind is EventKind.STATEMENT_PUBLISHED]
    if not published:
        return []
    by_number = {d.number: d for d in drafts}
    lines = [BLANK, _("## Publications")]
    for event in published:
        d = event.data
        lines.append(_("- {time} {who} published draft #{number} (version {version}, "
                       "SHA-256 {sha}) to {destinations}", time=event.at,
                       who=Who(event.actor) if event.actor else "", number=d["draft"],
                       version=d["version"], sha=str(d["sha256"])[:12],
                       destinations=destination_names(d["destinations"])))
        draft = by_number.get(d["draft"])
        for decision in draft.decisions_on(d["version"]) if draft else ():
            if decision.approve:
                lines.append(_("  - approved by {person} ({role}) at {time}",
                               person=Who(decision.person), role=role_name(decision.role or ""),
                               time=decision.at))
        lines += [_("  - {destination}: {link}", destination=destination_names([e.data[
            "destination"]]), link=e.data["link"]) for e in events
            if e.kind is EventKind.STATEMENT_DELIVERED
            and e.data.get("publication") == d["publication"]]
    return lines


def _checklist_section(tasks: Sequence[Task]) -> list[Text]:
    if not tasks:
        return []
    lines = [BLANK, _("## Checklist")]
    for task in tasks:
        if task.done_at is not None and task.done_by is not None:
            lines.append(_("- {item} — done by {person} at {time}", item=task_line(task),
                           person=Who(task.done_by), time=task.done_at))
        else:
            lines.append(_("- {item} — open", item=task_line(task)))
    return lines


CHART_WIDTH = 30


def _mentions_section(series: Series | None) -> list[Text]:
    """Volume and negative share per interval, as a text chart that reads in chat and in
    Markdown; the HTML report draws the same series as SVG in place of the `chart` block."""
    if series is None:
        return []
    peak = series.peak
    lines = [
        BLANK,
        _("## Mentions"),
        N_("- Peak: {n} mention in {window} at {time}, {negative} negative",
           "- Peak: {n} mentions in {window} at {time}, {negative} negative", peak.count,
           window=series.step, time=peak.at.time(), negative=Percent(peak.negative_share)),
        N_("- In all: {n} mention, {negative} negative, reach {reach}",
           "- In all: {n} mentions, {negative} negative, reach {reach}", series.total,
           negative=Percent(series.negative_share), reach=round(series.reach)),
        _("- Chart: mentions per {window} (bars) and the share of negative ones.",
          window=series.step),
        BLANK,
        Text("```chart"),
    ]
    top = max(p.count for p in series.points)
    for point in series.points:
        bar = "█" * round(CHART_WIDTH * point.count / top) if point.count else "·"
        lines.append(Text("{time} {bar} {count} {negative}", {
            "time": point.at.time(), "bar": f"{bar:<{CHART_WIDTH}}", "count": point.count,
            "negative": Percent(point.negative_share)}))
    lines.append(Text("```"))
    return lines


def _lessons_section(events: Sequence[TimelineEvent]) -> list[Text]:
    lessons = [e for e in events if e.kind is EventKind.LESSON]
    lines = [BLANK, _("## Lessons learned")]
    if not lessons:
        return [*lines, _("None recorded yet: add them with “/crisis lesson <text>”.")]
    return lines + [_("- {text} ({person})", text=e.data.get("text", ""),
                      person=Who(e.actor) if e.actor else "") for e in lessons]
