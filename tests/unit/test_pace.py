"""The pure due-actions function: time is an argument, so every case is one call."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.core.models import (
    SYSTEM,
    Alert,
    CrisisKind,
    Decision,
    Draft,
    DraftState,
    DraftVersion,
    EventKind,
    Incident,
    NoticeKind,
    Severity,
    Space,
    Status,
    TimelineEvent,
)
from bot.core.pace import (
    DEFAULT_TIMERS,
    Action,
    EscalationStep,
    Purpose,
    Schedule,
    Timers,
    archive_due,
    due_actions,
    review_due,
    watch_horizon,
    watched,
)
from bot.core.rules import Rules
from bot.core.spikes import mention_minutes
from bot.core.text import render
from bot.core.views import event_text

T0 = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)  # a Friday
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
ALICE, BOB, CAROL, DAVE = "local:alice", "local:bob", "local:carol", "local:dave"
CHAIN = (EscalationStep(timedelta(0), ("local:oncall",)),
         EscalationStep(10 * MIN, ("local:lead", "slack:U1"), ("local:comms-team",)),
         EscalationStep(10 * MIN, ("local:ceo",)))
SCHEDULE = Schedule(escalation=CHAIN)


def incident(severity: Severity = Severity.SEV1, status: Status = Status.TRIGGERED,
             **roles: list[str]) -> Incident:
    return Incident(1, "Fake recall story", CrisisKind.DISINFORMATION, severity, status, T0,
                    SYSTEM, roles=dict(roles))


def sent(purpose: Purpose, at: datetime, **key: Any) -> TimelineEvent:
    kind = EventKind.ESCALATION if purpose is Purpose.ACK else EventKind.REMINDER_SENT
    return TimelineEvent(1, at, kind, SYSTEM, {"purpose": purpose.value, **key})


def due(inc: Incident, at: datetime, events: list[TimelineEvent] | None = None,
        drafts: list[Draft] | None = None, schedule: Schedule = SCHEDULE,
        alerts: list[Alert] | None = None) -> list[Action]:
    return due_actions(inc, drafts or [], events or [], schedule, Rules(), at,
                       mention_minutes(alerts or []))


def one(actions: list[Action], purpose: Purpose) -> Action:
    [action] = [a for a in actions if a.purpose is purpose]
    return action


# -- escalation ------------------------------------------------------------------------------

def test_nothing_due_before_the_ack_deadline() -> None:
    assert due(incident(), T0 + 5 * MIN - timedelta(seconds=1)) == []


def test_escalation_walks_the_chain_step_by_step() -> None:
    inc = incident()
    first = one(due(inc, T0 + 5 * MIN), Purpose.ACK)
    assert (first.key, first.mention, first.direct) == ({"step": 1}, ("local:oncall",),
                                                          ("local:oncall",))
    assert first.event is EventKind.ESCALATION
    assert first.late == timedelta(0)
    assert render(first.message) == ("INC-1 is still not acknowledged after 5 min; "
                                     "escalating to @oncall. Acknowledge with “/crisis ack”.")
    assert "/crisis ack INC-1" in render(first.dm)  # type: ignore[arg-type]
    done = [sent(Purpose.ACK, T0 + 5 * MIN, step=1)]
    assert due(inc, T0 + 14 * MIN, done) == []
    second = one(due(inc, T0 + 15 * MIN, done), Purpose.ACK)
    # only the incident's platform is reachable; groups are mentioned, never messaged
    assert second.key == {"step": 2}
    assert second.mention == ("local:lead", "local:comms-team")
    assert second.direct == ("local:lead",)
    done.append(sent(Purpose.ACK, T0 + 15 * MIN, step=2))
    assert one(due(inc, T0 + 25 * MIN, done), Purpose.ACK).key == {"step": 3}
    done.append(sent(Purpose.ACK, T0 + 25 * MIN, step=3))
    assert due(inc, T0 + 600 * MIN, done) == []  # the chain ends


def test_acknowledged_incident_never_escalates() -> None:
    assert not [a for a in due(incident(status=Status.ACKNOWLEDGED), T0 + 60 * MIN)
                if a.purpose is Purpose.ACK]


def test_downtime_runs_only_the_latest_step_folding_the_missed_ones_with_a_late_note() -> None:
    action = one(due(incident(), T0 + 40 * MIN), Purpose.ACK)
    assert action.key == {"step": 3}
    assert action.mention == ("local:oncall", "local:lead", "local:ceo", "local:comms-team")
    assert action.late == 15 * MIN
    assert render(action.message).endswith("(late by 15 min)")
    assert render(action.dm).endswith("(late by 15 min)")  # type: ignore[arg-type]


def test_ack_deadline_follows_severity_and_sev4_has_none() -> None:
    assert one(due(incident(Severity.SEV2), T0 + 15 * MIN), Purpose.ACK).key == {"step": 1}
    assert due(incident(Severity.SEV2), T0 + 14 * MIN) == []
    assert due(incident(Severity.SEV4), T0 + timedelta(days=3)) == []


def test_without_a_chain_the_channel_still_hears_it() -> None:
    action = one(due(incident(), T0 + 5 * MIN, schedule=Schedule()), Purpose.ACK)
    assert (action.mention, action.direct, action.dm) == ((), (), None)
    assert render(action.message).startswith("INC-1 is still not acknowledged after 5 min")


def test_the_chain_reaches_a_bound_person_under_their_id_on_the_incident_platform() -> None:
    """Maryam is listed by her Slack id and bound to a local id too: a local incident pages her
    there, once, rather than skipping her."""
    maryam = ("local:maryam", "slack:UM")
    rules = Rules(people=dict.fromkeys(maryam, maryam[0]))
    for listed in (("slack:UM", "slack:U9"), ("slack:UM", "local:maryam")):
        chain = Schedule(escalation=(EscalationStep(timedelta(0), listed),))
        action = one(due_actions(incident(), [], [], chain, rules, T0 + 5 * MIN), Purpose.ACK)
        assert (action.mention, action.direct) == (("local:maryam",), ("local:maryam",))


def test_a_drill_never_pages_the_escalation_chain() -> None:
    """A drill is practice: its channel hears that it is not acknowledged, once, but nobody
    on the real on-call chain (the CEO at 3 a.m.) is mentioned or messaged."""
    inc = replace(incident(), drill=True)
    action = one(due(inc, T0 + 40 * MIN), Purpose.ACK)
    assert (action.mention, action.direct, action.dm) == ((), (), None)
    assert render(action.message).startswith("INC-1 is still not acknowledged after 40 min")
    done = [sent(Purpose.ACK, T0 + 40 * MIN, **action.key)]
    assert due(inc, T0 + 600 * MIN, done) == []


# -- status updates --------------------------------------------------------------------------

def test_update_reminder_goes_to_commander_and_spokesperson_and_resets_on_update() -> None:
    inc = incident(status=Status.RESPONDING, commander=[ALICE], spokesperson=[BOB])
    assert due(inc, T0 + 29 * MIN) == []
    action = one(due(inc, T0 + 30 * MIN), Purpose.UPDATE)
    assert action.mention == (ALICE, BOB)
    assert render(action.message) == ("No status update on INC-1 for 30 min. @alice, @bob, "
                                      "please post one with “/crisis status <text>”.")
    update = TimelineEvent(1, T0 + 20 * MIN, EventKind.STATUS_UPDATE, ALICE, {"text": "x"})
    assert due(inc, T0 + 49 * MIN, [update]) == []
    assert one(due(inc, T0 + 50 * MIN, [update]), Purpose.UPDATE).due_at == T0 + 50 * MIN


def test_update_reminder_repeats_each_cadence_not_each_tick() -> None:
    inc = incident(status=Status.MONITORING, commander=[ALICE])
    done = [sent(Purpose.UPDATE, T0 + 30 * MIN)]
    assert due(inc, T0 + 59 * MIN, done) == []
    assert one(due(inc, T0 + 60 * MIN, done), Purpose.UPDATE).due_at == T0 + 60 * MIN


def test_severity_change_reschedules_the_update_reminder() -> None:
    at = T0 + 45 * MIN
    assert due(incident(Severity.SEV3, Status.RESPONDING), at) == []
    assert one(due(incident(Severity.SEV1, Status.RESPONDING), at), Purpose.UPDATE)


def test_the_update_cadence_starts_at_the_acknowledgement_not_at_the_alert() -> None:
    """An incident acknowledged after 5 hours is not “late” with its first update the moment
    someone takes it: nothing was due while nobody was on it."""
    inc = incident(Severity.SEV3, Status.ACKNOWLEDGED, commander=[ALICE])
    inc.acknowledged_at = T0 + 5 * HOUR
    assert [a for a in due(inc, T0 + 5 * HOUR + MIN) if a.purpose is Purpose.UPDATE] == []
    assert one(due(inc, T0 + 9 * HOUR), Purpose.UPDATE).due_at == T0 + 9 * HOUR


def test_no_update_reminder_while_triggered_or_resolved() -> None:
    for status in (Status.TRIGGERED, Status.RESOLVED):
        assert not [a for a in due(incident(status=status), T0 + 100 * MIN)
                    if a.purpose is Purpose.UPDATE]


# -- approvals -------------------------------------------------------------------------------

def draft(version_at: datetime = T0, decisions: list[Decision] | None = None,
          state: DraftState = DraftState.PENDING) -> Draft:
    versions = [DraftVersion(1, "old", CAROL, T0)]
    if version_at != T0:
        versions.append(DraftVersion(2, "new", CAROL, version_at))
    return Draft(1, 1, CAROL, T0, versions, state=state, decisions=decisions or [])


def test_approval_reminders_ping_waiting_approvers_then_the_commander() -> None:
    inc = incident(status=Status.RESPONDING, commander=[ALICE], approver=[BOB, DAVE, CAROL])
    d = draft(decisions=[Decision(1, BOB, True, T0 + MIN, 0, "approver")])
    assert [a for a in due(inc, T0 + 9 * MIN, drafts=[d]) if a.purpose is Purpose.APPROVAL] == []
    first = one(due(inc, T0 + 10 * MIN, drafts=[d]), Purpose.APPROVAL)
    assert first.mention == (DAVE,)  # bob acted, carol wrote it
    assert (first.key, first.draft, first.version) == (
        {"draft": 1, "version": 1, "round": 1}, 1, 1)
    done = [sent(Purpose.APPROVAL, T0 + 10 * MIN, draft=1, version=1, round=1)]
    assert [a for a in due(inc, T0 + 19 * MIN, done, [d]) if a.purpose is Purpose.APPROVAL] == []
    second = one(due(inc, T0 + 20 * MIN, done, [d]), Purpose.APPROVAL)
    assert (second.mention, second.key["round"], second.draft) == ((ALICE,), 2, None)
    assert render(second.message) == ("@alice, draft #1 has still not been approved after "
                                      "20 min; waiting for @dave.")
    done.append(sent(Purpose.APPROVAL, T0 + 20 * MIN, draft=1, version=1, round=2))
    assert [a for a in due(inc, T0 + 90 * MIN, done, [d]) if a.purpose is Purpose.APPROVAL] == []


def test_a_revision_starts_approval_reminders_over() -> None:
    inc = incident(status=Status.RESPONDING, commander=[ALICE], approver=[BOB])
    d = draft(version_at=T0 + 30 * MIN)
    done = [sent(Purpose.APPROVAL, T0 + 20 * MIN, draft=1, version=1, round=2)]
    assert [a for a in due(inc, T0 + 39 * MIN, done, [d]) if a.purpose is Purpose.APPROVAL] == []
    action = one(due(inc, T0 + 40 * MIN, done, [d]), Purpose.APPROVAL)
    assert action.key == {"draft": 1, "version": 2, "round": 1}


def test_no_approval_reminder_for_decided_drafts_or_low_severity() -> None:
    inc = incident(status=Status.RESPONDING, approver=[BOB])
    for state in (DraftState.APPROVED, DraftState.REJECTED):
        assert not [a for a in due(inc, T0 + 60 * MIN, drafts=[draft(state=state)])
                    if a.purpose is Purpose.APPROVAL]
    low = incident(Severity.SEV3, Status.RESPONDING, approver=[BOB])
    assert not [a for a in due(low, T0 + 600 * MIN, drafts=[draft()])
                if a.purpose is Purpose.APPROVAL]


# -- follow-up -------------------------------------------------------------------------------

BERLIN = Schedule(timezone=ZoneInfo("Europe/Berlin"), review_time=time(10, 0))


def resolved(at: datetime) -> Incident:
    inc = incident(status=Status.RESOLVED, commander=[ALICE])
    inc.resolved_at = at
    return inc


def test_review_is_next_working_day_at_ten_in_the_team_timezone() -> None:
    friday_evening = datetime(2024, 5, 3, 20, 30, tzinfo=UTC)  # 22:30 in Berlin
    monday_ten = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)  # 10:00 CEST
    assert review_due(friday_evening, BERLIN) == monday_ten
    tuesday = datetime(2024, 5, 6, 23, 30, tzinfo=UTC)  # already Tuesday 01:30 in Berlin
    assert review_due(tuesday, BERLIN) == datetime(2024, 5, 8, 8, 0, tzinfo=UTC)


def test_review_reminder_once_then_the_incident_is_left_alone() -> None:
    inc = resolved(datetime(2024, 5, 3, 20, 30, tzinfo=UTC))
    monday_ten = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
    assert not watched(inc, BERLIN, monday_ten - MIN)
    assert due(inc, monday_ten - MIN, schedule=BERLIN) == []
    action = one(due(inc, monday_ten, schedule=BERLIN), Purpose.REVIEW)
    assert (action.mention, action.direct) == ((ALICE,), (ALICE,))
    assert "/crisis report" in render(action.message)
    done = [sent(Purpose.REVIEW, monday_ten)]
    assert due(inc, monday_ten + MIN, done, schedule=BERLIN) == []
    assert not watched(inc, BERLIN, monday_ten + timedelta(days=8))


# -- auto-archive ----------------------------------------------------------------------------

DAY = timedelta(days=1)
ARCHIVING = Schedule(archive_after=30 * DAY)


def resolved_with_space(at: datetime) -> Incident:
    inc = resolved(at)
    inc.space = Space("local", "crisis-1-fake-recall-story")
    return inc


def archiving(inc: Incident, at: datetime, events: list[TimelineEvent] | None = None,
              schedule: Schedule = ARCHIVING) -> list[Action]:
    return [a for a in due(inc, at, events, schedule=schedule) if a.purpose is Purpose.ARCHIVE]


def test_archive_is_due_n_days_after_resolution_not_before() -> None:
    inc = resolved_with_space(T0)
    assert archive_due(inc, ARCHIVING) == T0 + 30 * DAY
    assert not watched(inc, ARCHIVING, T0 + 30 * DAY - MIN)  # long after the review
    assert archiving(inc, T0 + 30 * DAY - MIN) == []
    assert watched(inc, ARCHIVING, T0 + 30 * DAY)
    [action] = due(inc, T0 + 30 * DAY, schedule=ARCHIVING)  # the review's window is long over
    assert action.purpose is Purpose.ARCHIVE
    assert (action.event, action.notice, action.late) == (EventKind.SPACE_ARCHIVED,
                                                          NoticeKind.ARCHIVE_SPACE, timedelta(0))
    assert render(action.message) == ("INC-1 has been resolved since 2024-05-03 "
                                      "12:00 UTC; archiving this channel.")
    event = TimelineEvent(1, T0 + 30 * DAY, action.event, SYSTEM, action.data)
    assert render(event_text(event)) == "archived the incident channel"


def test_archive_is_off_by_default_and_needs_a_channel() -> None:
    inc = resolved_with_space(T0)
    assert Schedule().archive_after is None
    assert archiving(inc, T0 + 30 * DAY, schedule=Schedule()) == []
    assert not watched(inc, Schedule(), T0 + 30 * DAY)
    assert archiving(resolved(T0), T0 + 30 * DAY) == []  # no channel was ever opened
    still_open = incident(status=Status.RESPONDING)
    still_open.space = Space("local", "c")
    assert archiving(still_open, T0 + 30 * DAY) == []


def test_archive_happens_once_and_after_downtime_says_it_is_late() -> None:
    inc = resolved_with_space(T0)
    [late] = archiving(inc, T0 + 30 * DAY + 2 * DAY)
    assert late.late == 2 * DAY
    assert "(late by 2 d)" in render(late.message)
    done = [TimelineEvent(1, T0 + 32 * DAY, EventKind.SPACE_ARCHIVED, SYSTEM, late.data)]
    assert archiving(inc, T0 + 32 * DAY + MIN, done) == []
    assert not watched(inc, ARCHIVING, T0 + 30 * DAY + ARCHIVING.review_grace + MIN)


def test_reopen_cancels_the_archive_and_a_new_resolution_restarts_the_clock() -> None:
    inc = resolved_with_space(T0)
    inc.status, inc.resolved_at = Status.RESPONDING, None  # reopened after 10 days
    assert archive_due(inc, ARCHIVING) is None
    assert archiving(inc, T0 + 30 * DAY) == []
    again = T0 + 20 * DAY
    inc.status, inc.resolved_at = Status.RESOLVED, again
    assert archiving(inc, T0 + 30 * DAY) == []  # 30 days after the first resolve: not yet
    assert len(archiving(inc, again + 30 * DAY)) == 1
    # An archive done after an earlier resolution does not count for the latest one.
    earlier = [TimelineEvent(1, T0 + 5 * DAY, EventKind.SPACE_ARCHIVED, SYSTEM, {})]
    assert len(archiving(inc, again + 30 * DAY, earlier)) == 1


# -- pulse -----------------------------------------------------------------------------------

def mention_alert(at: datetime, sentiment: float) -> Alert:
    """A mention as intake counts it into the per-minute series."""
    return Alert("mentions", f"m-{at.isoformat()}-{sentiment}", "g", "post", at,
                 metrics={"sentiment": sentiment}, incident=1)


def test_pulse_reports_volume_change_and_negative_share_only_when_something_moved() -> None:
    inc = incident(status=Status.RESPONDING)
    alerts = [mention_alert(T0 + MIN, -0.9), mention_alert(T0 + 16 * MIN, -0.5),
              mention_alert(T0 + 17 * MIN, 0.3)]
    action = one(due(inc, T0 + 30 * MIN, alerts=alerts), Purpose.PULSE)
    assert render(action.message) == ("Pulse for INC-1: 2 mentions in the last 15 min (+100% "
                                      "against the previous window), 50% negative.")
    assert action.extra == {"count": 2, "previous": 1, "negative": 50, "minutes": 15}
    quiet = [sent(Purpose.PULSE, T0 + 30 * MIN), sent(Purpose.PULSE, T0 + 45 * MIN)]
    assert not [a for a in due(inc, T0 + 70 * MIN, quiet, alerts=alerts)
                if a.purpose is Purpose.PULSE]  # two empty windows: silence
    low = incident(Severity.SEV3, Status.RESPONDING)
    assert not [a for a in due(low, T0 + 30 * MIN, alerts=alerts) if a.purpose is Purpose.PULSE]


# -- telling it ------------------------------------------------------------------------------

def test_timeline_tells_each_action_from_its_data() -> None:
    action = one(due(incident(), T0 + 40 * MIN), Purpose.ACK)
    event = TimelineEvent(1, T0 + 40 * MIN, action.event, SYSTEM, action.data)
    assert render(event_text(event)) == ("not acknowledged: escalation step 3 to @oncall, @lead, "
                                         "@ceo, @comms-team (late by 15 min)")
    reminder = TimelineEvent(1, T0, EventKind.REMINDER_SENT, SYSTEM,
                             {"purpose": "approval", "draft": 2, "version": 3, "people": []})
    assert render(event_text(reminder)) == "reminded the channel to decide on draft #2 v3"


def test_default_timers_are_the_documented_ones() -> None:
    assert DEFAULT_TIMERS[Severity.SEV1] == Timers(5 * MIN, 30 * MIN, 10 * MIN)
    assert DEFAULT_TIMERS[Severity.SEV3].ack_timeout == 60 * MIN
    assert DEFAULT_TIMERS[Severity.SEV4] == Timers()


def test_a_tick_reads_every_incident_anything_may_still_be_due_for() -> None:
    """`watch_horizon` bounds what a tick reads; it must never leave out an incident that
    `watched` would keep, whatever the working days, time zone or archiving."""
    schedules = [Schedule(),
                 Schedule(working_days=frozenset({0}), timezone=ZoneInfo("Pacific/Kiritimati")),
                 Schedule(archive_after=timedelta(days=30), timezone=ZoneInfo("America/Anchorage")),
                 Schedule(working_days=frozenset({4}), review_grace=timedelta(days=1))]
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for schedule in schedules:
        for hours in range(0, 24 * 9, 5):
            resolved = start + timedelta(hours=hours)
            incident = Incident(1, "t", CrisisKind.DATA_BREACH, Severity.SEV2, Status.RESOLVED,
                                start, "local:a", resolved_at=resolved, space=Space("local", "c"))
            for days in range(0, 60):
                now = resolved + timedelta(days=days, hours=3)
                if watched(incident, schedule, now):
                    assert resolved >= now - watch_horizon(schedule), (schedule, resolved, now)
