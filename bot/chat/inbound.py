"""The inbound work queue: what an event asks for (a 📌 for the timeline, a button press, a
thread reply) is stored before the platform hears "received" and carried out here, after.

A transient failure (Slack's 5xx or 429, a lost connection, a busy database) is retried with
the outbox's backoff, so an acknowledged event is never lost; other failures are retried up to
`max_attempts`, then given up and logged. Jobs are claimed with a lease, so with several
processes each is done by one. Claims carry the claiming process's identity, as the outbox's
do (`claimant.py`): a process takes back at once, when it starts and then every poll, the jobs
of a dead process on its host (a 📌 handled when the process was killed reaches the timeline
seconds after the restart); those of a process elsewhere come due when their lease ends.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.chat import claimant
from bot.chat.outbox import Pacing, backoff, cancelled, stopping, woken
from bot.core.models import InboundJob
from bot.core.ports import Clock, RetryLater
from bot.core.store import Store

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[None]]
"""Carries out one kind of job from its stored payload; raises to have it retried."""


class InboundWorker:
    def __init__(self, store: Store, clock: Clock, pacing: Pacing | None = None, *,
                 jitter: Callable[[], float] = random.random, holder: str | None = None,
                 dead: Callable[[str], bool] = claimant.dead) -> None:
        self.store = store
        self.clock = clock
        self.pacing = pacing or Pacing()
        self.handlers: dict[str, Handler] = {}
        self._jitter = jitter
        self.holder = holder or claimant.identity()
        self._reclaim = claimant.Reclaimer(
            store, "inbound jobs", self.holder, lambda unit, at: unit.inbound_holders(at),
            lambda unit, gone: unit.free_inbound(gone), interval=self.pacing.poll, dead=dead)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def handle(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def record(self, platform: str, kind: str, payload: dict[str, Any]) -> None:
        """Store a job in its own unit and wake the worker (for callers that answer the
        platform after this returns)."""
        async with self.store.unit() as unit:
            await unit.add_inbound(InboundJob(platform, kind, payload, self.clock.now()))
        self.wake()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="crisisbot-inbound")

    async def stop(self) -> None:
        """Stop the worker; a job in hand stays claimed and comes due again (see above)."""
        await cancelled(self._task)
        self._task = None

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                soonest = await self.drain()
            except Exception:
                if stopping():
                    raise
                log.exception("inbound round failed (database unreachable?); retrying")
                soonest = None
            timeout = self.pacing.poll if soonest is None else min(self.pacing.poll, soonest)
            await woken(self._wake, timeout)

    async def drain(self) -> float | None:
        """Do every due job (after freeing dead processes' claims, at most once a poll);
        return the shortest retry delay scheduled (None: none)."""
        soonest: float | None = None
        await self._reclaim(asyncio.get_running_loop().time(), self.clock.now())
        while True:
            now = self.clock.now()
            async with self.store.unit() as unit:
                jobs = await unit.claim_inbound(
                    now, now + timedelta(seconds=self.pacing.lease), self.pacing.batch,
                    self.holder)
            if not jobs:
                return soonest
            for delay in await asyncio.gather(*(self._do(job) for job in jobs)):
                if delay is not None:
                    soonest = delay if soonest is None else min(soonest, delay)

    async def _do(self, job: InboundJob) -> float | None:
        job_id = job.id if job.id is not None else -1
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for inbound {job.kind}")
            await handler(job.payload)
        except Exception as error:
            return await self._failed(job, job_id, error)
        async with self.store.unit() as unit:
            await unit.inbound_done(job_id, self.clock.now())
        return None

    async def _failed(self, job: InboundJob, job_id: int, error: Exception) -> float | None:
        transient = isinstance(error, RetryLater)
        if not transient and job.attempts >= self.pacing.max_attempts:
            log.error("inbound %s %s failed %d times, giving up: %r", job.kind, job_id,
                      job.attempts, error)
            async with self.store.unit() as unit:
                await unit.inbound_done(job_id, self.clock.now(), f"failed: {error!r}")
            return None
        delay = self.backoff(job.attempts)
        if isinstance(error, RetryLater) and error.after is not None:
            delay = error.after
        log.warning("inbound %s %s failed (%s); retrying in %.1f s", job.kind, job_id,
                    error.reason if isinstance(error, RetryLater) else repr(error), delay)
        async with self.store.unit() as unit:
            await unit.inbound_retry(job_id, self.clock.now() + timedelta(seconds=delay),
                                     repr(error))
        return delay

    def backoff(self, attempts: int) -> float:
        """As the outbox's: doubling per attempt, capped, jittered (half to all of it)."""
        return backoff(self.pacing, attempts, self._jitter)
