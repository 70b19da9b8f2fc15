"""Inbound jobs carry the claiming process's identity, as outbox notices do, on every store:
a restarted process takes back at once what its dead predecessor on this host had claimed (a
📌 handled when the process was killed reaches the timeline seconds after the restart, not
after the lease); a live process's claims are left alone."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from typing import Any

from bot.chat import claimant
from bot.chat.inbound import InboundWorker
from bot.chat.outbox import Pacing
from bot.core.models import InboundJob
from bot.core.store import Store
from tests.integration.test_inbound_store import T0, at

SLEEPER = (sys.executable, "-c", "import time; time.sleep(60)")
"""Another process on this host: a live replica, until it is killed."""


class Clock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


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


async def test_a_restarted_worker_takes_back_a_dead_holders_jobs_at_once(store: Store) -> None:
    clock = Clock()
    done: list[dict[str, Any]] = []

    async def pin(payload: dict[str, Any]) -> None:
        done.append(payload)

    def worker() -> InboundWorker:
        jobs = InboundWorker(store, clock, Pacing(lease=120.0))
        jobs.handle("slack.reaction", pin)
        return jobs

    async with store.unit() as unit:
        await unit.add_inbound(InboundJob("slack", "slack.reaction", {"ts": "1.2"}, T0))
    other = await asyncio.create_subprocess_exec(*SLEEPER)
    try:
        async with store.unit() as unit:  # claimed by another process, which is still alive
            assert await unit.claim_inbound(T0, at(120), 10, claimant.identity(other.pid))
        clock.at = at(30)
        await worker().drain()
        assert done == []  # a live replica's job is its own until its lease ends
    finally:
        other.kill()
        await other.wait()
    await worker().drain()  # 30 s into a 2-minute lease: the dead holder's job, at once
    assert done == [{"ts": "1.2"}]
    async with store.unit() as unit:
        assert await unit.inbound_holders(clock.now()) == []
        assert await unit.claim_inbound(at(1000), at(1060), 10) == []


def _id(jobs: list[InboundJob]) -> int:
    assert jobs[0].id is not None
    return jobs[0].id
