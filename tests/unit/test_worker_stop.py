"""The outbox and inbound workers stop when told, even when woken in the same instant.

Python 3.11's `asyncio.wait_for` swallows a cancellation that arrives while the awaited
future is finishing (it returns the result instead), so a worker sleeping in
`wait_for(wake.wait(), poll)` that was woken just as `stop()` cancelled it went on polling
forever, and `stop()` (and with it the server's shutdown) waited for it forever: the
intermittent hang of the Slack fault scenarios (#18)."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat.inbound import InboundWorker
from bot.chat.outbox import Pacing
from bot.storage.memory import MemoryStore
from tests.unit.support import FakeClock
from tests.unit.test_outbox import START, setup


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
