"""Two processes on one database (here: two stores, each with its own engine and service) take
the same alerts at the same moment: the database decides, so each group gets one incident and
an alert stored twice is a re-delivery, not an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.core.errors import Invalid
from bot.core.models import Alert, AlertOutcome, NoticeKind
from bot.core.publication import Publication
from bot.core.service import Service
from bot.storage.sql.store import SqlStore
from tests.unit.support import FakeClock

START = datetime(2026, 12, 1, 9, tzinfo=UTC)
GROUPS = 40


@pytest.fixture
async def replicas(store_url: str | None) -> AsyncIterator[list[Service]]:
    if store_url is None:
        pytest.skip("two processes need a database")
    stores = [SqlStore(store_url), SqlStore(store_url)]
    clock = FakeClock(START)
    try:
        yield [Service(store, clock) for store in stores]
    finally:
        for store in stores:
            await store.close()


def first_alerts(group: int, replica: int) -> list[Alert]:
    """A group's first two alerts as one replica got them: one shared (delivered to both),
    one of its own."""
    return [Alert("generic", f"g{group}:{key}", f"group-{group}", f"Group {group} fires",
                  START) for key in ("both", f"only-{replica}")]


async def test_each_group_opens_one_incident_and_duplicates_are_skipped(
        replicas: list[Service]) -> None:
    sent = [replica.handle_alerts(first_alerts(group, i))
            for group in range(GROUPS) for i, replica in enumerate(replicas)]
    outcomes: list[list[AlertOutcome]] = await asyncio.gather(*sent)

    opened = [o.incident for batch in outcomes for o in batch if o.opened]
    assert sorted(opened) == list(range(1, GROUPS + 1))  # one per group, none lost to errors
    async with replicas[0].store.unit() as unit:
        incidents = await unit.incidents()
        assert len(incidents) == GROUPS
        for incident in incidents:  # both replicas' alerts on the one incident, once each
            assert len(await unit.alerts(incident.number)) == 3
    duplicates = sum(o.duplicate for batch in outcomes for o in batch)
    assert duplicates == GROUPS  # the shared alert counts once, whichever stored it


async def test_two_replicas_publishing_one_version_at_once_publish_it_once(
        replicas: list[Service]) -> None:
    """A double click whose two presses reach two replicas: one publishes, the other is told
    it is published already (no 5xx from the lost race), and each destination gets one notice."""
    first, second = replicas
    for replica in replicas:
        replica.publish_to = ("status", "webhook")
    for number in range(1, 6):
        await first.declare("local:bob", f"Outage {number}")
        await first.acknowledge(number, "local:bob")
        await first.assign(number, "local:bob", "local:carol", "approver")
        await first.post_draft(number, "local:bob", "We are on it.")
        await first.decide(number, "local:carol", approve=True, draft_number=1)
    results = await asyncio.gather(
        *(replica.publish(number, "local:bob", 1, version=1)
          for number in range(1, 6) for replica in (first, second)),
        return_exceptions=True)
    published = [r for r in results if isinstance(r, Publication)]
    refused = [r for r in results if not isinstance(r, Publication)]
    assert sorted(p.incident for p in published) == [1, 2, 3, 4, 5]
    assert all(isinstance(r, Invalid) and "published already" in str(r) for r in refused)
    async with first.store.unit() as unit:
        assert len(await unit.publications()) == 5
        notices = [n for n in await unit.pending_notices(500)
                   if n.kind is NoticeKind.PUBLISH]
    assert sorted((n.incident, n.destination) for n in notices) == sorted(
        (number, name) for number in range(1, 6) for name in ("status", "webhook"))
