"""Core alert handling: a storm is one incident told as bounded-rate digests, and the group
commit hands every caller its own outcome from one shared transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.core.models import Alert, AlertOutcome, AlertStatus, NoticeKind, RawDelivery, Severity
from bot.core.rules import Route, Rules
from bot.core.service import Service
from bot.core.text import render
from bot.intake import GroupCommit, Inbound
from bot.storage.memory import MemoryStore
from tests.unit.support import FakeClock

START = datetime(2024, 5, 14, 9, tzinfo=UTC)


def alert(i: int, *, status: AlertStatus = AlertStatus.FIRING, group: str = "g",
          received_at: datetime = datetime(2024, 5, 14, 9, tzinfo=UTC),
          **extra: object) -> Alert:
    return Alert("alertmanager", f"k{i}:{status.value}", group, "Checkout errors",
                 received_at, status=status, fingerprint=f"fp{i % 3}",
                 **extra)  # type: ignore[arg-type]


async def messages(store: MemoryStore) -> list[str]:
    async with store.unit() as unit:
        return [render(n.text) for n in await unit.pending_notices(10_000)
                if n.kind is NoticeKind.MESSAGE and n.text is not None]


async def test_storm_digests_at_a_bounded_rate() -> None:
    store, clock = MemoryStore(), FakeClock(START)
    service = Service(store, clock, Rules(digest_seconds=60))
    assert (await service.handle_alerts([alert(0)]))[0].opened
    for i in range(1, 241):
        clock.at += timedelta(seconds=0.25)
        await service.handle_alert(alert(i))
    assert await messages(store) == ["+240 alerts in the last 60 s, 3 distinct."]
    clock.at += timedelta(seconds=10)
    await service.handle_alert(alert(500))
    assert await service.send_digests() == 0
    clock.at += timedelta(seconds=60)
    assert await service.send_digests() == 1
    assert (await messages(store))[-1] == "+1 alert in the last 70 s, 1 distinct."


async def test_a_restart_still_tells_the_alerts_attached_since_the_last_digest() -> None:
    store, clock = MemoryStore(), FakeClock(START)
    service = Service(store, clock, Rules(digest_seconds=60))
    await service.handle_alert(alert(0, received_at=clock.at))
    for i in range(1, 5):
        clock.at += timedelta(seconds=10)
        await service.handle_alert(alert(i, received_at=clock.at))
    assert await messages(store) == []  # the interval has not passed

    restarted = Service(store, clock, Rules(digest_seconds=60))  # remembers nothing itself
    clock.at += timedelta(seconds=30)
    assert await restarted.send_digests() == 1
    assert await messages(store) == ["+4 alerts in the last 70 s, 3 distinct."]
    assert await restarted.send_digests() == 0  # told: nothing left


async def test_two_replicas_tell_one_digest_per_window() -> None:
    """Two services on one store (two replicas on one database) share the window."""
    store, clock = MemoryStore(), FakeClock(START)
    replicas = [Service(store, clock, Rules(digest_seconds=60)) for _ in range(2)]
    await replicas[0].handle_alert(alert(0))
    for i in range(1, 400):
        clock.at += timedelta(seconds=0.5)
        await replicas[i % 2].handle_alert(alert(i))
    clock.at += timedelta(seconds=60)
    assert sum([await replica.send_digests() for replica in replicas]) == 1
    told = await messages(store)
    assert len(told) == 4  # 200 s of storm: at 60, 120, 180 s, then the last one
    assert sum(int(text.split()[0]) for text in told) == 399  # every attached alert, once


async def test_all_resolved_is_told_once_everything_recovered() -> None:
    store = MemoryStore()
    service = Service(store, FakeClock(START))
    await service.handle_alerts([alert(0), alert(1)])
    await service.handle_alert(alert(0, status=AlertStatus.RESOLVED))
    assert await messages(store) == []
    outcome = await service.handle_alert(alert(1, status=AlertStatus.RESOLVED))
    assert outcome.incident == 1
    assert await messages(store) == ["All 2 alerts of INC-1 have resolved."]


async def test_routes_decide_how_incidents_open() -> None:
    store = MemoryStore()
    rules = Rules(routes=(Route(labels={"team": "pay"}, severity=Severity.SEV1,
                                invite=("local:ops",), playbook="pay"),))
    service = Service(store, FakeClock(START), rules)
    await service.handle_alert(alert(0, labels={"team": "pay"}))
    incident = (await service.load(1))[0]
    assert incident.severity is Severity.SEV1
    await service.handle_alert(alert(1, group="other", severity=Severity.SEV4))
    assert (await service.load(2))[0].severity is Severity.SEV4


async def test_group_commit_batches_concurrent_callers() -> None:
    store = MemoryStore()
    service = Service(store, FakeClock(START))
    intake = GroupCommit(service.handle_alerts)
    intake.start()
    outcomes = await asyncio.gather(*(intake.submit([alert(i)]) for i in range(100)),
                                    intake.submit([alert(0)]))
    await intake.stop()
    assert intake.commits < 10
    assert sum(o[0].opened for o in outcomes) == 1
    assert outcomes[-1][0].duplicate
    assert all(o[0].incident == 1 for o in outcomes[:-1])


async def test_group_commit_stores_each_new_delivery_once() -> None:
    store, clock = MemoryStore(), FakeClock(START)
    intake = GroupCommit(Service(store, clock).handle_alerts)
    intake.start()

    def raw(body: bytes) -> RawDelivery:
        return Inbound("alertmanager", body, clock.now(),
                       {"authorization": "Bearer s", "x-grafana-alert-signature": "ab",
                        "x-request-id": "t"}).raw()

    await asyncio.gather(intake.submit([alert(0), alert(1)], raw(b"first")),
                         intake.submit([alert(0)], raw(b"again")),  # same batch, duplicate
                         intake.submit([alert(2)], raw(b"third")))
    await intake.submit([alert(2)], raw(b"third"))  # a re-delivery
    await intake.stop()
    async with store.unit() as unit:
        deliveries = await unit.deliveries()
        alerts = await unit.alerts(1)
    assert [d.body for d in deliveries] == [b"first", b"third"]
    assert all(dict(d.headers) == {"x-request-id": "t"} for d in deliveries)
    assert {a.dedup_key: a.delivery for a in alerts} == {
        "k0:firing": 1, "k1:firing": 1, "k2:firing": 2}


async def test_group_commit_keeps_several_transactions_in_flight() -> None:
    """With `workers`, batches commit side by side (PostgreSQL), each caller still answered
    only after its own batch committed."""
    in_flight, most = 0, 0

    async def handle(alerts: Sequence[Alert], *, raw: object = ()) -> list[AlertOutcome]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0.01)  # a round trip to the database
        in_flight -= 1
        return [AlertOutcome(1, opened=False, duplicate=False) for _ in alerts]

    intake = GroupCommit(handle, workers=3, max_batch=5)
    intake.start()
    outcomes = await asyncio.gather(*(intake.submit([alert(i)]) for i in range(30)))
    await intake.stop()
    assert most == 3
    assert all(o[0].incident == 1 for o in outcomes)
