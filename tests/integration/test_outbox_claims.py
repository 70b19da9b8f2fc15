"""Outbox claims carry the claiming process's identity, on every store: what a dead process on
this host had claimed is taken back at once, not after the lease; a live process's claims are
left alone, whatever the time since it claimed."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from bot.chat import claimant
from bot.core.store import Store
from tests.unit.test_outbox import setup

SLEEPER = (sys.executable, "-c", "import time; time.sleep(60)")
"""Another process on this host: a live replica, until it is killed."""


async def test_a_dead_holders_claims_go_at_once_a_live_holders_stay(store: Store) -> None:
    service, chat, _, clock = setup(store)
    await service.declare("local:bob", "Outage")
    other = await asyncio.create_subprocess_exec(*SLEEPER)
    try:
        replica = claimant.identity(other.pid)
        async with store.unit() as unit:
            claimed = await unit.claim_notices(
                clock.now(), clock.now() + timedelta(minutes=2), 50, replica)
        assert claimed
        async with store.unit() as unit:
            assert await unit.notice_holders(clock.now()) == [replica]
        _, _, restarted, _ = setup(store, chat, clock)
        assert await restarted.drain() == 0  # the replica lives: its claims are its own
        clock.advance(seconds=30)
    finally:
        other.kill()
        await other.wait()
    _, _, restarted, _ = setup(store, chat, clock)
    assert await restarted.drain() == len(claimed)  # 30 s into a 2-minute lease
    assert chat.onces[0] is not None
    assert chat.onces[0].retry  # it may have gone out: the delivery looks first
    async with store.unit() as unit:
        assert await unit.pending_notices(10) == []
        assert await unit.notice_holders(clock.now()) == []


async def test_identity_tells_a_dead_process_from_a_live_one() -> None:
    assert not claimant.dead(claimant.identity())
    other = await asyncio.create_subprocess_exec(*SLEEPER)
    holder = claimant.identity(other.pid)
    assert not claimant.dead(holder)
    other.kill()
    await other.wait()
    assert claimant.dead(holder)  # pid gone
    host, boot, pid, started = claimant.identity().rsplit("/", 3)
    assert claimant.dead(f"{host}/{boot}/{pid}/{int(started) + 1}")  # the pid, reused
    assert claimant.dead(f"{host}/another-boot/{pid}/{started}")  # the host rebooted since
    assert not claimant.dead(f"elsewhere/{boot}/{other.pid}/{started}")  # another host: lease
    assert not claimant.dead("garbage")
