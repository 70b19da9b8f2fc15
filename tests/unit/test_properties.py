"""Property-based tests: random histories never break the rules' invariants."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.core.errors import CrisisError
from bot.core.models import Draft, DraftState, EventKind, Severity, Status
from bot.core.rules import TRANSITIONS, ApprovalStep, Rules
from tests.unit.support import make_world, person

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# -- (1) status moves ------------------------------------------------------------------------

BOSS = person("boss")

status_ops = st.lists(
    st.tuples(st.sampled_from(["ack", "status", "resolve", "reopen"]), st.sampled_from(Status),
              st.integers(min_value=0, max_value=90)),
    max_size=25,
)


def expected_status(op: str, target: Status, current: Status) -> Status | None:
    """What a correct service does: the new status, or None when it must refuse."""
    is_open = current is not Status.RESOLVED
    if op == "ack":
        return Status.ACKNOWLEDGED if current is Status.TRIGGERED else None
    if op == "status":
        if not is_open:
            return None
        return target if target is current or target in TRANSITIONS[current] else None
    if op == "resolve":
        return Status.RESOLVED if is_open else None
    return Status.RESPONDING if not is_open else None  # reopen


@settings(SETTINGS, max_examples=75)
@given(ops=status_ops)
def test_status_moves_never_reach_an_illegal_state(ops: list[tuple[str, Status, int]]) -> None:
    asyncio.run(_status_moves(ops))


async def _status_moves(ops: list[tuple[str, Status, int]]) -> None:
    world = make_world()
    service = world.service
    n = (await service.declare(BOSS, "Outage")).number
    seen = [Status.TRIGGERED]
    for op, target, minutes in ops:
        world.clock.advance(minutes=minutes)
        before = await world.snapshot(n)
        timeline_before = await world.timeline(n)
        current = before[0].status
        try:
            if op == "ack":
                await service.acknowledge(n, BOSS)
            elif op == "status":
                await service.status_update(n, BOSS, "update", target)
            elif op == "resolve":
                await service.resolve(n, BOSS, "ok")
            else:
                await service.reopen(n, BOSS)
            accepted = True
        except CrisisError:
            accepted = False
        after = await world.incident(n)
        expected = expected_status(op, target, current)
        assert accepted == (expected is not None), (op, target, current)
        if accepted:
            assert after.status is expected
            if after.status is not current:
                assert after.status in TRANSITIONS[current]
                seen.append(after.status)
        else:
            assert await world.snapshot(n) == before
            assert await world.timeline(n) == timeline_before
        # invariants of every reachable state
        assert (after.resolved_at is not None) == (after.status is Status.RESOLVED)
        if after.resolved_at is not None:
            assert after.resolved_at <= world.clock.now()
        assert (after.acknowledged_at is None) == (after.status is Status.TRIGGERED)
        assert after.commander == BOSS
    # the timeline tells the same story, one legal step at a time
    told = [Status.TRIGGERED]
    for step in await world.timeline(n):
        if step.kind is EventKind.ACKNOWLEDGED:
            told.append(Status.ACKNOWLEDGED)
        elif step.kind is EventKind.STATUS_CHANGED:
            assert Status(step.data["from"]) is told[-1]
            assert Status(step.data["to"]) in TRANSITIONS[told[-1]]
            told.append(Status(step.data["to"]))
    assert told == seen
    events = await world.timeline(n)
    assert [e.at for e in events] == sorted(e.at for e in events)


# -- (2) approvals ---------------------------------------------------------------------------

ROLE_POOL = ("approver", "legal", "spokesperson", "support", "commander")
PEOPLE = tuple(person(f"p{i}") for i in range(5))
OUTSIDER = person("outsider")

roles_st = st.frozensets(st.sampled_from(ROLE_POOL), min_size=1, max_size=3)
step_st = st.builds(ApprovalStep, roles_st, st.integers(min_value=1, max_value=2))
policy_st = st.lists(step_st, min_size=1, max_size=2).map(tuple)
holdings_st = st.fixed_dictionaries(
    {p: st.frozensets(st.sampled_from(ROLE_POOL[:-1]), min_size=0 if p == PEOPLE[-1] else 1,
                      max_size=3)
     for p in (*PEOPLE, BOSS)})
AUTHOR = "the draft's author"
actor_st = st.sampled_from((*PEOPLE, BOSS, OUTSIDER, AUTHOR))
op_st = st.tuples(st.sampled_from(["approve"] * 4 + ["reject", "revise"]),
                  actor_st, st.sampled_from(["", "Legal risk"]), st.booleans())


@dataclass
class Model:
    """A reference model of one draft under one policy, written from the rules' wording."""

    policy: tuple[ApprovalStep, ...]
    veto: frozenset[str]
    roles: dict[str, frozenset[str]]
    author: str
    version_author: str
    state: DraftState = DraftState.PENDING
    version: int = 1
    slots: list[list[str]] = field(default_factory=list)
    decided: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.slots = [[] for _ in self.policy]

    def approve(self, who: str) -> bool:
        if self.state is not DraftState.PENDING or who in {self.author, self.version_author}:
            return False
        if who in self.decided:
            return False
        index = next(i for i, s in enumerate(self.policy) if len(self.slots[i]) < s.count)
        if not self.roles[who] & self.policy[index].roles:
            return False
        self.slots[index].append(who)
        self.decided.add(who)
        if all(len(self.slots[i]) >= s.count for i, s in enumerate(self.policy)):
            self.state = DraftState.APPROVED
        return True

    def reject(self, who: str, reason: str) -> bool:
        allowed = self.veto.union(*(s.roles for s in self.policy))
        if not reason.strip() or self.state is not DraftState.PENDING:
            return False
        if not self.roles[who] & allowed or who in self.decided:
            return False
        self.state = DraftState.REJECTED
        self.decided.add(who)
        return True

    def revise(self, who: str) -> bool:
        spokespeople = {p for p, r in self.roles.items() if "spokesperson" in r}
        if who not in {self.author, BOSS, *spokespeople} or self.state is DraftState.APPROVED:
            return False
        self.version += 1
        self.version_author = who
        self.state = DraftState.PENDING
        self.slots = [[] for _ in self.policy]
        self.decided = set()
        return True


def full_matching_exists(policy: tuple[ApprovalStep, ...], approvers: list[str],
                         roles: dict[str, frozenset[str]]) -> bool:
    """Can distinct approvers fill every step's count from holders of its roles?"""
    slots = [i for i, step in enumerate(policy) for _ in range(step.count)]
    match: dict[int, str] = {}

    def augment(who: str, seen: set[int]) -> bool:
        for slot, step in enumerate(slots):
            if slot in seen or not roles[who] & policy[step].roles:
                continue
            seen.add(slot)
            if slot not in match or augment(match[slot], seen):
                match[slot] = who
                return True
        return False

    for who in approvers:
        augment(who, set())
    return len(match) == len(slots)


def check_draft_invariants(draft: Draft, policy: tuple[ApprovalStep, ...],
                           roles: dict[str, frozenset[str]]) -> None:
    for decision in draft.decisions:
        if decision.approve:
            # the author (of the draft or of the version decided on) never approves
            assert decision.person != draft.author
            assert decision.person != draft.versions[decision.version - 1].author
    current = [d for d in draft.decisions_on(draft.version) if d.approve]
    people = [d.person for d in current]
    assert len(people) == len(set(people)), "someone counted twice for one version"
    for d in current:
        assert d.step is not None
        assert d.role is not None
        assert d.role in roles[d.person]
        assert d.role in policy[d.step].roles
    for index, step in enumerate(policy):
        assert sum(d.step == index for d in current) <= step.count
    approved = full_matching_exists(policy, people, roles)
    assert (draft.state is DraftState.APPROVED) == approved
    rejections = [d for d in draft.decisions_on(draft.version) if not d.approve]
    assert (draft.state is DraftState.REJECTED) == bool(rejections)
    assert len(rejections) <= 1
    for d in rejections:
        assert d.reason


@SETTINGS
@given(policy=policy_st, veto=st.frozensets(st.sampled_from(ROLE_POOL), max_size=2),
       holdings=holdings_st, author_index=st.integers(min_value=0, max_value=5),
       ops=st.lists(op_st, max_size=24))
def test_approval_policy_holds_under_random_decisions(
    policy: tuple[ApprovalStep, ...], veto: frozenset[str],
    holdings: dict[str, frozenset[str]], author_index: int,
    ops: list[tuple[str, str, str, bool]],
) -> None:
    asyncio.run(_approvals(policy, veto, holdings, author_index, ops))


async def _approvals(policy: tuple[ApprovalStep, ...], veto: frozenset[str],
                     holdings: dict[str, frozenset[str]], author_index: int,
                     ops: list[tuple[str, str, str, bool]]) -> None:
    rules = Rules(policies=dict.fromkeys(Severity, policy), veto_roles=veto)
    world = make_world(rules)
    service = world.service
    n = (await service.declare(BOSS, "Outage")).number
    for who, held in holdings.items():
        if who == BOSS:  # nobody gives themselves a deciding role: command, briefly elsewhere
            await service.assign(n, BOSS, OUTSIDER, "commander")
        giver = OUTSIDER if who == BOSS else BOSS
        for role in sorted(held):
            await service.assign(n, giver, who, role)
        if who == BOSS:
            await service.assign(n, OUTSIDER, BOSS, "commander")
    incident = await world.incident(n)
    roles = {p: frozenset(incident.roles_of(p)) for p in (*PEOPLE, BOSS, OUTSIDER)}
    assert roles[BOSS] >= {"commander"}
    candidates = [p for p in PEOPLE if roles[p]] + [BOSS]
    author = candidates[author_index % len(candidates)]
    await service.post_draft(n, author, "First words")
    model = Model(policy, veto, roles, author, author)

    for kind, actor, reason, by_number in ops:
        who = author if actor == AUTHOR else actor
        world.clock.advance(seconds=30)
        before = await world.snapshot(n)
        number = 1 if by_number else None
        try:
            if kind == "approve":
                await service.decide(n, who, approve=True, draft_number=number)
            elif kind == "reject":
                await service.decide(n, who, approve=False, draft_number=number, reason=reason)
            else:
                await service.revise(n, 1, who, f"Words v{model.version + 1}")
            accepted = True
        except CrisisError:
            accepted = False
        if kind == "approve":
            predicted = model.approve(who)
        elif kind == "reject":
            predicted = model.reject(who, reason)
        else:
            predicted = model.revise(who)
        assert accepted == predicted, (kind, who, reason)
        async with world.store.unit() as unit:
            draft = await unit.get_draft(n, 1)
        assert draft is not None
        if not accepted:
            assert await world.snapshot(n) == before
        assert (draft.state, draft.version, draft.current.author) == (
            model.state, model.version, model.version_author)
        check_draft_invariants(draft, policy, roles)
        event(f"{kind} {'accepted' if accepted else 'refused'}")
        event(f"state {draft.state.value}")
