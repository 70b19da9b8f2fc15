"""The durable outbox sender, shared by every chat platform.

Notices are written in the same transaction as the change that causes them; this worker claims
the due ones (with a lease, so with several processes each is delivered by one), hands them to
`Delivery` (which decides what to show) in order per queue — an incident's notices, or the
answers in one chat — and records the outcome in the notice's row: done with the message id,
or a retry time. Answers to someone who is waiting are claimed first, and a queue waiting for
its chat's turn holds up no other: each claimed queue is delivered in its own task, and the
worker goes on claiming what is queued meanwhile. Leases of notices still being delivered are
renewed, so a long wait for a slow chat never lets another process send them too. Claims
carry the claiming process's identity (`claimant.py`): a process takes back at once, when it
starts and then every poll, what a dead process on its host had claimed (a restart after
kill -9 resends in seconds, not after the lease), and leaves a live replica's claims alone.

Platforms say "not now" by raising `RetryLater` (Slack's 429 with `Retry-After`, a 5xx, a lost
connection); other errors are retried with the same backoff up to `max_attempts`, then given up
and logged, so one poisoned notice cannot hold its queue forever. Everything lives in the
database, so a restarted process picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.chat import claimant
from bot.core.delivery import Delivery, superseded
from bot.core.models import Notice
from bot.core.ports import Clock, RetryLater
from bot.core.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pacing:
    """How the worker polls, leases and backs off (seconds). After a wake it lets `gather`
    pass first, so a burst of commits (sixteen commands at once) costs one claim, not one
    each, on the event loop that also serves the webhooks."""

    poll: float = 5.0
    gather: float = 0.02
    lease: float = 120.0
    batch: int = 50
    backoff: float = 1.0
    max_backoff: float = 300.0
    max_attempts: int = 10


class Outbox:
    def __init__(self, store: Store, delivery: Delivery, clock: Clock,
                 pacing: Pacing | None = None, *,
                 jitter: Callable[[], float] = random.random,
                 holder: str | None = None,
                 dead: Callable[[str], bool] = claimant.dead) -> None:
        self.store = store
        self.delivery = delivery
        self.clock = clock
        self.pacing = pacing or Pacing()
        self._jitter = jitter
        self._wake = asyncio.Event()
        self._soonest: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy: set[asyncio.Task[int]] = set()
        self._held: set[int] = set()
        """Ids of claimed notices not yet delivered or given back: their leases are renewed."""
        self._renew_at = 0.0
        self.holder = holder or claimant.identity()
        self._reclaim = claimant.Reclaimer(
            store, "notices", self.holder, lambda unit, at: unit.notice_holders(at),
            lambda unit, gone: unit.free_claims(gone), interval=self.pacing.poll, dead=dead)
        """Frees dead processes' claims (at most once a poll interval)."""

    def wake(self) -> None:
        """Deliver now (called after every commit that queued notices)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """The background worker runs (`start`): it delivers whatever a commit queues."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Run the worker in the background; call from inside the running event loop."""
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="crisisbot-outbox")

    async def stop(self) -> None:
        """Stop claiming and stop the queues being delivered; what was not attempted is given
        back, what was in flight stays leased (it may have reached the chat) and is retried
        when the lease runs out."""
        await cancelled(self._task, *self._busy)
        self._task = None

    async def run(self) -> None:
        """Claim, then sleep until woken, a retry comes due, a lease needs renewing or the poll
        interval passes (the poll also picks up notices written by other processes and leases
        that expired)."""
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            if self._soonest is not None and self._soonest <= loop.time():
                self._soonest = None
            try:
                await self._renew(loop.time())
                await self._round()
                if await self._reclaim(loop.time(), self.clock.now()):
                    continue  # claim what was just freed
            except Exception:
                if stopping():
                    raise
                log.exception("outbox round failed (database unreachable?); retrying")
            timeout = self.pacing.poll
            if self._soonest is not None:
                timeout = max(0.0, min(timeout, self._soonest - loop.time()))
            if self._held:
                timeout = max(0.0, min(timeout, self._renew_at - loop.time()))
            if await woken(self._wake, timeout):
                await asyncio.sleep(self.pacing.gather)

    async def drain(self) -> int:
        """Claim and deliver until nothing is due; return how many notices were delivered.
        Queues are delivered side by side, each one's notices strictly in order."""
        delivered = 0
        await self._reclaim(asyncio.get_running_loop().time(), self.clock.now())
        while True:
            queues = await self._claim()
            if not queues:
                return delivered
            counts = await asyncio.gather(*(self._deliver_queue(q) for q in queues))
            delivered += sum(counts)

    async def _round(self) -> None:
        """Claim what is due and start delivering each queue in the background."""
        while True:
            queues = await self._claim()
            for notices in queues:
                task = asyncio.create_task(self._deliver_queue(notices))
                self._busy.add(task)
                task.add_done_callback(self._finished)
            if sum(map(len, queues)) < self.pacing.batch:
                return

    def _finished(self, task: asyncio.Task[int]) -> None:
        self._busy.discard(task)
        self.wake()  # what queued up behind it can be claimed now

    async def _claim(self) -> list[list[Notice]]:
        now = self.clock.now()
        async with self.store.unit() as unit:
            claimed = await unit.claim_notices(
                now, now + timedelta(seconds=self.pacing.lease), self.pacing.batch,
                self.holder)
        queues: dict[str, list[Notice]] = {}
        for notice in claimed:
            queues.setdefault(notice.queue, []).append(notice)
        return list(queues.values())

    async def _renew(self, now: float) -> None:
        """Extend the leases of what is still being delivered, a third of a lease ahead."""
        if not self._held or now < self._renew_at:
            return
        self._renew_at = now + self.pacing.lease / 3
        until = self.clock.now() + timedelta(seconds=self.pacing.lease)
        async with self.store.unit() as unit:
            await unit.extend_notices(sorted(self._held), until)

    async def _deliver_queue(self, notices: list[Notice]) -> int:
        ids = [_id(n) for n in notices]
        if not self._held:
            self._renew_at = asyncio.get_running_loop().time() + self.pacing.lease / 3
        self._held.update(ids)
        index = 0
        try:
            for index, notice in enumerate(notices):
                try:
                    result = await self.delivery.deliver(
                        notice, skip=superseded(notice, notices[index + 1:]))
                except Exception as error:
                    self._held.difference_update(ids)
                    await self._failed(notice, error)
                    await self._release(ids[index + 1:])
                    return index
                self._held.discard(ids[index])
                async with self.store.unit() as unit:
                    await unit.notice_done(ids[index], result)
            return len(notices)
        except asyncio.CancelledError:
            await self._release(ids[index + 1:])
            raise
        finally:
            self._held.difference_update(ids)

    async def _release(self, ids: list[int]) -> None:
        if ids:
            async with self.store.unit() as unit:
                await unit.release_notices(ids)

    async def _failed(self, notice: Notice, error: Exception) -> None:
        if isinstance(error, RetryLater):
            delay = error.after if error.after is not None else self.backoff(notice.attempts)
            reason = error.reason
            log.warning("notice %s (%s): %s; retrying in %.1f s", notice.id,
                        notice.queue, reason, delay)
        elif notice.attempts >= self.pacing.max_attempts:
            log.error("notice %s (%s) failed %d times, giving up: %r", notice.id,
                      notice.queue, notice.attempts, error)
            async with self.store.unit() as unit:
                await unit.notice_done(_id(notice), f"failed: {error!r}")
            try:
                await self.delivery.gave_up(notice, error)
            except Exception:
                log.exception("could not tell that notice %s was given up", notice.id)
            return
        else:
            delay = self.backoff(notice.attempts)
            reason = repr(error)
            log.warning("notice %s (%s) failed (%s); retrying in %.1f s", notice.id,
                        notice.queue, reason, delay, exc_info=error)
        async with self.store.unit() as unit:
            await unit.notice_retry(_id(notice), self.clock.now() + timedelta(seconds=delay),
                                    reason)
        due = asyncio.get_running_loop().time() + delay
        self._soonest = due if self._soonest is None else min(self._soonest, due)

    def backoff(self, attempts: int) -> float:
        return backoff(self.pacing, attempts, self._jitter)


def backoff(pacing: Pacing, attempts: int, jitter: Callable[[], float]) -> float:
    """Exponential in the attempts so far, capped, with jitter (half to all of it) so
    processes that failed together do not retry together."""
    ceiling = min(pacing.max_backoff, pacing.backoff * 2.0 ** max(0, attempts - 1))
    return float(ceiling * (0.5 + jitter() / 2))


async def woken(wake: asyncio.Event, within: float) -> bool:
    """Wait until `wake` is set (True) or `within` seconds pass (False).

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives while the
    awaited event is being set (it returns instead of raising), so a worker woken at the moment
    it was stopped polled on forever, and `stop()`, and the server's shutdown with it, waited
    for it forever (the intermittent hang of the fault scenarios, #18)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            return await wake.wait()
    return False


async def cancelled(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel `tasks` and wait until they end. `gather`, not `suppress(CancelledError)`: a
    cancellation of the caller itself (a shutdown's timeout) must not be swallowed here."""
    running = [task for task in tasks if task is not None]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


def stopping() -> bool:
    """Is this task being cancelled? An error raised while a cancelled round unwinds (a unit
    cut short in its commit makes SQLAlchemy refuse to close the session) replaces the
    `CancelledError`: a worker that took it for a failed round and went on would never stop."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _id(notice: Notice) -> int:
    if notice.id is None:
        raise ValueError("an outbox notice has an id")
    return notice.id
