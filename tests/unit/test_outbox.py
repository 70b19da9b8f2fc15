"""The outbox worker on the memory store with a controllable clock: order per incident, retries
with Retry-After and backoff, giving up, leases, and a restart that delivers what was left."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot.chat.local import LocalChat
from bot.chat.outbox import Outbox, Pacing
from bot.core.delivery import Delivery
from bot.core.models import Draft, Space
from bot.core.ports import Once, RetryLater
from bot.core.rules import Rules
from bot.core.service import Service
from bot.core.store import Store
from bot.core.text import Text, render
from bot.storage.memory import MemoryStore
from bot.storage.memory_rooms import MemoryRooms
from tests.unit.support import FakeClock

START = datetime(2024, 5, 3, 12, 0, tzinfo=UTC)


class FlakyChat(LocalChat):
    """The local chat, failing the next posts with the given errors; remembers `Once`s."""

    def __init__(self) -> None:
        super().__init__(lambda _language: render, MemoryRooms())
        self.failures: list[Exception] = []
        self.onces: list[Once | None] = []

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        self.onces.append(once)
        if self.failures:
            raise self.failures.pop(0)
        return await super().post(space, lines, thread=thread, draft=draft, language=language)


def setup(store: Store | None = None, chat: FlakyChat | None = None,
          clock: FakeClock | None = None) -> tuple[Service, FlakyChat, Outbox, FakeClock]:
    store = store or MemoryStore()
    chat = chat or FlakyChat()
    clock = clock or FakeClock(START)
    rules = Rules()
    service = Service(store, clock, rules)
    outbox = Outbox(store, Delivery(store, {"local": chat}, rules), clock,
                    Pacing(backoff=1.0, max_backoff=60.0, max_attempts=3), jitter=lambda: 1.0)
    service._after_commit = outbox.wake
    return service, chat, outbox, clock


async def texts(chat: LocalChat, incident: int = 1) -> list[str]:
    return await chat.texts(await chat.space_of(incident))


async def test_delivers_in_order_and_records_results() -> None:
    service, chat, outbox, _ = setup()
    await service.declare("local:bob", "Fake recall story")
    await service.acknowledge(1, "local:bob")
    assert await outbox.drain() > 0
    said = (await texts(chat))  # the first summary was superseded by the refresh after the ack
    assert "acknowledged INC-1" in said[0]
    assert said[1].startswith("INC-1: Fake recall story")
    assert len(said) == 2
    async with service.store.unit() as unit:
        assert await unit.pending_notices(10) == []
    assert await outbox.drain() == 0


async def test_retry_after_holds_the_incident_queue_then_delivers() -> None:
    service, chat, outbox, clock = setup()
    chat.failures = [RetryLater("ratelimited", after=30)]
    await service.declare("local:bob", "Outage")
    await service.declare("local:ann", "Other")
    await outbox.drain()
    # INC-1's summary waits (and its later notices with it); INC-2 went ahead.
    assert (await texts(chat, 1)) == []
    assert (await texts(chat, 2))[0].startswith("INC-2")
    clock.advance(seconds=29)
    assert await outbox.drain() == 0
    clock.advance(seconds=1)
    assert await outbox.drain() > 0
    assert (await texts(chat, 1))[0].startswith("INC-1")
    # The retried post knows an earlier attempt may have landed; so does every first summary
    # post (an earlier refresh, superseded after its answer was lost, may have posted it).
    retried = [o for o in chat.onces if o is not None and o.retry]
    assert [o.subject for o in retried] == ["summary"] * 3


async def test_a_retry_after_of_days_is_tried_again_within_the_hour() -> None:
    """A platform or receiver asking for days (or more than a date holds) is not obeyed
    blindly: the statement or notice would in effect never go."""
    service, chat, outbox, clock = setup()
    chat.failures = [RetryLater("ratelimited", after=10.0**12)]
    await service.declare("local:bob", "Outage")
    await outbox.drain()
    assert (await texts(chat, 1)) == []
    clock.advance(seconds=3600)
    assert await outbox.drain() > 0
    assert (await texts(chat, 1))[0].startswith("INC-1")


async def test_errors_back_off_exponentially_then_give_up() -> None:
    service, chat, outbox, clock = setup()
    chat.failures = [ConnectionError("reset")] * 3
    await service.declare("local:bob", "Outage")
    await outbox.drain()
    assert outbox.backoff(1) == 1.0
    assert outbox.backoff(2) == 2.0
    assert outbox.backoff(9) == 60.0
    clock.advance(seconds=1)
    await outbox.drain()  # second attempt fails; next in 2 s
    clock.advance(seconds=1)
    assert await outbox.drain() == 0
    clock.advance(seconds=1)
    await outbox.drain()  # third attempt fails: given up, the queue moves on
    async with service.store.unit() as unit:
        assert await unit.pending_notices(10) == []
    assert (await texts(chat)) == []  # the summary was given up; nothing else was a post


async def test_jitter_spreads_backoff() -> None:
    _, _, outbox, _ = setup()
    outbox._jitter = lambda: 0.0
    assert outbox.backoff(3) == 2.0


async def test_a_crashed_claim_is_taken_over_after_its_lease() -> None:
    store = MemoryStore()
    service, chat, outbox, clock = setup(store)
    await service.declare("local:bob", "Outage")
    async with store.unit() as unit:  # a process claims, then dies before sending
        claimed = await unit.claim_notices(clock.now(), clock.now() + timedelta(seconds=120), 50)
    assert claimed
    assert await outbox.drain() == 0  # leased: nobody else delivers it
    clock.advance(seconds=121)
    assert await outbox.drain() == len(claimed)
    assert chat.onces[0] is not None
    assert chat.onces[0].retry


async def test_the_worker_wakes_on_commit_and_stops() -> None:
    service, chat, outbox, _ = setup()
    outbox.start()
    try:
        await service.declare("local:bob", "Outage")
        for _ in range(100):
            if await chat.channels() and await texts(chat):
                break
            await asyncio.sleep(0.01)
        assert (await texts(chat))[0].startswith("INC-1")
    finally:
        await outbox.stop()


@pytest.mark.parametrize("kind", ["retry", "crash"])
async def test_a_new_worker_on_the_same_store_finishes_the_work(kind: str) -> None:
    store = MemoryStore()
    service, chat, outbox, clock = setup(store)
    chat.failures = [RetryLater("server error")] if kind == "retry" else []
    await service.declare("local:bob", "Outage")
    if kind == "crash":
        async with store.unit() as unit:
            await unit.claim_notices(clock.now(), clock.now() + timedelta(seconds=5), 1)
    else:
        await outbox.drain()
    _, _, fresh, _ = setup(store, chat, clock)  # a restarted process, same chat and data
    clock.advance(seconds=10)
    await fresh.drain()
    assert (await texts(chat))[0].startswith("INC-1")
    async with store.unit() as unit:
        assert await unit.pending_notices(10) == []
