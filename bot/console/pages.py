"""What the console's pages show, as plain rendered strings for the templates: the core's own
views (summary lines, timeline lines, approval progress) in the reader's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.console.charts import Chart, bars, lines, stacked
from bot.core.insights import TIMES, Insights
from bot.core.listing import Listed
from bot.core.models import (
    DRAFT_STATE_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    Draft,
    DraftState,
    Incident,
    Severity,
    TimelineEvent,
    role_name,
)
from bot.core.playbooks import Task
from bot.core.report import duration
from bot.core.rules import Rules, StepProgress
from bot.core.stats import MEDIAN_LABELS
from bot.core.text import N_, Day, Percent, Renderer, Text, Who, _
from bot.core.views import approval_line, event_text, summary_lines


def shown(render: Renderer, value: Any) -> str:
    """One value (a person, a configured title, a label) as the renderer shows it inside a
    message, isolated in right-to-left text."""
    return render(Text("{value}", {"value": value}))


def age(since: datetime, now: datetime) -> Text:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return N_("{n} min", "{n} min", seconds // 60)
    if seconds < 86400:
        return N_("{n} h", "{n} h", seconds // 3600)
    return N_("{n} day", "{n} days", seconds // 86400)


@dataclass(frozen=True)
class Row:
    number: int
    public_id: str
    title: str
    severity: str
    status: str
    is_open: bool
    kind: str
    commander: str
    age: str
    alerts: str
    drill: bool


def rows(listed: Sequence[Listed], render: Renderer, now: datetime) -> list[Row]:
    return [Row(item.incident.number, shown(render, item.incident.public_id),
                item.incident.title, item.incident.severity.value,
                render(STATUS_LABELS[item.incident.status]), item.incident.is_open,
                render(KIND_LABELS[item.incident.kind]),
                shown(render, Who(item.incident.commander)) if item.incident.commander else "—",
                render(age(item.incident.created_at, now)), shown(render, item.alerts),
                item.incident.drill)
            for item in listed]


@dataclass(frozen=True)
class Step:
    have: int
    need: int
    line: str
    """Approvals so far, with who gave them."""
    label: str
    """The same without the people, for the progress bar."""


@dataclass(frozen=True)
class DraftCard:
    number: int
    version: int
    author: str
    text: str
    target: str | None
    state: str
    pending: bool
    publishable: bool
    """Approved, not yet published, and a destination is configured: the card offers Publish."""
    steps: list[Step]
    published: str | None = None
    """When this version was published, in words."""


@dataclass(frozen=True)
class Item:
    number: int
    title: str
    role: str
    assignee: str
    done: bool


@dataclass(frozen=True)
class Moment:
    at: str
    iso: str
    text: str


@dataclass(frozen=True)
class Room:
    number: int
    public_id: str
    title: str
    summary: list[str]
    timeline: list[Moment]
    drafts: list[DraftCard]
    tasks: list[Item]
    open_tasks: int


def room(incident: Incident, drafts: Sequence[Draft], events: Sequence[TimelineEvent],
         tasks: Sequence[Task], rules: Rules, render: Renderer, *,
         publishing: bool = False) -> Room:
    def person(who: str) -> str:
        return shown(render, Who(who))

    cards = [
        DraftCard(d.number, d.version, person(d.current.author), d.current.text, d.target,
                  render(DRAFT_STATE_LABELS[d.state]), d.state is DraftState.PENDING,
                  publishing and d.state is DraftState.APPROVED
                  and d.current.published_at is None,
                  [step(p, render) for p in rules.progress(incident, d)],
                  shown(render, _("Published {time}", time=d.current.published_at))
                  if d.current.published_at else None)
        for d in drafts
    ]
    items = [Item(t.number, shown(render, t.title), shown(render, role_name(t.role)),
                  person(t.assignee) if t.assignee else "", t.done) for t in tasks]
    moments = [Moment(shown(render, e.at), e.at.isoformat(), render(event_text(e)))
               for e in reversed(events)]
    return Room(incident.number, shown(render, incident.public_id), incident.title,
                [render(line) for line in summary_lines(incident, rules, drafts, tasks)],
                moments, cards, items, sum(not t.done for t in tasks))


def step(progress: StepProgress, render: Renderer) -> Step:
    """A card's approval step, written as the chat's card writes it."""
    return Step(len(progress.approvers), progress.step.count,
                render(approval_line(progress)), render(approval_line(progress, people=False)))


def answer_lines(lines: Sequence[Text], render: Renderer) -> list[str]:
    return [render(line) for line in lines]


SIGNED_OUT = _("You are signed out.")
LINK_REFUSED = _("This sign-in link cannot be used: it was used already, it expired, or it "
                 "never existed. Ask for a new one (“crisisbot login <person>” or "
                 "“/crisis web”).")
SIGN_IN_NEEDED = _("Sign in with a one-time link: run “crisisbot login local:<your name>” on "
                   "the server, or type “/crisis web” in Slack or Telegram.")
CSRF_REFUSED = _("This form is out of date or did not come from the console; reload the page "
                 "and try again.")
NO_INCIDENT = _("There is no incident {incident}.")


def incident_lines(listed: Sequence[Listed], render: Renderer, now: datetime) -> list[str]:
    """The list as `crisisbot incidents` prints it: one aligned line per incident."""
    if not listed:
        return [render(_("No incidents."))]
    header = [render(_("Incident")), render(_("Severity")), render(_("Status")),
              render(_("Commander")), render(_("Age")), render(_("Alerts")), render(_("Title"))]
    table = [header] + [
        [row.public_id, row.severity, row.status, row.commander, row.age, row.alerts,
         (render(_("[DRILL] ")) if row.drill else "") + row.title]
        for row in rows(listed, render, now)
    ]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(header) - 1)]
    return ["  ".join([*(c.ljust(w) for c, w in zip(cells, widths, strict=False)), cells[-1]])
            .rstrip() for cells in table]


def insight_charts(found: Insights, render: Renderer) -> list[Chart]:
    """The insights page's charts, each with its table, in the reader's language."""
    weeks = [shown(render, Day(w.start)) for w in found.weeks]
    times = [render(MEDIAN_LABELS[name]) for name in TIMES]

    def number(value: float) -> str:
        return shown(render, value)

    charts = [
        stacked(render(_("Incidents per week, by severity")), weeks,
                [s.value for s in Severity],
                [[w.by_severity[s] for s in Severity] for w in found.weeks], number),
        bars(render(_("Incidents by kind")), [render(_("Kind")), render(_("Incidents"))],
             [render(KIND_LABELS[k]) for k in found.by_kind], list(found.by_kind.values()),
             number),
        lines(render(_("Median minutes per week")), weeks, times,
              [[w.medians[name] for name in TIMES] for w in found.weeks], number),
    ]
    if found.topics:
        charts.append(bars(
            render(_("Mentions per topic, with the negative share")),
            [render(_("Topic")), render(_("Mentions")), render(_("Negative share"))],
            [t.name for t in found.topics], [t.mentions for t in found.topics], number,
            [shown(render, Percent(t.negative_share)) for t in found.topics]))
    return charts


def median_rows(found: Insights, render: Renderer) -> list[tuple[str, str]]:
    return [(render(MEDIAN_LABELS[name]),
             shown(render, duration(timedelta(minutes=value) if value is not None else None)))
            for name, value in found.medians.items()]
