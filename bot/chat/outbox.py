"""The durable outbox sender, shared by every chat platform.

Notices are written in the same transaction as the change that causes them; this worker claims
the due ones (with a lease, so with several processes each is delivered by one), hands them to
`Delivery` (which decides what to show) in order per incident, and records the outcome in the
notice's row: done with the message id, or a retry time. Platforms say "not now" by raising
`RetryLater` (Slack's 429 with `Retry-After`, a 5xx, a lost connection); other errors are
retried with the same backoff up to `max_attempts`, then given up and logged, so one poisoned
notice cannot hold its incident's queue forever. Everything lives in the database, so a
restarted process picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.core.delivery import Delivery, superseded
from bot.core.models import Notice
from bot.core.ports import Clock, RetryLater, Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pacing:
    """How the worker polls, leases and backs off (seconds)."""

    poll: float = 5.0
    lease: float = 120.0
    batch: int = 50
    backoff: float = 1.0
    max_backoff: float = 300.0
    max_attempts: int = 10


class Outbox:
    def __init__(self, store: Store, delivery: Delivery, clock: Clock,
                 pacing: Pacing | None = None, *,
                 jitter: Callable[[], float] = random.random) -> None:
        self.store = store
        self.delivery = delivery
        self.clock = clock
        self.pacing = pacing or Pacing()
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._soonest: float | None = None
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Deliver now (called after every commit that queued notices)."""
        self._wake.set()

    def start(self) -> None:
        """Run the worker in the background; call from inside the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="crisisbot-outbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Drain, then sleep until woken, a retry comes due or the poll interval passes (the
        poll also picks up notices written by other processes and leases that expired)."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            self._soonest = None
            try:
                await self.drain()
            except Exception:
                log.exception("outbox round failed (database unreachable?); retrying")
            timeout = self.pacing.poll
            if self._soonest is not None:
                timeout = max(0.0, min(timeout, self._soonest - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def drain(self) -> int:
        """Claim and deliver until nothing is due; return how many notices were delivered.
        Incidents are delivered side by side, each one's notices strictly in order."""
        delivered = 0
        while True:
            now = self.clock.now()
            async with self.store.unit() as unit:
                claimed = await unit.claim_notices(
                    now, now + timedelta(seconds=self.pacing.lease), self.pacing.batch)
            if not claimed:
                return delivered
            queues: dict[int, list[Notice]] = {}
            for notice in claimed:
                queues.setdefault(notice.incident, []).append(notice)
            counts = await asyncio.gather(*(self._deliver_queue(q) for q in queues.values()))
            delivered += sum(counts)

    async def _deliver_queue(self, notices: list[Notice]) -> int:
        for index, notice in enumerate(notices):
            try:
                result = await self.delivery.deliver(
                    notice, skip=superseded(notice, notices[index + 1:]))
            except Exception as error:
                await self._failed(notice, error)
                async with self.store.unit() as unit:
                    await unit.release_notices([_id(n) for n in notices[index + 1:]])
                return index
            async with self.store.unit() as unit:
                await unit.notice_done(_id(notice), result)
        return len(notices)

    async def _failed(self, notice: Notice, error: Exception) -> None:
        if isinstance(error, RetryLater):
            delay = error.after if error.after is not None else self.backoff(notice.attempts)
            reason = error.reason
            log.warning("notice %s for INC-%s: %s; retrying in %.1f s", notice.id,
                        notice.incident, reason, delay)
        elif notice.attempts >= self.pacing.max_attempts:
            log.error("notice %s for INC-%s failed %d times, giving up: %r", notice.id,
                      notice.incident, notice.attempts, error)
            async with self.store.unit() as unit:
                await unit.notice_done(_id(notice), f"failed: {error!r}")
            return
        else:
            delay = self.backoff(notice.attempts)
            reason = repr(error)
            log.warning("notice %s for INC-%s failed (%s); retrying in %.1f s", notice.id,
                        notice.incident, reason, delay, exc_info=error)
        async with self.store.unit() as unit:
            await unit.notice_retry(_id(notice), self.clock.now() + timedelta(seconds=delay),
                                    reason)
        due = asyncio.get_running_loop().time() + delay
        self._soonest = due if self._soonest is None else min(self._soonest, due)

    def backoff(self, attempts: int) -> float:
        """Exponential in the attempts so far, capped, with jitter (half to all of it) so
        processes that failed together do not retry together."""
        ceiling = min(self.pacing.max_backoff,
                      self.pacing.backoff * 2.0 ** max(0, attempts - 1))
        return float(ceiling * (0.5 + self._jitter() / 2))


def _id(notice: Notice) -> int:
    if notice.id is None:
        raise ValueError("an outbox notice has an id")
    return notice.id
