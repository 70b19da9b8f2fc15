"""The PostgreSQL leader lock: one holder at a time, freed when the holder goes away."""

from __future__ import annotations

import pytest

from bot.storage.leader import AdvisoryLock

pytestmark = pytest.mark.postgres


async def test_one_leader_at_a_time(postgres_url: str) -> None:
    first, second = AdvisoryLock(postgres_url, key=4242), AdvisoryLock(postgres_url, key=4242)
    try:
        assert await first.acquire()
        assert await first.acquire()  # still ours
        assert not await second.acquire()
        await first.release()
        assert await second.acquire()
    finally:
        await first.release()
        await second.release()
