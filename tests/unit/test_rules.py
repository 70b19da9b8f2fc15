"""Status transitions and the approval policy."""

from __future__ import annotations

import itertools
import re

import pytest

from bot.core import commands as cmd
from bot.core.errors import Forbidden, Invalid
from bot.core.models import (
    Alert,
    CrisisKind,
    Draft,
    DraftState,
    DraftVersion,
    EventKind,
    NoticeKind,
    Severity,
    Status,
)
from bot.core.rules import (
    TRANSITIONS,
    ApprovalStep,
    Rules,
    alert_severity,
    check_revisable,
    check_transition,
    kind_from_hint,
    severity_from_hint,
)
from tests.unit.support import ALICE, BOB, CAROL, DAVE, ERIN, MALLORY, START, World, make_world

LEGAL_MOVES = {
    (Status.TRIGGERED, Status.ACKNOWLEDGED),
    (Status.TRIGGERED, Status.RESPONDING),
    (Status.TRIGGERED, Status.MONITORING),
    (Status.TRIGGERED, Status.RESOLVED),
    (Status.ACKNOWLEDGED, Status.RESPONDING),
    (Status.ACKNOWLEDGED, Status.MONITORING),
    (Status.ACKNOWLEDGED, Status.RESOLVED),
    (Status.RESPONDING, Status.MONITORING),
    (Status.RESPONDING, Status.RESOLVED),
    (Status.MONITORING, Status.RESPONDING),
    (Status.MONITORING, Status.RESOLVED),
    (Status.RESOLVED, Status.RESPONDING),
}


def test_transition_table_is_the_documented_one() -> None:
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL_MOVES
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL_MOVES))
def test_legal_transitions_pass(current: Status, target: Status) -> None:
    check_transition(current, target)


ILLEGAL = sorted(set(itertools.product(Status, Status)) - LEGAL_MOVES)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transitions_name_the_allowed_moves(current: Status, target: Status) -> None:
    with pytest.raises(Invalid) as caught:
        check_transition(current, target)
    message = str(caught.value)
    assert f"Cannot go from {current.value} to {target.value}" in message
    allowed = message.split("can go to:")[1]
    for status in Status:
        assert (status.value in allowed) == (status in TRANSITIONS[current])


def test_nothing_returns_to_triggered() -> None:
    assert all(Status.TRIGGERED not in targets for targets in TRANSITIONS.values())


def test_approval_step_needs_roles_and_positive_count() -> None:
    with pytest.raises(ValueError, match="at least one role"):
        ApprovalStep(frozenset(), 1)
    with pytest.raises(ValueError, match="count of 1"):
        ApprovalStep(frozenset({"approver"}), 0)


def test_check_role() -> None:
    rules = Rules()
    assert rules.check_role(" Legal ") == "legal"
    message = re.escape("Unknown role “janitor”. Roles: commander, spokesperson")
    with pytest.raises(Invalid, match=message):
        rules.check_role("janitor")


@pytest.mark.parametrize("role", ["z" * 3000, "é\u202e" * 50, "ja\x00nitor"])
def test_an_unknown_role_is_quoted_short_and_printable(role: str) -> None:
    with pytest.raises(Invalid) as caught:
        Rules().check_role(role)
    message = str(caught.value)
    assert len(message) < 300, message
    assert message.isprintable(), message


@pytest.mark.parametrize(
    ("hint", "severity"),
    [
        ("critical", Severity.SEV1), ("page", Severity.SEV1), ("High", Severity.SEV2),
        ("error", Severity.SEV2), ("warning", Severity.SEV3), ("minor", Severity.SEV4),
        ("info", Severity.SEV4), ("sev2", Severity.SEV2), (" SEV1 ", Severity.SEV1),
        ("bogus", None), ("", None), (None, None),
    ],
)
def test_severity_from_hint(hint: str | None, severity: Severity | None) -> None:
    assert severity_from_hint(hint) is severity


def test_kind_from_hint() -> None:
    assert kind_from_hint("Data-Breach") is CrisisKind.DATA_BREACH
    assert kind_from_hint("service outage") is CrisisKind.SERVICE_OUTAGE
    assert kind_from_hint("meteor") is None
    assert kind_from_hint(None) is None


def test_alert_severity_takes_the_most_severe_hint() -> None:
    def alert(sev: Severity | None) -> Alert:
        return Alert("generic", "d", "g", "t", START, severity=sev)

    assert alert_severity([alert(Severity.SEV3), alert(Severity.SEV1), alert(None)],
                          Severity.SEV4) is Severity.SEV1
    assert alert_severity([alert(None)], Severity.SEV4) is Severity.SEV4
    assert alert_severity([], Severity.SEV2) is Severity.SEV2


@pytest.mark.parametrize("state", list(DraftState))
def test_only_an_approved_draft_not_yet_published_is_final(state: DraftState) -> None:
    draft = Draft(1, 1, ALICE, START, [DraftVersion(1, "text", ALICE, START)], state=state)
    check_revisable(draft, published=True)  # a correction of what went out
    if state is DraftState.APPROVED:
        with pytest.raises(Invalid, match="already approved"):
            check_revisable(draft, published=False)
    else:
        check_revisable(draft, published=False)


# -- approval policy, through the service (the rules as the team meets them) -----------------

TWO_STEP = Rules(policies={s: (ApprovalStep(frozenset({"approver"}), 1),
                               ApprovalStep(frozenset({"legal"}), 1)) for s in Severity})


async def team(world: World, severity: Severity = Severity.SEV3) -> int:
    """ALICE commands; BOB and CAROL approve; DAVE is legal; ERIN is support."""
    incident = await world.service.declare(ALICE, "Fake quote", severity=severity)
    n = incident.number
    for who, role in [(BOB, "approver"), (CAROL, "approver"), (DAVE, "legal"),
                      (ERIN, "support")]:
        await world.service.assign(n, ALICE, who, role)
    return n


async def test_single_approval_from_approver_approves() -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    draft = await world.service.decide(n, BOB, approve=True)
    assert draft.state is DraftState.APPROVED
    assert [(d.person, d.role, d.step) for d in draft.decisions] == [(BOB, "approver", 0)]


async def test_sev1_needs_two_distinct_approvers() -> None:
    world = make_world()
    n = await team(world, Severity.SEV1)
    await world.service.post_draft(n, ALICE, "We are aware.")
    assert (await world.service.decide(n, BOB, approve=True)).state is DraftState.PENDING
    with pytest.raises(Forbidden, match="already decided on version 1"):
        await world.service.decide(n, BOB, approve=True, draft_number=1)
    assert (await world.service.decide(n, CAROL, approve=True)).state is DraftState.APPROVED


@pytest.mark.parametrize("who", [ERIN, DAVE, MALLORY])
async def test_approval_only_from_holders_of_the_step_roles(who: str) -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    with pytest.raises(Forbidden, match="Approving needs the role approver"):
        await world.service.decide(n, who, approve=True)


async def test_author_cannot_approve_even_holding_the_role() -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, BOB, "We are aware.")  # BOB is an approver
    with pytest.raises(Forbidden, match="You wrote this draft"):
        await world.service.decide(n, BOB, approve=True)


async def test_original_author_cannot_approve_a_revision_by_someone_else() -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, BOB, "We are aware.")
    await world.service.revise(n, 1, ALICE, "We are aware and on it.")  # commander revises
    for author in (BOB, ALICE):
        with pytest.raises(Forbidden, match="You wrote this draft"):
            await world.service.decide(n, author, approve=True)
    assert (await world.service.decide(n, CAROL, approve=True)).state is DraftState.APPROVED


async def test_multi_step_policy_counts_in_order() -> None:
    world = make_world(TWO_STEP)
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    # legal cannot jump the queue: step 1 wants an approver first
    with pytest.raises(Forbidden, match="Approving needs the role approver"):
        await world.service.decide(n, DAVE, approve=True)
    draft = await world.service.decide(n, BOB, approve=True)
    assert draft.state is DraftState.PENDING
    # step 1 is done; a second approver does not count toward step 2
    with pytest.raises(Forbidden, match="Approving needs the role legal"):
        await world.service.decide(n, CAROL, approve=True)
    draft = await world.service.decide(n, DAVE, approve=True)
    assert draft.state is DraftState.APPROVED
    assert [(d.person, d.step, d.role) for d in draft.decisions] == [
        (BOB, 0, "approver"), (DAVE, 1, "legal")]
    progress = world.rules.progress(await world.incident(n), draft)
    assert [p.approvers for p in progress] == [(BOB,), (DAVE,)]


async def test_one_person_holding_both_roles_counts_once() -> None:
    world = make_world(TWO_STEP)
    n = await team(world)
    await world.service.assign(n, ALICE, BOB, "legal")  # BOB: approver + legal
    await world.service.post_draft(n, ALICE, "We are aware.")
    assert (await world.service.decide(n, BOB, approve=True)).state is DraftState.PENDING
    with pytest.raises(Forbidden, match="already decided"):
        await world.service.decide(n, BOB, approve=True)
    assert (await world.service.decide(n, DAVE, approve=True)).state is DraftState.APPROVED


@pytest.mark.parametrize(("who", "role"), [(BOB, "approver"), (DAVE, "legal")])
async def test_rejection_by_approver_or_veto_role(who: str, role: str) -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    draft = await world.service.decide(n, who, approve=False, reason="Too vague")
    assert draft.state is DraftState.REJECTED
    assert (draft.decisions[-1].role, draft.decisions[-1].reason) == (role, "Too vague")


@pytest.mark.parametrize("who", [ERIN, MALLORY, ALICE])
async def test_rejection_refused_for_others(who: str) -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, BOB, "We are aware.")
    with pytest.raises(Forbidden, match="Rejecting needs the role approver or legal"):
        await world.service.decide(n, who, approve=False, reason="no")


async def test_an_approver_cannot_reject_what_they_approved() -> None:
    world = make_world()
    n = await team(world, Severity.SEV1)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.decide(n, BOB, approve=True)
    before = await world.snapshot(n)
    with pytest.raises(Forbidden, match="already decided on version 1"):
        await world.service.decide(n, BOB, approve=False, reason="second thoughts")
    assert await world.snapshot(n) == before


@pytest.mark.parametrize("reason", ["", "   "])
async def test_rejection_needs_a_reason(reason: str) -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="Say why"):
        await world.service.decide(n, BOB, approve=False, reason=reason)
    assert await world.snapshot(n) == before


async def test_rejected_draft_blocks_until_revised_and_revision_resets() -> None:
    world = make_world(Rules(policies={s: (ApprovalStep(frozenset({"approver"}), 2),)
                                       for s in Severity}))
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.decide(n, BOB, approve=True)
    await world.service.decide(n, DAVE, approve=False, reason="Legal risk")
    for approve in (True, False):
        with pytest.raises(Invalid, match="was rejected; revise it"):
            await world.service.decide(n, CAROL, approve=approve, draft_number=1,
                                       reason="x")
    draft = await world.service.revise(n, 1, ALICE, "We are aware; more soon.")
    assert (draft.state, draft.version) == (DraftState.PENDING, 2)
    assert world.rules.progress(await world.incident(n), draft)[0].approvers == ()
    # BOB's v1 approval no longer counts, and BOB may decide again on v2
    draft = await world.service.decide(n, BOB, approve=True, draft_number=1)
    assert draft.state is DraftState.PENDING
    draft = await world.service.decide(n, CAROL, approve=True, draft_number=1)
    assert draft.state is DraftState.APPROVED
    assert [d.person for d in draft.decisions_on(2)] == [BOB, CAROL]


async def test_revision_of_pending_draft_resets_approvals() -> None:
    world = make_world(Rules(policies={s: (ApprovalStep(frozenset({"approver"}), 2),)
                                       for s in Severity}))
    n = await team(world)
    await world.service.post_draft(n, ALICE, "v1")
    await world.service.decide(n, BOB, approve=True)
    await world.service.revise(n, 1, ALICE, "v2")
    draft = await world.service.decide(n, CAROL, approve=True)
    # one approval of v2 only: BOB's approval of v1 must not complete the policy
    assert draft.state is DraftState.PENDING


async def test_approving_an_approved_draft_is_refused() -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.decide(n, BOB, approve=True)
    before = await world.snapshot(n)
    with pytest.raises(Invalid, match="already approved and ready to publish"):
        await world.service.decide(n, CAROL, approve=True, draft_number=1)
    with pytest.raises(Invalid, match="already approved"):
        await world.service.decide(n, DAVE, approve=False, draft_number=1, reason="late")
    assert await world.snapshot(n) == before


async def test_approved_draft_cannot_be_revised() -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.decide(n, BOB, approve=True)
    with pytest.raises(Invalid, match="post a new draft instead"):
        await world.service.revise(n, 1, ALICE, "changed")


async def test_approval_events_on_timeline() -> None:
    world = make_world(TWO_STEP)
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.decide(n, BOB, approve=True)
    await world.service.decide(n, DAVE, approve=True)
    events = [e for e in await world.timeline(n) if e.kind in (
        EventKind.DRAFT_APPROVAL, EventKind.DRAFT_APPROVED)]
    assert [(e.kind, e.actor, e.data.get("role")) for e in events] == [
        (EventKind.DRAFT_APPROVAL, BOB, "approver"),
        (EventKind.DRAFT_APPROVAL, DAVE, "legal"),
        (EventKind.DRAFT_APPROVED, None, "legal"),
    ]
    assert events[-1].data["approvers"] == [BOB, DAVE]


async def test_check_card_refuses_what_the_use_case_would_refuse() -> None:
    world = make_world()
    n = await team(world)
    await world.service.post_draft(n, ALICE, "We are aware.")
    check = world.service.check_card
    await check(n, BOB, 1, 1, cmd.Reject)  # an approver may
    await check(n, ALICE, 1, 1, cmd.ReviseDraft)  # and the author may revise
    with pytest.raises(Invalid, match="old version of draft #1; decide on version 1"):
        await check(n, BOB, 1, 0, cmd.ReviseDraft)
    with pytest.raises(Forbidden, match="Rejecting needs the role"):
        await check(n, MALLORY, 1, 1, cmd.Reject)
    with pytest.raises(Forbidden, match="Only the author, a spokesperson or the commander"):
        await check(n, BOB, 1, 1, cmd.ReviseDraft)
    with pytest.raises(Forbidden, match="needs a role"):
        await check(n, MALLORY, 1, 1, cmd.ReviseDraft)
    await world.service.decide(n, BOB, approve=True)  # SEV3: one approval approves it
    with pytest.raises(Invalid, match="already approved; post a new draft instead"):
        await check(n, ALICE, 1, 1, cmd.ReviseDraft)  # final until published: no text asked
    await world.service.resolve(n, ALICE)
    with pytest.raises(Invalid, match="is resolved"):
        await check(n, BOB, 1, 1, cmd.Reject)


async def test_an_approval_stops_counting_when_its_role_is_taken_back() -> None:
    """Taking the role back takes back the power to approve what is still pending: the
    commander removing a compromised or departed approver must not leave their approval
    standing. A draft already approved stays approved."""
    world = make_world()
    n = await team(world, Severity.SEV1)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.decide(n, BOB, approve=True)
    before = len(await world.pending())
    await world.service.assign(n, ALICE, BOB, "approver", remove=True)
    cards = [x for x in (await world.pending())[before:] if x.kind is NoticeKind.DRAFT]
    assert [(x.draft, x.version) for x in cards] == [(1, 1)]  # its progress is redrawn
    assert (await world.service.decide(n, CAROL, approve=True)).state is DraftState.PENDING
    await world.service.assign(n, ALICE, ERIN, "approver")
    assert (await world.service.decide(n, ERIN, approve=True)).state is DraftState.APPROVED
    await world.service.assign(n, ALICE, CAROL, "approver", remove=True)
    draft = (await world.service.load(n))[1][0]
    assert draft.state is DraftState.APPROVED


async def test_lowering_the_severity_approves_a_draft_that_now_has_enough() -> None:
    """SEV1 wants two approvals, SEV3 one: a draft with one approval, when the incident
    drops to SEV3, is approved then and there, not stranded as pending with nobody able to
    approve it ("already has every approval it needs") nor to publish it."""
    world = make_world()
    n = await team(world, Severity.SEV1)
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.service.decide(n, BOB, approve=True)
    await world.service.set_severity(n, ALICE, Severity.SEV3)
    draft = (await world.service.load(n))[1][0]
    assert draft.state is DraftState.APPROVED
    approved = [e for e in await world.timeline(n) if e.kind is EventKind.DRAFT_APPROVED]
    assert [e.data["approvers"] for e in approved] == [[BOB]]
