"""The use cases, against the in-memory store."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime

import pytest

from bot.core.errors import CrisisError, Forbidden, Invalid, NotFound
from bot.core.models import (
    SYSTEM,
    Alert,
    AlertStatus,
    CrisisKind,
    DraftState,
    EventKind,
    NoticeKind,
    Severity,
    Status,
)
from bot.core.rules import DEFAULT_ROLES, Rules, severity_from_hint
from bot.core.service import Service
from bot.storage.memory import MemoryUnit
from tests.unit.support import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    MALLORY,
    START,
    FakeClock,
    World,
    make_world,
)


async def declared(world: World, actor: str = ALICE, **kw: object) -> int:
    return (await world.service.declare(actor, "Fake quote spreading", **kw)).number  # type: ignore[arg-type]


async def with_team(world: World) -> int:
    n = await declared(world)
    await world.service.assign(n, ALICE, BOB, "approver")
    await world.service.assign(n, ALICE, CAROL, "approver")
    await world.service.assign(n, ALICE, DAVE, "legal")
    return n


# -- declare / ack ---------------------------------------------------------------------------

async def test_declare(world: World, clock: FakeClock) -> None:
    incident = await world.service.declare(ALICE, "  Fake quote  ", severity=Severity.SEV2,
                                           kind=CrisisKind.DISINFORMATION)
    stored = await world.incident(incident.number)
    assert stored == incident
    assert (stored.number, stored.title, stored.severity, stored.kind) == (
        1, "Fake quote", Severity.SEV2, CrisisKind.DISINFORMATION)
    assert stored.status is Status.TRIGGERED
    assert stored.commander == ALICE
    assert (stored.created_at, stored.created_by) == (clock.now(), ALICE)
    [event] = await world.timeline(1)
    assert (event.kind, event.actor, event.at) == (EventKind.DECLARED, ALICE, clock.now())
    assert event.data == {"title": "Fake quote", "severity": "SEV2", "kind": "disinformation"}
    kinds = [(n.kind, n.person) for n in await world.pending()]
    assert kinds == [(NoticeKind.OPEN_SPACE, None), (NoticeKind.INVITE, ALICE),
                     (NoticeKind.SUMMARY, None)]


async def test_declare_defaults_and_numbering(world: World) -> None:
    first = await world.service.declare(ALICE, "one")
    second = await world.service.declare(BOB, "two", invite=[CAROL])
    assert (first.number, second.number) == (1, 2)
    assert first.severity is world.rules.default_severity
    assert first.kind is CrisisKind.OTHER
    invites = [n.person for n in await world.pending() if n.kind is NoticeKind.INVITE
               and n.incident == 2]
    assert invites == [BOB, CAROL]


async def test_declare_by_system_has_no_commander(world: World) -> None:
    incident = await world.service.declare(SYSTEM, "Alert storm")
    assert incident.roles == {}
    assert incident.commander is None
    assert not [n for n in await world.pending() if n.kind is NoticeKind.INVITE]


async def test_declare_needs_a_title(world: World) -> None:
    with pytest.raises(Invalid, match="title"):
        await world.service.declare(ALICE, "   ")
    async with world.store.unit() as unit:
        assert await unit.incidents() == []
        assert await unit.pending_notices(10) == []
    # the refused declare did not burn an incident number
    assert (await world.service.declare(ALICE, "real")).number == 1


async def test_ack_by_anyone_makes_commander_when_none(world: World, clock: FakeClock) -> None:
    n = await declared(world, SYSTEM)
    clock.advance(minutes=3)
    incident = await world.service.acknowledge(n, BOB)
    assert incident.status is Status.ACKNOWLEDGED
    assert incident.acknowledged_at == clock.now()
    assert incident.commander == BOB
    assert await world.incident(n) == incident
    events = [(e.kind, e.actor, e.at) for e in await world.timeline(n)][1:]
    assert events == [(EventKind.ACKNOWLEDGED, BOB, clock.now()),
                      (EventKind.ROLE_ASSIGNED, BOB, clock.now())]


async def test_ack_keeps_existing_commander(world: World) -> None:
    n = await declared(world)
    incident = await world.service.acknowledge(n, BOB)
    assert incident.commander == ALICE
    assert [e.kind for e in await world.timeline(n)] == [EventKind.DECLARED,
                                                         EventKind.ACKNOWLEDGED]


async def test_ack_twice_refused(world: World) -> None:
    n = await declared(world)
    await world.service.acknowledge(n, ALICE)
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="already acknowledged"):
        await world.service.acknowledge(n, BOB)
    assert await world.snapshot(n) == before


async def test_unknown_incident(world: World) -> None:
    with pytest.raises(NotFound, match="There is no incident INC-42"):
        await world.service.acknowledge(42, ALICE)


# -- roles -----------------------------------------------------------------------------------

async def test_assign_and_unassign(world: World, clock: FakeClock) -> None:
    n = await declared(world)
    clock.advance(seconds=30)
    incident = await world.service.assign(n, ALICE, BOB, "Approver")
    assert incident.roles == {"commander": [ALICE], "approver": [BOB]}
    assert (await world.incident(n)).roles == incident.roles
    event = (await world.timeline(n))[-1]
    assert (event.kind, event.actor, event.at, dict(event.data)) == (
        EventKind.ROLE_ASSIGNED, ALICE, clock.now(), {"person": BOB, "role": "approver"})
    assert any(x.kind is NoticeKind.INVITE and x.person == BOB for x in await world.pending())
    # BOB holds a role now, but only the commander gives and takes back roles
    with pytest.raises(Forbidden, match=re.escape("Only the commander gives and takes back "
                                                  "roles in INC-1; ask @alice.")):
        await world.service.assign(n, BOB, CAROL, "approver")
    with pytest.raises(Forbidden, match="Only the commander"):
        await world.service.assign(n, BOB, BOB, "approver", remove=True)
    await world.service.assign(n, ALICE, CAROL, "approver")
    incident = await world.service.assign(n, ALICE, BOB, "approver", remove=True)
    assert incident.roles == {"commander": [ALICE], "approver": [CAROL]}
    incident = await world.service.assign(n, ALICE, CAROL, "approver", remove=True)
    assert "approver" not in (await world.incident(n)).roles
    event = (await world.timeline(n))[-1]
    assert (event.kind, dict(event.data)) == (EventKind.ROLE_REMOVED,
                                              {"person": CAROL, "role": "approver"})


async def test_a_role_giver_cannot_make_themselves_commander() -> None:
    """With `[access] assign_roles = ["commander", "lead"]` a lead hands out roles, and may
    hand command to someone, but not seize it."""
    world = make_world(Rules(roles=(*DEFAULT_ROLES, "lead"),
                             assign_roles=frozenset({"commander", "lead"})))
    n = await declared(world)
    await world.service.assign(n, ALICE, BOB, "lead")
    with pytest.raises(Forbidden, match="Nobody gives themselves the role commander"):
        await world.service.assign(n, BOB, BOB, "commander")
    await world.service.assign(n, BOB, ALICE, "spokesperson")
    assert (await world.incident(n)).commander == ALICE


async def test_commander_replaces_commander(world: World) -> None:
    n = await declared(world)
    incident = await world.service.assign(n, ALICE, BOB, "commander")
    assert incident.holders("commander") == [BOB]
    assert incident.commander == BOB
    assert ALICE not in incident.responders


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda s, n: s.assign(n, ALICE, BOB, "janitor"), Invalid, "Unknown role"),
        (lambda s, n: s.assign(n, MALLORY, MALLORY, "approver"), Forbidden, "Only the commander"),
        (lambda s, n: s.assign(n, ALICE, ALICE, "commander", remove=True), Invalid,
         "keeps a commander: hand over command with “/crisis role <@person> commander”"),
        (lambda s, n: s.assign(n, ALICE, BOB, "legal", remove=True), Invalid, "is not legal"),
        (lambda s, n: s.assign(n, ALICE, ALICE, "commander"), Invalid, "already commander"),
        (lambda s, n: s.assign(n, ALICE, ALICE, "approver"), Forbidden,
         "Nobody gives themselves the role approver"),
        (lambda s, n: s.assign(n, ALICE, ALICE, "legal"), Forbidden,
         "Nobody gives themselves the role legal"),
    ],
)
async def test_assign_refusals_change_nothing(
    world: World, call: Callable[..., Awaitable[object]], error: type[CrisisError],
    fragment: str,
) -> None:
    n = await declared(world)
    before = await world.snapshot(n)
    with pytest.raises(error, match=fragment):
        await call(world.service, n)
    assert await world.snapshot(n) == before


# -- severity and status ---------------------------------------------------------------------

async def test_severity(world: World) -> None:
    n = await declared(world)
    incident = await world.service.set_severity(n, ALICE, Severity.SEV1)
    assert (await world.incident(n)).severity is Severity.SEV1 is incident.severity
    event = (await world.timeline(n))[-1]
    assert (event.kind, dict(event.data)) == (EventKind.SEVERITY_CHANGED,
                                              {"from": "SEV3", "to": "SEV1"})
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="already SEV1"):
        await world.service.set_severity(n, ALICE, Severity.SEV1)
    with pytest.raises(Forbidden):
        await world.service.set_severity(n, MALLORY, Severity.SEV2)
    assert await world.snapshot(n) == before


async def test_status_update_with_transition(world: World, clock: FakeClock) -> None:
    n = await declared(world)
    clock.advance(minutes=1)
    incident = await world.service.status_update(n, ALICE, "on it", Status.RESPONDING)
    assert incident.status is Status.RESPONDING
    assert incident.acknowledged_at == clock.now()  # skipping ack still stamps it
    events = (await world.timeline(n))[1:]
    assert [(e.kind, dict(e.data)) for e in events] == [
        (EventKind.STATUS_CHANGED, {"from": "triggered", "to": "responding"}),
        (EventKind.STATUS_UPDATE, {"text": "on it", "status": "responding"}),
    ]
    await world.service.status_update(n, ALICE, "calmer", Status.MONITORING)
    await world.service.status_update(n, ALICE, "worse again", Status.RESPONDING)
    incident = await world.service.status_update(n, ALICE, "plain update")
    assert incident.status is Status.RESPONDING
    assert (await world.incident(n)).status is Status.RESPONDING


async def test_illegal_status_move_refused(world: World) -> None:
    n = await declared(world)
    await world.service.acknowledge(n, ALICE)
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="can go to: monitoring, resolved, responding"):
        await world.service.status_update(n, ALICE, "x", Status.TRIGGERED)
    assert await world.snapshot(n) == before


async def test_status_update_to_resolved_keeps_resolved_at(world: World) -> None:
    n = await declared(world)
    incident = await world.service.status_update(n, ALICE, "", Status.RESOLVED)
    assert incident.status is Status.RESOLVED
    assert incident.resolved_at is not None
    assert (await world.incident(n)).resolved_at == incident.resolved_at


# -- resolve / reopen / notes ----------------------------------------------------------------

async def test_resolve_and_reopen(world: World, clock: FakeClock) -> None:
    n = await declared(world)
    clock.advance(hours=2)
    incident = await world.service.resolve(n, ALICE, "Retraction published")
    assert (incident.status, incident.resolved_at) == (Status.RESOLVED, clock.now())
    assert not (await world.incident(n)).is_open
    tail = [(e.kind, e.actor, e.at) for e in await world.timeline(n)][-2:]
    assert tail == [(EventKind.STATUS_CHANGED, ALICE, clock.now()),
                    (EventKind.RESOLVED, ALICE, clock.now())]
    before = await world.snapshot(n)
    for call in (lambda: world.service.resolve(n, ALICE),
                 lambda: world.service.status_update(n, ALICE, "x"),
                 lambda: world.service.assign(n, ALICE, BOB, "legal"),
                 lambda: world.service.post_draft(n, ALICE, "x")):
        with pytest.raises(Invalid, match="is resolved; reopen it first"):
            await call()
    assert await world.snapshot(n) == before
    clock.advance(minutes=5)
    incident = await world.service.reopen(n, ALICE)
    assert (incident.status, incident.resolved_at) == (Status.RESPONDING, None)
    assert (await world.timeline(n))[-1].kind is EventKind.REOPENED
    with pytest.raises(Invalid, match="is not resolved"):
        await world.service.reopen(n, ALICE)


async def test_resolve_and_reopen_need_a_responder(world: World) -> None:
    n = await declared(world)
    with pytest.raises(Forbidden):
        await world.service.resolve(n, MALLORY)
    await world.service.resolve(n, ALICE)
    with pytest.raises(Forbidden):
        await world.service.reopen(n, MALLORY)


async def test_notes(world: World, clock: FakeClock) -> None:
    n = await declared(world)
    clock.advance(seconds=10)
    await world.service.assign(n, ALICE, BOB, "monitor")
    await world.service.note(n, BOB, "Called the editor")
    await world.service.note(n, BOB, "Pinned msg", pinned=True)
    events = (await world.timeline(n))[-2:]
    assert [(e.kind, e.actor, e.at, e.data["text"]) for e in events] == [
        (EventKind.NOTE, BOB, clock.now(), "Called the editor"),
        (EventKind.MESSAGE_PINNED, BOB, clock.now(), "Pinned msg")]
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="needs some text"):
        await world.service.note(n, BOB, "  ")
    with pytest.raises(Forbidden, match="needs a role"):
        await world.service.note(n, MALLORY, "I was here", pinned=True)
    assert await world.snapshot(n) == before


# -- drafts ----------------------------------------------------------------------------------

async def test_post_and_revise_draft(world: World, clock: FakeClock) -> None:
    n = await with_team(world)
    draft = await world.service.post_draft(n, ALICE, " We are aware. ", target="@critic")
    assert (draft.number, draft.version, draft.target, draft.current.text) == (
        1, 1, "@critic", "We are aware.")
    second = await world.service.post_draft(n, BOB, "Another")
    assert second.number == 2
    clock.advance(minutes=1)
    revised = await world.service.revise(n, 1, ALICE, "We are aware and on it.")
    assert [v.text for v in revised.versions] == ["We are aware.", "We are aware and on it."]
    assert revised.current.created_at == clock.now()
    async with world.store.unit() as unit:
        assert await unit.get_draft(n, 1) == revised
    kinds = [e.kind for e in await world.timeline(n)][-3:]
    assert kinds == [EventKind.DRAFT_POSTED, EventKind.DRAFT_POSTED, EventKind.DRAFT_REVISED]


async def test_a_revision_written_on_an_older_version_is_refused(world: World) -> None:
    """Two people revise what they both saw as version 1: the second is refused in its own
    transaction, not laid over the first's words."""
    n = await with_team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.revise(n, 1, ALICE, "We are aware and on it.", version=1)
    before = await world.snapshot(n)
    with pytest.raises(CrisisError, match="version 2"):
        await world.service.revise(n, 1, BOB, "We know.", version=1)
    assert await world.snapshot(n) == before


async def test_draft_refusals(world: World) -> None:
    n = await with_team(world)
    await world.service.post_draft(n, BOB, "text")
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="needs some text"):
        await world.service.post_draft(n, ALICE, " ")
    with pytest.raises(Forbidden):
        await world.service.post_draft(n, MALLORY, "spam")
    with pytest.raises(Forbidden, match="Only the author, a spokesperson or the commander"):
        await world.service.revise(n, 1, CAROL, "mine now")
    with pytest.raises(NotFound, match="has no draft #9"):
        await world.service.revise(n, 9, ALICE, "x")
    with pytest.raises(NotFound, match="has no draft #9"):
        await world.service.decide(n, CAROL, approve=True, draft_number=9)
    assert await world.snapshot(n) == before


async def test_spokesperson_may_revise(world: World) -> None:
    n = await with_team(world)
    await world.service.assign(n, ALICE, MALLORY, "spokesperson")
    await world.service.post_draft(n, BOB, "text")
    assert (await world.service.revise(n, 1, MALLORY, "better")).version == 2


async def test_decide_by_number_and_latest_pending(world: World) -> None:
    n = await with_team(world)
    await world.service.post_draft(n, ALICE, "first")
    await world.service.post_draft(n, ALICE, "second")
    # no number: the latest pending draft
    assert (await world.service.decide(n, BOB, approve=True)).number == 2
    # now #1 is the only pending one
    assert (await world.service.decide(n, CAROL, approve=True)).number == 1
    with pytest.raises(NotFound, match="no draft waiting"):
        await world.service.decide(n, DAVE, approve=True)
    await world.service.post_draft(n, ALICE, "third")
    draft = await world.service.decide(n, DAVE, approve=False, draft_number=3, reason="No")
    assert (draft.number, draft.state) == (3, DraftState.REJECTED)


async def test_decide_by_message(world: World) -> None:
    n = await with_team(world)
    await world.service.post_draft(n, ALICE, "first")
    await world.delivery.flush()
    async with world.store.unit() as unit:
        v1_message = (await unit.get_draft(n, 1)).current.message  # type: ignore[union-attr]
    assert v1_message is not None
    await world.service.revise(n, 1, ALICE, "second")
    await world.delivery.flush()
    async with world.store.unit() as unit:
        v2_message = (await unit.get_draft(n, 1)).current.message  # type: ignore[union-attr]
    assert v2_message not in (None, v1_message)
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="old version of draft #1; decide on version 2"):
        await world.service.decide(n, BOB, approve=True, message=v1_message)
    with pytest.raises(NotFound, match="not a draft"):
        await world.service.decide(n, BOB, approve=True, message="nope")
    assert await world.snapshot(n) == before
    draft = await world.service.decide(n, BOB, approve=True, message=v2_message)
    assert draft.state is DraftState.APPROVED
    assert draft.decisions[-1].version == 2


async def test_every_change_is_on_the_timeline_with_actor_and_time(
    world: World, clock: FakeClock
) -> None:
    n = await declared(world)
    expected: list[tuple[EventKind, str | None]] = [(EventKind.DECLARED, ALICE)]

    async def step(call: Awaitable[object], *kinds: tuple[EventKind, str | None]) -> None:
        clock.advance(minutes=1)
        before = len(await world.timeline(n))
        await call
        events = (await world.timeline(n))[before:]
        assert [(e.kind, e.actor) for e in events] == list(kinds)
        assert all(e.at == clock.now() for e in events)
        expected.extend(kinds)

    await step(world.service.acknowledge(n, ALICE), (EventKind.ACKNOWLEDGED, ALICE))
    await step(world.service.assign(n, ALICE, BOB, "approver"), (EventKind.ROLE_ASSIGNED, ALICE))
    await step(world.service.set_severity(n, BOB, Severity.SEV4),
               (EventKind.SEVERITY_CHANGED, BOB))
    await step(world.service.status_update(n, BOB, "hi", Status.RESPONDING),
               (EventKind.STATUS_CHANGED, BOB), (EventKind.STATUS_UPDATE, BOB))
    await step(world.service.post_draft(n, ALICE, "v1"), (EventKind.DRAFT_POSTED, ALICE))
    await step(world.service.revise(n, 1, ALICE, "v2"), (EventKind.DRAFT_REVISED, ALICE))
    await step(world.service.decide(n, BOB, approve=True),
               (EventKind.DRAFT_APPROVAL, BOB), (EventKind.DRAFT_APPROVED, None))
    await step(world.service.post_draft(n, ALICE, "d2"), (EventKind.DRAFT_POSTED, ALICE))
    await step(world.service.decide(n, BOB, approve=False, reason="no"),
               (EventKind.DRAFT_REJECTED, BOB))
    await step(world.service.note(n, BOB, "n"), (EventKind.NOTE, BOB))
    await step(world.service.assign(n, ALICE, BOB, "approver", remove=True),
               (EventKind.ROLE_REMOVED, ALICE))
    await step(world.service.resolve(n, ALICE, "done"),
               (EventKind.STATUS_CHANGED, ALICE), (EventKind.RESOLVED, ALICE))
    await step(world.service.reopen(n, ALICE),
               (EventKind.STATUS_CHANGED, ALICE), (EventKind.REOPENED, ALICE))
    timeline = await world.timeline(n)
    assert [(e.kind, e.actor) for e in timeline] == expected
    assert [e.seq for e in timeline] == sorted(e.seq for e in timeline if e.seq is not None)
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)


# -- alerts ----------------------------------------------------------------------------------

def alert(dedup: str, group: str = "g1", *, status: AlertStatus = AlertStatus.FIRING,
          severity: str | None = None, title: str = "Spike of mentions") -> Alert:
    return Alert("generic", dedup, group, title, START, status=status,
                 severity=severity_from_hint(severity))


async def test_firing_alert_opens_incident(world: World) -> None:
    outcome = await world.service.handle_alert(alert("a1", severity="critical"))
    assert (outcome.incident, outcome.opened, outcome.duplicate) == (1, True, False)
    incident = await world.incident(1)
    assert (incident.severity, incident.group_key, incident.created_by) == (
        Severity.SEV1, "g1", SYSTEM)
    assert incident.commander is None
    assert incident.title == "Spike of mentions"
    assert [e.kind for e in await world.timeline(1)] == [EventKind.DECLARED,
                                                         EventKind.ALERT_ATTACHED]
    async with world.store.unit() as unit:
        [stored] = await unit.alerts(1)
    assert (stored.dedup_key, stored.incident) == ("a1", 1)


async def test_alert_without_severity_hint_uses_default(world: World) -> None:
    await world.service.handle_alert(alert("a1"))
    assert (await world.incident(1)).severity is world.rules.default_severity


async def test_alerts_group_into_the_open_incident(world: World) -> None:
    await world.service.handle_alert(alert("a1"))
    outcome = await world.service.handle_alert(alert("a2", severity="critical"))
    assert (outcome.incident, outcome.opened, outcome.duplicate) == (1, False, False)
    other = await world.service.handle_alert(alert("b1", group="g2"))
    assert (other.incident, other.opened) == (2, True)
    async with world.store.unit() as unit:
        assert [a.dedup_key for a in await unit.alerts(1)] == ["a1", "a2"]
        assert len(await unit.incidents()) == 2
    # The timeline tells the opening alert; the rest of a storm is told in digests.
    attached = [e for e in await world.timeline(1) if e.kind is EventKind.ALERT_ATTACHED]
    assert [e.data["title"] for e in attached] == [alert("a1").title]


async def test_digest_windows_are_read_only_when_a_digest_may_be_due(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[list[int]] = []
    real = MemoryUnit.digest_windows

    async def counted(unit: MemoryUnit, incidents: Collection[int]) -> dict[int, datetime]:
        reads.append(sorted(incidents))
        return await real(unit, incidents)

    monkeypatch.setattr(MemoryUnit, "digest_windows", counted)
    await world.service.handle_alert(alert("a0"))
    await world.service.handle_alert(alert("a1"))  # the first look at the window
    for n in range(5):  # a storm's batches: the window is known not to be due
        world.clock.advance(seconds=10)
        await world.service.handle_alert(alert(f"b{n}"))
    assert reads == [[1]]
    world.clock.advance(seconds=15)
    await world.service.handle_alert(alert("c"))  # may be due: read, and told
    assert reads == [[1], [1]]
    digests = [e for e in await world.timeline(1) if e.kind is EventKind.ALERTS_DIGEST]
    assert [e.data["count"] for e in digests] == [7]


async def test_a_digest_told_by_another_process_moves_this_ones_window(world: World) -> None:
    other = Service(world.store, world.clock, world.rules)  # a second replica, one store
    await world.service.handle_alert(alert("a0"))
    await world.service.handle_alert(alert("a1"))  # this process now holds the window's start
    world.clock.advance(seconds=61)
    await other.handle_alert(alert("a2"))  # the other one tells the digest
    world.clock.advance(seconds=2)
    await world.service.handle_alert(alert("a3"))  # looks due from here; it is not
    digests = [e for e in await world.timeline(1) if e.kind is EventKind.ALERTS_DIGEST]
    assert [e.data["count"] for e in digests] == [2]
    world.clock.advance(seconds=60)
    await world.service.handle_alert(alert("a4"))
    digests = [e for e in await world.timeline(1) if e.kind is EventKind.ALERTS_DIGEST]
    assert [e.data["count"] for e in digests] == [2, 2]


async def test_a_storm_is_told_in_digests_in_channel_and_timeline(world: World) -> None:
    await world.service.handle_alert(alert("a0"))
    for n in range(1, 4):
        world.clock.advance(seconds=25)
        await world.service.handle_alerts([alert(f"a{n}-{k}") for k in range(5)])
    digests = [e for e in await world.timeline(1) if e.kind is EventKind.ALERTS_DIGEST]
    # 75 s after opening: one digest for the first 15 alerts, at most one per minute.
    assert [(e.data["count"], e.data["distinct"]) for e in digests] == [(15, 15)]
    world.clock.advance(seconds=30)
    await world.service.handle_alerts([alert("late")])  # not due yet: waits for the minute
    assert await world.service.send_digests() == 0
    world.clock.advance(seconds=31)
    assert await world.service.send_digests() == 1  # a storm that stopped still gets told
    assert await world.service.send_digests() == 0
    digests = [e for e in await world.timeline(1) if e.kind is EventKind.ALERTS_DIGEST]
    assert [e.data["count"] for e in digests] == [15, 1]


async def test_duplicate_alert_stores_nothing(world: World) -> None:
    await world.service.handle_alert(alert("a1"))
    before = await world.snapshot(1)
    outcome = await world.service.handle_alert(alert("a1", group="other"))
    assert (outcome.incident, outcome.opened, outcome.duplicate) == (None, False, True)
    assert await world.snapshot(1) == before
    async with world.store.unit() as unit:
        assert len(await unit.incidents()) == 1
        assert len(await unit.alerts(1)) == 1


async def test_resolved_alert_with_no_open_incident_opens_nothing(world: World) -> None:
    outcome = await world.service.handle_alert(alert("r1", status=AlertStatus.RESOLVED))
    assert (outcome.incident, outcome.opened, outcome.duplicate) == (None, False, False)
    async with world.store.unit() as unit:
        assert await unit.incidents() == []
        assert await unit.pending_notices(10) == []


async def test_resolved_alert_attaches_to_open_incident(world: World) -> None:
    await world.service.handle_alert(alert("a1"))
    outcome = await world.service.handle_alert(alert("a1-ok", status=AlertStatus.RESOLVED))
    assert (outcome.incident, outcome.opened) == (1, False)
    assert (await world.incident(1)).is_open  # an alert clearing does not resolve the incident


async def test_after_resolve_a_new_firing_alert_opens_a_new_incident(world: World) -> None:
    await world.service.handle_alert(alert("a1"))
    await world.service.acknowledge(1, BOB)
    await world.service.resolve(1, BOB)
    outcome = await world.service.handle_alert(alert("a2"))
    assert (outcome.incident, outcome.opened) == (2, True)
    assert (await world.incident(1)).status is Status.RESOLVED
    assert (await world.incident(2)).group_key == "g1"
