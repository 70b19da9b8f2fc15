"""Two processes on one database (here: two stores, each with its own engine and service) take
the same alerts at the same moment: the database decides, so each group gets one incident and
an alert stored twice is a re-delivery, not an error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.core.models import Alert, AlertOutcome
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
