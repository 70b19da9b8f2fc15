"""What adapters ask of the service besides commands: platform events seen once, people,
questions answered with the decision they carry, the console's insights."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.errors import Forbidden, Invalid
from bot.core.models import DraftState, KnownPerson, Question
from bot.core.rules import Rules
from bot.storage.memory import MemoryUnit
from tests.unit.support import ALICE, BOB, MALLORY, FakeClock, World, make_world


async def test_a_platform_event_is_seen_once_and_its_job_stored_once(world: World) -> None:
    job = ("slack", "slack.reaction", {"reaction": "+1"})
    assert await world.service.first_sight("slack:Ev1", job)
    assert not await world.service.first_sight("slack:Ev1", job)
    assert await world.service.first_sight("slack:Ev2")
    async with world.store.unit() as unit:
        claimed = await unit.claim_inbound(world.clock.now(), world.clock.now(), 10)
    assert [(j.kind, j.payload, j.received_at) for j in claimed] == [
        ("slack.reaction", {"reaction": "+1"}, world.clock.now())]


async def test_people_are_remembered_and_found_by_username(world: World) -> None:
    ann = KnownPerson("telegram:7", "Ann", "ann")
    await world.service.remember_people([ann, KnownPerson("slack:U1", "Uma")])
    assert await world.service.person_by_username("telegram", "ann") == "telegram:7"
    assert await world.service.person_by_username("telegram", "nobody") is None
    assert await world.service.known_people("telegram") == [ann]


async def carded(world: World) -> tuple[int, str]:
    """An incident with Bob its approver and Alice's draft #1 posted: its number and the card."""
    n = (await world.service.declare(ALICE, "Fake quote")).number
    await world.service.assign(n, ALICE, BOB, "approver")
    await world.service.post_draft(n, ALICE, "We are aware.")
    await world.delivery.flush()
    card = (await world.service.load(n))[1][0].current.message
    assert card is not None
    return n, card


async def test_a_reaction_on_a_card_approves_or_wants_the_reason(world: World) -> None:
    """The rule Slack's and Telegram's reactions follow: ✅ approves the card's version; ❌
    decides nothing and returns the draft whose reason to ask for, once rejecting it would be
    allowed; other emoji, and other messages, do nothing."""
    n, card = await carded(world)
    before = await world.snapshot(n)
    assert await world.service.react(n, BOB, card, ["🎉"]) is None
    assert await world.service.react(n, BOB, "not-a-card", ["❌"]) is None
    wanted = await world.service.react(n, BOB, card, ["🎉", "👎", "✅"])  # the first decision
    assert wanted is not None
    assert (wanted.number, wanted.version) == (1, 1)
    with pytest.raises(Forbidden):  # refused now, not after the reason is given
        await world.service.react(n, MALLORY, card, ["❌"])
    assert await world.snapshot(n) == before
    assert await world.service.react(n, BOB, card, ["✅"]) is None
    [decision] = (await world.service.load(n))[1][0].decisions
    assert (decision.person, decision.approve, decision.version) == (BOB, True, 1)


async def test_a_reaction_on_an_older_cards_version_decides_nothing(world: World) -> None:
    """❌ under version 1's card once version 2 is out: refused as its ✅ is, not asked for a
    reason that would reject version 2, which the reactor never saw."""
    n, old = await carded(world)
    await world.service.revise(n, 1, ALICE, "We are aware and fixing it.")
    await world.delivery.flush()
    before = await world.snapshot(n)
    for reaction in ("❌", "✅"):
        with pytest.raises(Invalid, match="That is an old version of draft #1; decide on "
                                          "version 2"):
            await world.service.react(n, BOB, old, [reaction])
    assert await world.snapshot(n) == before


async def asked(world: World, person: str, kind: str = "reject") -> Question:
    n = (await world.service.declare(ALICE, "Fake quote")).number
    await world.service.assign(n, ALICE, BOB, "approver")
    draft = await world.service.post_draft(n, ALICE, "We are aware.")
    question = Question("telegram", "-100", "42", kind, n, draft.number, draft.version, person,
                        world.clock.now())
    async with world.store.unit() as unit:
        await unit.ask(question)
    return question


async def waiting(world: World, question: Question) -> Question | None:
    async with world.store.unit() as unit:
        return await unit.question(question.platform, question.chat, question.message)


async def test_a_reply_answers_the_question_in_the_unit_of_its_decision(world: World) -> None:
    question = await asked(world, BOB)
    assert not await world.service.answer_question("telegram", "-100", "42", ALICE, "no")
    assert await waiting(world, question) == question  # someone else's reply answers nothing
    assert await world.service.answer_question("telegram", "-100", "42", BOB, "Too vague")
    draft = (await world.service.load(question.incident))[1][0]
    assert draft.state is DraftState.REJECTED
    assert await waiting(world, question) is None


async def test_a_refused_answer_leaves_the_question_waiting(world: World) -> None:
    question = await asked(world, MALLORY, kind="revise")
    with pytest.raises(Forbidden):
        await world.service.answer_question("telegram", "-100", "42", MALLORY, "mine now")
    assert await waiting(world, question) == question
    assert [d.version for d in (await world.service.load(question.incident))[1]] == [1]


async def test_the_decision_and_the_answer_commit_together(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    question = await asked(world, BOB)

    async def failing(self: MemoryUnit, _question: Question) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(MemoryUnit, "answered", failing)
    with pytest.raises(RuntimeError):
        await world.service.answer_question("telegram", "-100", "42", BOB, "Too vague")
    monkeypatch.undo()
    assert (await world.service.load(question.incident))[1][0].state is DraftState.PENDING
    assert await waiting(world, question) == question


async def test_a_bound_person_answers_under_either_id() -> None:
    world = make_world(Rules(people={"telegram:7": BOB}))
    question = await asked(world, "telegram:7")
    assert await world.service.answer_question("telegram", "-100", "42", "telegram:7", "No")
    assert await waiting(world, question) is None


async def test_weekly_insights_end_now(world: World, clock: FakeClock) -> None:
    await world.service.declare(ALICE, "Old")
    clock.advance(weeks=3)
    await world.service.declare(ALICE, "New")
    clock.advance(minutes=1)
    found = await world.service.weekly_insights(2)
    assert world.service.now() == clock.now() == found.until
    assert (found.since, sum(w.incidents for w in found.weeks)) == (
        clock.now() - timedelta(weeks=2), 1)
