"""The real AsyncIOScheduler driving the real app: these tests really wait (a few seconds)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.wiring import Bot, build
from bot.core.models import Alert, EventKind, Severity
from bot.scheduler import Pacemaker
from bot.settings import load


def alert() -> Alert:
    return Alert("generic", "a-1", "checkout", "Checkout is down", datetime.now(UTC),
                 severity=Severity.SEV2)


async def started(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> Bot:
    monkeypatch.setenv("CRISISBOT_SCHEDULE__ACK_TIMEOUT", "2s")
    monkeypatch.setenv("CRISISBOT_SCHEDULE__TICK", "0.2")
    bot = await build(load(database_url=sqlite_url))
    assert bot.scheduler is not None
    bot.scheduler.start()
    return bot


async def escalations(bot: Bot) -> list[str]:
    events = (await bot.service.load(1))[2]
    return [e.data["purpose"] for e in events if e.kind is EventKind.ESCALATION]


async def escalated(bot: Bot) -> tuple[list[str], str]:
    """Wait (5 s at most each) for INC-1's escalation, then for the message that tells it: the
    escalations' purposes and the room's last message."""
    for _ in range(50):
        if await escalations(bot):
            break
        await asyncio.sleep(0.1)
    purposes = await escalations(bot)
    for _ in range(50):  # the tick records the escalation, then delivers its message
        texts = await bot.local.texts(await bot.local.space_of(1))
        if texts[-1].startswith("INC-1 is still not acknowledged"):
            break
        await asyncio.sleep(0.1)
    return purposes, texts[-1]


async def test_unacknowledged_incident_escalates_within_seconds(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    bot = await started(monkeypatch, sqlite_url)
    try:
        await bot.service.handle_alert(alert())
        purposes, told = await escalated(bot)
        assert purposes == ["ack"]
        assert told.startswith("INC-1 is still not acknowledged after 2 s")
    finally:
        await bot.close()
    assert not bot.scheduler or not bot.scheduler.running


async def test_acknowledged_in_time_never_escalates(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    bot = await started(monkeypatch, sqlite_url)
    try:
        await bot.service.handle_alert(alert())
        await bot.service.acknowledge(1, "local:bob")
        await asyncio.sleep(3)
        assert await escalations(bot) == []
    finally:
        await bot.close()


class Follower:
    """A leader lock someone else holds."""

    released = False

    async def acquire(self) -> bool:
        return False

    async def release(self) -> None:
        self.released = True


async def test_only_the_leader_ticks() -> None:
    ticks: list[str] = []

    def ticker(name: str):  # type: ignore[no-untyped-def]
        async def tick() -> None:
            ticks.append(name)
        return tick

    follower = Follower()
    leader = Pacemaker(ticker("leader"), timedelta(seconds=0.05))
    other = Pacemaker(ticker("follower"), timedelta(seconds=0.05), leader=follower)
    leader.start()
    other.start()
    await asyncio.sleep(0.3)
    await leader.stop()
    await other.stop()
    assert len(ticks) >= 2
    assert set(ticks) == {"leader"}
    assert follower.released


async def test_with_the_outbox_worker_running_a_tick_leaves_delivery_to_it(
        monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    """As `serve` runs them: the worker delivers the escalation the tick queued, and no tick
    drains the outbox itself (a steady flow of notices would hold that tick, and every reminder
    behind it)."""
    bot = await started(monkeypatch, sqlite_url)
    drained: list[int] = []
    drain = bot.outbox.drain

    async def counted() -> int:
        drained.append(1)
        return await drain()

    monkeypatch.setattr(bot.outbox, "drain", counted)
    bot.outbox.start()
    try:
        await bot.service.handle_alert(alert())
        _purposes, told = await escalated(bot)
        assert told.startswith("INC-1 is still not acknowledged after 2 s")
        assert drained == []
    finally:
        await bot.close()
