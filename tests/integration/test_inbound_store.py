"""Stored inbound work (see `InboundJob`), on every Store: claimed with a lease, retried when
told, done once; a job whose worker died comes due again when its lease ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.models import InboundJob
from bot.core.store import Store

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_inbound_jobs_are_claimed_retried_and_done_once(store: Store) -> None:
    pin = {"type": "reaction_added", "reaction": "pushpin", "item": {"ts": "1.2"}, "t": "📌"}
    async with store.unit() as unit:
        first = InboundJob("slack", "slack.reaction", pin, T0)
        second = InboundJob("slack", "slack.reply", {"text": "reject: no"}, T0)
        await unit.add_inbound(first)
        await unit.add_inbound(second)
    assert first.id is not None
    assert second.id is not None
    async with store.unit() as unit:
        claimed = await unit.claim_inbound(T0, at(60), 10)
    assert [(j.id, j.kind, j.attempts) for j in claimed] == [
        (first.id, "slack.reaction", 1), (second.id, "slack.reply", 1)]
    assert claimed[0].payload == pin
    async with store.unit() as unit:
        assert await unit.claim_inbound(at(1), at(61), 10) == []  # both held
        await unit.inbound_retry(first.id, at(10), "RetryLater('HTTP 500')")
        await unit.inbound_done(second.id, at(2))
    async with store.unit() as unit:
        assert await unit.claim_inbound(at(9), at(69), 10) == []
        [again] = await unit.claim_inbound(at(10), at(70), 10)
    assert (again.id, again.attempts) == (first.id, 2)
    async with store.unit() as unit:  # its worker died: due when the lease ends
        assert await unit.claim_inbound(at(69), at(129), 10) == []
        [taken_back] = await unit.claim_inbound(at(70), at(130), 10)
        assert taken_back.attempts == 3
        await unit.inbound_done(first.id, at(71))
    async with store.unit() as unit:
        assert await unit.claim_inbound(at(1000), at(1060), 10) == []
