"""Inbound jobs carry the claiming process's identity, as outbox notices do, on every store:
a restarted process takes back at once what its dead predecessor on this host had claimed (a
📌 handled when the process was killed reaches the timeline seconds after the restart, not
after the lease); a live process's claims are left alone."""

from __future__ import annotations

from bot.core.models import InboundJob
from bot.core.ports import Store
from tests.integration.test_inbound_store import T0, at


async def test_the_store_keeps_who_holds_each_job(store: Store) -> None:
    async with store.unit() as unit:
        for n in range(3):
            await unit.add_inbound(InboundJob("slack", "slack.reaction", {"n": n}, T0))
    async with store.unit() as unit:
        first = await unit.claim_inbound(T0, at(60), 2, "host/boot/1/1")
        second = await unit.claim_inbound(T0, at(60), 2, "host/boot/2/2")
        assert await unit.inbound_holders(at(1)) == ["host/boot/1/1", "host/boot/2/2"]
        assert await unit.inbound_holders(at(60)) == []  # leases run out
        await unit.inbound_retry(_id(first), at(5), "RetryLater('HTTP 500')")
        await unit.inbound_done(_id(second), at(2))
        assert await unit.inbound_holders(at(1)) == ["host/boot/1/1"]
        assert await unit.free_inbound([]) == 0
        assert await unit.free_inbound(["host/boot/1/1"]) == 1
        assert await unit.inbound_holders(at(1)) == []
        [freed] = await unit.claim_inbound(at(1), at(61), 10)  # due at once, not at 60
        assert freed.id == first[1].id
        assert freed.attempts == 2


def _id(jobs: list[InboundJob]) -> int:
    assert jobs[0].id is not None
    return jobs[0].id
