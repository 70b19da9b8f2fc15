"""Keeping pace: which escalations and reminders are due right now, from our own data alone.

Design. The single source of truth is the incident, its drafts, its alerts and its timeline —
there is no job store to keep in step with them. `due_actions` is a pure function of that data,
the schedule and `now`; `Service.tick` asks it every few seconds and performs what it returns,
recording every action as a timeline event (`ESCALATION` / `REMINDER_SENT`, data naming the
`purpose` and its key, e.g. ``{"purpose": "ack", "step": 2}``) in the same transaction as its chat
notices. "Already done" is read back from the timeline, so:

- a restart neither loses nor repeats anything (nothing lives in memory between ticks);
- rescheduling is automatic: a severity change, a status update, an ack or a new draft version
  changes the inputs, hence the due times; an acknowledged or resolved incident simply stops
  having anything due;
- after downtime only the latest due occurrence of each purpose is returned, never a backlog,
  with how late it is, so the message can say so.

The optional auto-archive (`archive_after`, off by default) is one more purpose: due that long
after the latest resolution of an incident that has a space, it is recorded as `SPACE_ARCHIVED`
(not a reminder) and asks the chat to archive the channel (`NoticeKind.ARCHIVE_SPACE`). A
reopen clears `resolved_at`, so the clock starts again at the next resolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from bot.core.models import (
    Draft,
    DraftState,
    EventKind,
    Incident,
    MentionMinute,
    NoticeKind,
    PersonId,
    Severity,
    Status,
    TimelineEvent,
    any_role,
)
from bot.core.report import duration
from bot.core.rules import Rules
from bot.core.text import N_, Joined, Percent, Text, Who, _
from bot.core.views import late_text

LATE_NOTE_AFTER = timedelta(minutes=1)
"""Lateness below this is the tick's own granularity, not worth telling anyone."""


class Purpose(StrEnum):
    ACK = "ack"
    UPDATE = "update"
    APPROVAL = "approval"
    REVIEW = "review"
    PULSE = "pulse"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class EscalationStep:
    """Who to call when an incident stays unacknowledged: `after` counts from the previous step
    (the first step: from the acknowledgement deadline). People are mentioned and sent a direct
    message; groups (e.g. a Slack user group) are only mentioned."""

    after: timedelta = timedelta(0)
    people: tuple[PersonId, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Timers:
    """One severity's deadlines; None switches that reminder off."""

    ack_timeout: timedelta | None = None
    update_every: timedelta | None = None
    approval_reminder: timedelta | None = None


DEFAULT_TIMERS: Mapping[Severity, Timers] = {
    Severity.SEV1: Timers(timedelta(minutes=5), timedelta(minutes=30), timedelta(minutes=10)),
    Severity.SEV2: Timers(timedelta(minutes=15), timedelta(hours=1), timedelta(minutes=10)),
    Severity.SEV3: Timers(timedelta(hours=1), timedelta(hours=4), None),
    Severity.SEV4: Timers(None, None, None),
}


@dataclass(frozen=True)
class Schedule:
    """Plain values from settings; the defaults are the documented ones."""

    timers: Mapping[Severity, Timers] = field(default_factory=lambda: dict(DEFAULT_TIMERS))
    escalation: tuple[EscalationStep, ...] = ()
    timezone: tzinfo = UTC
    review_time: time = time(10, 0)
    working_days: frozenset[int] = frozenset(range(5))
    pulse_every: timedelta | None = timedelta(minutes=15)
    pulse_severities: frozenset[Severity] = frozenset({Severity.SEV1, Severity.SEV2})
    review_grace: timedelta = timedelta(days=7)
    """A review reminder (or an archive) missed by more than this (long downtime) is dropped,
    not sent: resolved incidents are only watched around their follow-ups."""
    archive_after: timedelta | None = None
    """Archive the incident's channel this long after resolution; None (the default): never."""

    def timers_for(self, severity: Severity) -> Timers:
        return self.timers.get(severity, Timers())


@dataclass(frozen=True)
class Action:
    """One due escalation or reminder: what to say in the channel, to whom directly, and the
    key that marks it done in the timeline."""

    incident: int
    purpose: Purpose
    due_at: datetime
    late: timedelta
    message: Text
    mention: tuple[str, ...] = ()
    direct: tuple[PersonId, ...] = ()
    dm: Text | None = None
    key: Mapping[str, int] = field(default_factory=dict)
    draft: int | None = None
    version: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    notice: NoticeKind | None = None
    """A chat action to queue after the message (e.g. archiving the channel)."""

    @property
    def event(self) -> EventKind:
        if self.purpose is Purpose.ARCHIVE:
            return EventKind.SPACE_ARCHIVED
        return EventKind.ESCALATION if self.purpose is Purpose.ACK else EventKind.REMINDER_SENT

    @property
    def data(self) -> dict[str, Any]:
        """The timeline event's data: JSON-ready, enough to tell the action and to dedupe it."""
        return {"purpose": self.purpose.value, **self.key, "people": list(self.mention),
                "due": self.due_at.isoformat(), "late": int(self.late.total_seconds()),
                **self.extra}


def due_actions(incident: Incident, drafts: Sequence[Draft], events: Sequence[TimelineEvent],
                schedule: Schedule, rules: Rules, now: datetime,
                series: Sequence[MentionMinute] = ()) -> list[Action]:
    """Everything due for one incident at `now` that the timeline does not show as done."""
    found = [
        _escalation(incident, events, schedule, rules, now),
        _update_reminder(incident, events, schedule, now),
        *(_approval_reminder(incident, d, events, schedule, rules, now) for d in drafts),
        _review(incident, events, schedule, now),
        _pulse(incident, events, series, schedule, now),
        _archive(incident, events, schedule, now),
    ]
    # What a severity change made due was not missed, so it is not late.
    changed = max((e.at for e in events if e.kind is EventKind.SEVERITY_CHANGED), default=None)
    return [_with_late_note(_not_before(a, changed, now)) for a in found if a is not None]


def page_still_due(incident: Incident, queued_at: datetime) -> bool:
    """A direct page queued at `queued_at` and still waiting to be sent (the chat was down, or
    paced) is dropped once the incident was acknowledged or resolved after it was queued: an
    escalation must not wake anyone for an incident already in hand."""
    return not any(at is not None and at >= queued_at
                   for at in (incident.acknowledged_at, incident.resolved_at))


LONGEST_TO_REVIEW = timedelta(days=8)
"""`review_due` is at most this long after the resolution (the next working day, a week on
at the latest, at the review time)."""


def watch_horizon(schedule: Schedule) -> timedelta:
    """How long after its resolution an incident may still have something due (`watched`): so
    a tick reads the open incidents and the recently resolved ones, not every incident ever."""
    return max(LONGEST_TO_REVIEW, schedule.archive_after or timedelta(0)) + schedule.review_grace


def watched(incident: Incident, schedule: Schedule, now: datetime) -> bool:
    """Whether anything can still be due: cheap, so resolved incidents cost nothing to skip."""
    if incident.is_open:
        return True
    if incident.resolved_at is None:
        return False
    due = review_due(incident.resolved_at, schedule)
    if due <= now <= due + schedule.review_grace:
        return True
    archive = archive_due(incident, schedule)
    return archive is not None and archive <= now <= archive + schedule.review_grace


def archive_due(incident: Incident, schedule: Schedule) -> datetime | None:
    """When a resolved incident's channel is to be archived: None when archiving is off, the
    incident is open (a reopen cancels it) or it has no channel."""
    if (schedule.archive_after is None or incident.is_open or incident.resolved_at is None
            or incident.space is None):
        return None
    return incident.resolved_at + schedule.archive_after


def review_due(resolved_at: datetime, schedule: Schedule) -> datetime:
    """The next working day after `resolved_at`, at the review time, in the team's timezone."""
    day = resolved_at.astimezone(schedule.timezone).date()
    for _step in range(7):
        day += timedelta(days=1)
        if day.weekday() in schedule.working_days:
            break
    local = datetime.combine(day, schedule.review_time, tzinfo=schedule.timezone)
    return local.astimezone(UTC)


# -- one function per purpose ----------------------------------------------------------------


def _escalation(incident: Incident, events: Sequence[TimelineEvent], schedule: Schedule,
                rules: Rules, now: datetime) -> Action | None:
    timeout = schedule.timers_for(incident.severity).ack_timeout
    if incident.status is not Status.TRIGGERED or timeout is None:
        return None
    # A drill is practice: its channel hears it, nobody on the real on-call chain is paged.
    steps = (schedule.escalation if not incident.drill else ()) or (EscalationStep(),)
    done = max((int(e.data.get("step", 0)) for e in _sent(events, Purpose.ACK)), default=0)
    due_at, latest = incident.created_at + timeout, 0
    times = []
    for number, step in enumerate(steps, start=1):
        due_at += step.after
        times.append(due_at)
        if due_at <= now:
            latest = number
    if latest <= done:
        return None
    # Steps skipped during downtime are folded into this one: nobody on the chain is missed.
    folded = steps[done:latest]
    people = _on_platform(incident, rules, (p for s in folded for p in s.people))
    groups = _on_platform(incident, rules, (g for s in folded for g in s.groups))
    elapsed = duration(now - incident.created_at)
    who = Joined(tuple(Who(p) for p in (*people, *groups)))
    message = (
        _("{incident} is still not acknowledged after {elapsed}; escalating to {people}. "
          "Acknowledge with “/crisis ack”.", incident=incident.public_id, elapsed=elapsed,
          people=who)
        if who else
        _("{incident} is still not acknowledged after {elapsed}. Acknowledge with “/crisis ack”.",
          incident=incident.public_id, elapsed=elapsed)
    )
    dm = _("{incident} ({severity}) “{title}” has not been acknowledged for {elapsed}. Please "
           "join its channel and acknowledge with “/crisis ack {incident}”.",
           incident=incident.public_id, severity=incident.severity.value, title=incident.title,
           elapsed=elapsed)
    return Action(incident.number, Purpose.ACK, times[latest - 1], now - times[latest - 1],
                  message, (*people, *groups), people, dm if people else None,
                  key={"step": latest})


def _update_reminder(incident: Incident, events: Sequence[TimelineEvent], schedule: Schedule,
                     now: datetime) -> Action | None:
    every = schedule.timers_for(incident.severity).update_every
    if every is None or incident.status in (Status.TRIGGERED, Status.RESOLVED):
        return None
    last_update = max((e.at for e in events
                       if e.kind in (EventKind.STATUS_UPDATE, EventKind.REOPENED)),
                      default=incident.created_at)
    # The cadence runs from the acknowledgement at the earliest: nothing was due while nobody
    # was on it.
    anchor = max([last_update, incident.acknowledged_at or last_update,
                  *(e.at for e in _sent(events, Purpose.UPDATE))])
    due_at = anchor + every
    if due_at > now:
        return None
    people = tuple(dict.fromkeys([*incident.holders("commander"),
                                  *incident.holders("spokesperson")]))
    since = duration(now - last_update)
    message = (
        _("No status update on {incident} for {elapsed}. {people}, please post one with "
          "“/crisis status <text>”.", incident=incident.public_id, elapsed=since,
          people=Joined(tuple(Who(p) for p in people)))
        if people else
        _("No status update on {incident} for {elapsed}. Post one with “/crisis status <text>”.",
          incident=incident.public_id, elapsed=since)
    )
    return Action(incident.number, Purpose.UPDATE, due_at, now - due_at, message, people)


def _approval_reminder(incident: Incident, draft: Draft, events: Sequence[TimelineEvent],
                       schedule: Schedule, rules: Rules, now: datetime) -> Action | None:
    wait = schedule.timers_for(incident.severity).approval_reminder
    if wait is None or not incident.is_open or draft.state is not DraftState.PENDING:
        return None
    version = draft.current
    rounds = [version.created_at + wait, version.created_at + 2 * wait]
    latest = sum(1 for at in rounds if at <= now)
    done = max((int(e.data.get("round", 0)) for e in _sent(events, Purpose.APPROVAL)
                if e.data.get("draft") == draft.number
                and e.data.get("version") == version.number), default=0)
    if latest <= done:
        return None
    step = next((p.step for p in rules.progress(incident, draft) if not p.done), None)
    if step is None:
        return None
    acted = {d.person for d in draft.decisions_on(version.number)} | {version.author,
                                                                       draft.author}
    waiting = tuple(dict.fromkeys(p for role in sorted(step.roles) for p in incident.holders(role)
                                  if p not in acted))
    elapsed = duration(now - version.created_at)
    who = Joined(tuple(Who(p) for p in waiting))
    mention: tuple[PersonId, ...]
    if latest == 1:
        mention = waiting
        message = (
            _("Draft #{number} has waited {elapsed} for approval. {people}, please approve "
              "with ✅ or reject with ❌ and a reason.", number=draft.number, elapsed=elapsed,
              people=who)
            if waiting else
            _("Draft #{number} has waited {elapsed} for approval, and nobody who may approve it "
              "holds the role {roles} yet.", number=draft.number, elapsed=elapsed,
              roles=any_role(step.roles))
        )
    else:
        commander = incident.commander
        mention = (commander,) if commander else ()
        message = (
            _("{commander}, draft #{number} has still not been approved after {elapsed}; "
              "waiting for {people}.", commander=Who(commander), number=draft.number,
              elapsed=elapsed, people=who or _("someone with the role {roles}",
                                                roles=any_role(step.roles)))
            if commander else
            _("Draft #{number} has still not been approved after {elapsed}.",
              number=draft.number, elapsed=elapsed)
        )
    due_at = rounds[latest - 1]
    return Action(incident.number, Purpose.APPROVAL, due_at, now - due_at, message, mention,
                  key={"draft": draft.number, "version": version.number, "round": latest},
                  draft=draft.number if latest == 1 else None,
                  version=version.number if latest == 1 else None)


def _review(incident: Incident, events: Sequence[TimelineEvent], schedule: Schedule,
            now: datetime) -> Action | None:
    if incident.is_open or incident.resolved_at is None:
        return None
    due_at = review_due(incident.resolved_at, schedule)
    if not due_at <= now <= due_at + schedule.review_grace:
        return None
    if any(e.at >= incident.resolved_at for e in _sent(events, Purpose.REVIEW)):
        return None
    commander = incident.commander
    people = (commander,) if commander else ()
    message = _("Time for the post-incident review of {incident}: run “/crisis report”, then "
                "write down the lessons learned with “/crisis lesson <text>”.",
                incident=incident.public_id)
    return Action(incident.number, Purpose.REVIEW, due_at, now - due_at, message, people,
                  people, message if people else None)


def _archive(incident: Incident, events: Sequence[TimelineEvent], schedule: Schedule,
             now: datetime) -> Action | None:
    due_at = archive_due(incident, schedule)
    if due_at is None or not due_at <= now <= due_at + schedule.review_grace:
        return None
    resolved_at = incident.resolved_at or due_at
    if any(e.kind is EventKind.SPACE_ARCHIVED and e.at >= resolved_at for e in events):
        return None  # done since the latest resolution
    message = _("{incident} has been resolved since {since}; archiving this channel.",
                incident=incident.public_id, since=resolved_at)
    return Action(incident.number, Purpose.ARCHIVE, due_at, now - due_at, message,
                  notice=NoticeKind.ARCHIVE_SPACE)


def _pulse(incident: Incident, events: Sequence[TimelineEvent],
           series: Sequence[MentionMinute], schedule: Schedule, now: datetime) -> Action | None:
    every = schedule.pulse_every
    if (every is None or not incident.is_open
            or incident.severity not in schedule.pulse_severities or not series):
        return None
    anchor = max([incident.created_at, *(e.at for e in _sent(events, Purpose.PULSE))])
    due_at = anchor + every
    if due_at > now:
        return None
    start = now - every
    current = [m for m in series if start < m.minute <= now]
    count = sum(m.mentions for m in current)
    previous = sum(m.mentions for m in series if start - every < m.minute <= start)
    if not count and not previous:
        return None  # nothing moved: never spam a quiet channel
    negative = round(100 * sum(m.negative for m in current) / count) if count else 0
    change: Text | Percent = (Percent(round(100 * (count - previous) / previous), signed=True)
                              if previous else _("new"))
    minutes = round(every.total_seconds() / 60)
    message = N_("Pulse for {incident}: {n} mention in the last {window} ({change} against "
                 "the previous window), {negative} negative.",
                 "Pulse for {incident}: {n} mentions in the last {window} ({change} against "
                 "the previous window), {negative} negative.", count,
                 incident=incident.public_id, window=every, change=change,
                 negative=Percent(negative))
    # A pulse describes the window ending now, so it is never "late".
    return Action(incident.number, Purpose.PULSE, now, timedelta(0), message,
                  extra={"count": count, "previous": previous, "negative": negative,
                         "minutes": minutes})


# -- helpers ---------------------------------------------------------------------------------


def _sent(events: Sequence[TimelineEvent], purpose: Purpose) -> list[TimelineEvent]:
    """The timeline's record of what was already done for `purpose`."""
    return [e for e in events if e.kind in (EventKind.ESCALATION, EventKind.REMINDER_SENT)
            and e.data.get("purpose") == purpose.value]


def _on_platform(incident: Incident, rules: Rules, people: Iterable[str]) -> tuple[str, ...]:
    """A chain may list people on several platforms; only the incident's own can be reached,
    a person bound in `[[people]]` under their id there (`Rules.on`), once."""
    reached = (rules.on(incident.platform, p) for p in people)
    return tuple(dict.fromkeys(p for p in reached if p.split(":", 1)[0] == incident.platform))


def _not_before(action: Action, changed: datetime | None, now: datetime) -> Action:
    if changed is None or action.due_at >= changed:
        return action
    return replace(action, late=max(timedelta(0), now - changed))


def _with_late_note(action: Action) -> Action:
    if action.late < LATE_NOTE_AFTER:
        return action
    late = timedelta(minutes=round(action.late.total_seconds() / 60))
    dm = late_text(action.dm, late) if action.dm is not None else None
    return replace(action, message=late_text(action.message, late), dm=dm)
