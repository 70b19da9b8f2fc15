"""The outbox and inbound workers stop when told: even when woken in the same instant, or when
stopped in the middle of a commit.

Python 3.11's `asyncio.wait_for` swallows a cancellation that arrives while the awaited
future is finishing (it returns the result instead), so a worker sleeping in
`wait_for(wake.wait(), poll)` that was woken just as `stop()` cancelled it went on polling
forever, and `stop()` (and with it the server's shutdown) waited for it forever: the
intermittent hang of the Slack fault scenarios (#18)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.chat.inbound import InboundWorker
from bot.chat.outbox import Pacing
from bot.storage.memory import MemoryStore, MemoryUnit
from tests.unit.support import FakeClock
from tests.unit.test_outbox import START, setup

pytestmark = pytest.mark.timeout(20)  # before the fix, `stop()` never returned


@pytest.mark.parametrize("worker", ["outbox", "inbound"])
async def test_a_worker_woken_as_it_is_stopped_stops(worker: str) -> None:
    if worker == "outbox":
        runner = setup()[2]
    else:
        runner = InboundWorker(MemoryStore(), FakeClock(START), Pacing(poll=5.0))
    for _ in range(50):
        runner.start()
        await asyncio.sleep(0.01)  # asleep, waiting for a wake or the poll
        runner.wake()  # e.g. a commit's `after_commit`, just as the server shuts down
        async with asyncio.timeout(2):
            await runner.stop()


class CommitCutShort(MemoryStore):
    """Once `slow`, a commit takes long and, cancelled half-way, fails with another error (as
    SQLAlchemy refuses to close a session whose commit is running in a thread)."""

    slow = False

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[MemoryUnit]:
        async with super().unit() as unit:
            yield unit
            if self.slow:
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    raise RuntimeError("close() called while commit() is in progress") from None


@pytest.mark.parametrize("worker", ["outbox", "inbound"])
async def test_a_worker_stopped_in_the_middle_of_a_commit_stops(worker: str) -> None:
    store = CommitCutShort()
    pacing = Pacing(poll=0.01)
    runner = (setup(store)[2] if worker == "outbox"
              else InboundWorker(store, FakeClock(START), pacing))
    runner.pacing = pacing
    runner.start()
    await asyncio.sleep(0.02)
    store.slow = True
    await asyncio.sleep(0.05)  # the next round's unit is committing
    async with asyncio.timeout(2):
        await runner.stop()
