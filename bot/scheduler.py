"""The bot's pacemaker: APScheduler calls `Service.tick` every few seconds.

Why one interval job in a memory job store, and not one persistent job per reminder: what is due
is computed by `core/pace.py` from the incident, its drafts and its timeline, and every action is
recorded in the timeline with its chat notices. The job itself holds no state, so there is
nothing to lose on a restart and nothing to keep in step with incident state; it is simply added
again when the process starts. `coalesce` and `max_instances=1` keep a slow tick from piling up;
a tick missed while the loop was busy is skipped, since the next one sees the same data.

With several processes (PostgreSQL), only the holder of a `Leader` lock ticks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

JOB_ID = "crisisbot-tick"


class Leader(Protocol):
    """Who may tick when several processes share a database."""

    async def acquire(self) -> bool:
        """Non-blocking: True while this process holds (or just took) the leadership."""
        ...

    async def release(self) -> None: ...


class Pacemaker:
    """Runs `tick` (the service's tick, then delivery) on an `AsyncIOScheduler`."""

    def __init__(self, tick: Callable[[], Awaitable[object]], every: timedelta, *,
                 leader: Leader | None = None) -> None:
        self._tick = tick
        self._every = every
        self._leader = leader
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        """Start ticking now and every `every`; call from inside the running event loop."""
        seconds = self._every.total_seconds()
        self._scheduler.add_job(
            self._run, IntervalTrigger(seconds=seconds, timezone=UTC), id=JOB_ID,
            replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=max(1, int(seconds)), next_run_time=datetime.now(UTC))
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling, then wait for a tick in flight: closing the store under a running
        tick would leave its transaction, and the event loop's shutdown, hanging."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler stops on the loop's next turn
        await self._idle.wait()
        if self._leader is not None:
            await self._leader.release()

    async def _run(self) -> None:
        self._idle.clear()
        try:
            if self._leader is not None and not await self._leader.acquire():
                return
            await self._tick()
        except asyncio.CancelledError:
            # The loop is ending (a server that could not start, a stop mid-tick): the next
            # start ticks again, so there is nothing to report (APScheduler would log it as a
            # failed job, with a traceback).
            return
        finally:
            self._idle.set()
