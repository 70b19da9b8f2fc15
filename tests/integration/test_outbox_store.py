"""The outbox's store calls on every store: claims keep each queue's order (an incident's, a
chat's answers), answers first, leases hold and are renewed, retries wait, releases give back,
a chat's sending slots are booked once, inbound event ids are seen once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.models import (
    Answer,
    CrisisKind,
    Incident,
    Notice,
    NoticeKind,
    Question,
    Severity,
    Status,
)
from bot.core.sending import SendRate
from bot.core.store import Store
from bot.core.text import _

NOW = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)
LEASE = NOW + timedelta(minutes=2)


async def _queue(store: Store) -> list[Notice]:
    notices = []
    async with store.unit() as unit:
        for number in (1, 2):
            await unit.add_incident(Incident(number, "t", CrisisKind.OTHER, Severity.SEV3,
                                             Status.TRIGGERED, NOW, "local:bob"))
        for incident in (1, 2, 1, 2, 1):
            notice = Notice(incident, NoticeKind.SUMMARY, NOW)
            await unit.enqueue(notice)
            notices.append(notice)
    return notices


async def test_claims_keep_incident_order_across_leases_and_retries(store: Store) -> None:
    n = await _queue(store)
    async with store.unit() as unit:
        first = await unit.claim_notices(NOW, LEASE, 2)
    assert [x.id for x in first] == [n[0].id, n[1].id]
    assert {x.attempts for x in first} == {1}
    async with store.unit() as unit:  # the rest: their incidents' heads are leased
        assert await unit.claim_notices(NOW, LEASE, 10) == []
        await unit.notice_done(n[0].id, "1714737600.000100")
        await unit.notice_retry(n[1].id, NOW + timedelta(seconds=30), "ratelimited")
    async with store.unit() as unit:  # INC-1 moves on; INC-2 waits behind its retry
        assert [x.id for x in await unit.claim_notices(NOW, LEASE, 10)] == [n[2].id, n[4].id]
        await unit.notice_done(n[2].id)
        await unit.release_notices([n[4].id])
    async with store.unit() as unit:  # released: claimable again, the attempt not counted
        again = await unit.claim_notices(NOW, LEASE, 10)
    assert [(x.id, x.attempts) for x in again] == [(n[4].id, 1)]
    async with store.unit() as unit:
        later = await unit.claim_notices(NOW + timedelta(seconds=30), LEASE, 10)
    assert [(x.id, x.attempts) for x in later] == [(n[1].id, 2), (n[3].id, 1)]


def _answer(chat: str, n: int) -> Notice:
    return Notice(None, NoticeKind.ANSWER, NOW,
                  answer=Answer("telegram", chat, (_("answer {n}", n=n),), reply_to=str(n)))


async def test_answers_come_first_in_order_per_chat_past_a_held_queue(store: Store) -> None:
    routine = await _queue(store)
    answers = [_answer(chat, n) for n, chat in enumerate(["-100", "-100", "7", "-100"])]
    async with store.unit() as unit:
        for notice in answers:
            await unit.enqueue(notice)
        first = await unit.claim_notices(NOW, LEASE, 1)
    assert [x.id for x in first] == [answers[0].id]
    assert first[0].answer == answers[0].answer  # stored and read back whole
    async with store.unit() as unit:  # "-100" is held by its first answer: "7" goes next,
        # then the routine notices, none of them behind the held queue
        taken = await unit.claim_notices(NOW, LEASE, 10)
    assert [x.id for x in taken] == [answers[2].id, *(x.id for x in routine)]
    async with store.unit() as unit:
        await unit.notice_done(answers[0].id, "501")
        rest = await unit.claim_notices(NOW, LEASE, 10)
    assert [x.id for x in rest] == [answers[1].id, answers[3].id]


async def test_a_renewed_lease_is_not_claimed_again(store: Store) -> None:
    n = await _queue(store)
    async with store.unit() as unit:
        held = await unit.claim_notices(NOW, LEASE, 1)
        await unit.extend_notices([held[0].id], LEASE + timedelta(minutes=2))
    async with store.unit() as unit:
        assert [x.id for x in await unit.claim_notices(LEASE, LEASE, 10)] == [n[1].id, n[3].id]


async def test_sending_slots_are_booked_once_and_stamped_on_return(store: Store) -> None:
    rate = SendRate(gap=1.0, burst=3, window=60.0)
    slots = []
    for now in (100.0, 100.0, 100.0, 100.0):
        async with store.unit() as unit:
            slots.append(await unit.reserve_send("telegram:-100", now, rate))
    assert slots == [100.0, 101.0, 102.0, 160.0]  # the fourth waits for the window
    async with store.unit() as unit:
        await unit.sent("telegram:-100", 160.0, 160.5)  # answered half a second later
        assert await unit.reserve_send("telegram:-100", 100.0, rate) == 161.5
        assert await unit.reserve_send("telegram:42", 100.0, rate) == 100.0  # another chat


async def test_an_expired_lease_is_claimed_again(store: Store) -> None:
    n = await _queue(store)
    async with store.unit() as unit:
        await unit.claim_notices(NOW, NOW + timedelta(seconds=5), 10)
    async with store.unit() as unit:
        assert await unit.claim_notices(NOW + timedelta(seconds=4), LEASE, 10) == []
    async with store.unit() as unit:
        taken = await unit.claim_notices(NOW + timedelta(seconds=5), LEASE, 10)
    assert [x.id for x in taken] == [x.id for x in n]
    assert {x.attempts for x in taken} == {2}


async def test_forget_keeps_recent_ones(store: Store) -> None:
    async with store.unit() as unit:
        assert await unit.first_sight("slack:old", NOW - timedelta(days=3))
        assert await unit.first_sight("slack:new", NOW)
    async with store.unit() as unit:
        assert await unit.forget(NOW - timedelta(days=2)) == 1
    async with store.unit() as unit:
        assert await unit.first_sight("slack:old", NOW)  # forgotten: new again
        assert not await unit.first_sight("slack:new", NOW)


async def test_first_sight(store: Store) -> None:
    async with store.unit() as unit:
        assert await unit.first_sight("slack:Ev1", NOW)
        assert not await unit.first_sight("slack:Ev1", NOW)
    async with store.unit() as unit:
        assert not await unit.first_sight("slack:Ev1", NOW)
        assert await unit.first_sight("slack:Ev2", NOW)


async def test_questions_wait_for_their_answer_then_go(store: Store) -> None:
    old = Question("telegram", "-100", "7", "reject", 1, 1, 1, "telegram:105",
                   NOW - timedelta(days=3))
    new = Question("telegram", "-100", "8", "revise", 1, 1, 2, "telegram:101", NOW)
    async with store.unit() as unit:
        await unit.add_incident(Incident(1, "t", CrisisKind.OTHER, Severity.SEV3,
                                         Status.TRIGGERED, NOW, "local:bob"))
        await unit.ask(old)
        await unit.ask(new)
    async with store.unit() as unit:
        assert await unit.question("telegram", "-100", "8") == new
        assert await unit.question("telegram", "-100", "9") is None
        assert await unit.forget(NOW - timedelta(days=2)) == 1  # the stale question
        assert await unit.question("telegram", "-100", "7") is None
        await unit.answered(new)
    async with store.unit() as unit:
        assert await unit.question("telegram", "-100", "8") is None
