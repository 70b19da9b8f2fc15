"""The PostgreSQL leader lock: one holder at a time, freed when the holder goes away."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.storage.leader import AdvisoryLock, leader_name

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


async def test_a_killed_leader_frees_the_lock_at_once(postgres_url: str) -> None:
    """SIGKILL the leading process: its session ends with it, so a follower polling as the
    scheduler does (every tick) takes over on its next try; failover is one tick."""
    script = ("import asyncio, sys\n"
              "from bot.storage.leader import AdvisoryLock\n"
              "async def main():\n"
              "    lock = AdvisoryLock(sys.argv[1], key=4343)\n"
              "    assert await lock.acquire()\n"
              "    print('leading', flush=True)\n"
              "    await asyncio.sleep(60)\n"
              "asyncio.run(main())\n")
    leader = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, postgres_url, stdout=asyncio.subprocess.PIPE)
    follower = AdvisoryLock(postgres_url, key=4343)
    try:
        assert leader.stdout is not None
        assert await asyncio.wait_for(leader.stdout.readline(), 30) == b"leading\n"
        assert not await follower.acquire()
        leader.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while not await follower.acquire():
            assert time.monotonic() - killed < 5, "the lock outlived its holder"
            await asyncio.sleep(0.05)
        assert time.monotonic() - killed < 1.0
    finally:
        if leader.returncode is None:
            leader.kill()
        await leader.wait()
        await follower.release()


async def test_the_leader_names_itself_in_pg_stat_activity(postgres_url: str) -> None:
    lock = AdvisoryLock(postgres_url, key=4444)
    engine = create_async_engine(postgres_url, poolclass=NullPool)
    try:
        assert await lock.acquire()
        async with engine.connect() as connection:
            names = (await connection.execute(text(
                "SELECT application_name FROM pg_stat_activity "
                "WHERE application_name LIKE 'crisisbot leader%'"))).scalars().all()
        assert leader_name() in names
    finally:
        await lock.release()
        await engine.dispose()


async def test_an_unreachable_database_is_no_leadership_not_a_crash(unused_tcp_port: int) -> None:
    """PostgreSQL down (restarting, a DNS hiccup): connecting raises `OSError`, not a
    SQLAlchemy error; the follower must answer “not leading” and try again next tick, not
    fail the scheduler's job with a traceback every tick."""
    lock = AdvisoryLock(f"postgresql+asyncpg://postgres@127.0.0.1:{unused_tcp_port}/test",
                        key=4545)
    try:
        assert not await lock.acquire()
        assert not await lock.acquire()
    finally:
        await lock.release()
