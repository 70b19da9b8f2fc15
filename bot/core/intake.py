"""How alerts come in: what a source parser gets and may refuse, and the group commit that
turns many concurrent deliveries into few transactions.

Parsers live in `bot/ingest` and the HTTP route in `bot/web`; they share these names through the
core so neither has to import the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.core.alert_intake import AlertOutcome, RawAlerts
from bot.core.models import Alert, RawDelivery

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "webhook-signature"})
"""Headers never stored with a raw delivery (credentials and signatures)."""
SECRET_WORDS = ("signature", "secret", "token", "api-key", "apikey")
"""Any header whose name holds one of these (e.g. `x-grafana-alerting-signature`) is dropped
too."""


@functools.lru_cache(maxsize=1024)
def is_secret_header(name: str) -> bool:
    name = name.lower()
    return name in SECRET_HEADERS or any(word in name for word in SECRET_WORDS)


@dataclass(frozen=True)
class Inbound:
    """One delivery as received: the raw body, lower-cased headers and query parameters."""

    source: str
    body: bytes
    received_at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)

    @property
    def webhook_id(self) -> str | None:
        return self.headers.get("webhook-id") or None

    def raw(self) -> RawDelivery:
        """The delivery to store: the exact body, headers without credentials or signatures."""
        headers = {k: v for k, v in self.headers.items() if not is_secret_header(k)}
        return RawDelivery(self.source, self.received_at, self.body, headers,
                           webhook_id=self.webhook_id)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a payload: where (a dotted path, `body` for the whole) and what."""

    loc: str
    msg: str


class PayloadError(ValueError):
    """The payload is not JSON or does not fit the source's schema; nothing was stored."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.loc}: {p.msg}" for p in problems))
        self.problems = list(problems)


class Parser(Protocol):
    def __call__(self, inbound: Inbound) -> list[Alert]:
        """The delivery's alerts (possibly none), or `PayloadError`."""
        ...


class Handle(Protocol):
    def __call__(self, alerts: Sequence[Alert], *,
                 raw: Sequence[RawAlerts] = ()) -> Awaitable[list[AlertOutcome]]:
        """Store the alerts (and the raw deliveries they came in) in one transaction."""
        ...


@dataclass
class _Request:
    alerts: Sequence[Alert]
    done: asyncio.Future[list[AlertOutcome]]
    raw: RawDelivery | None = None


class GroupCommit:
    """Callers submit their alerts and wait; one worker takes everything waiting (and, turn by
    turn of the event loop, whatever keeps arriving) and handles it in a single transaction,
    so under load batches grow by themselves (no timer: what arrives during a commit rides
    with the next one) and a lone alert is not delayed.

    A caller's future resolves only after the commit, so a 2xx always means stored.

    `workers` transactions may be in flight at once: on PostgreSQL, where each statement is a
    round trip to the server, one worker spends most of a commit waiting, so several keep the
    server busy (the store keeps concurrent batches correct); SQLite runs one unit at a time,
    so one worker is all it can use.
    """

    def __init__(self, handle: Handle, *, max_batch: int = 1000, workers: int = 1) -> None:
        self._handle = handle
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._count = workers
        self.commits = 0

    async def submit(self, alerts: Sequence[Alert],
                     raw: RawDelivery | None = None) -> list[AlertOutcome]:
        """Store the alerts, and `raw` (the delivery they came in) with them when any is new."""
        if not alerts:
            return []
        if not self._workers or any(worker.done() for worker in self._workers):
            raise RuntimeError("group commit is not running")
        request = _Request(alerts, asyncio.get_running_loop().create_future(), raw)
        self._queue.put_nowait(request)
        return await request.done

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._workers = [loop.create_task(self._work()) for _ in range(self._count)]

    async def stop(self) -> None:
        """Handle what is queued, then stop."""
        if not self._workers:
            return
        await self._queue.join()
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].alerts)
            while size < self._max_batch:
                if self._queue.empty():
                    # One more turn of the loop lets requests that were already read reach
                    # the queue; stop when a turn brings nothing (so an idle server commits a
                    # lone alert at once).
                    await asyncio.sleep(0)
                    if self._queue.empty():
                        break
                batch.append(self._queue.get_nowait())
                size += len(batch[-1].alerts)
            try:
                await self._commit(batch)
            finally:
                for _request in batch:
                    self._queue.task_done()

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            outcomes = await self._handle(
                [a for r in batch for a in r.alerts],
                raw=[(r.raw, r.alerts) for r in batch if r.raw is not None])
        except Exception as error:
            if len(batch) > 1:
                # One bad request must not fail its neighbours: retry each on its own.
                for request in batch:
                    await self._commit([request])
                return
            _settle(batch[0].done, error=error)
            return
        self.commits += 1
        start = 0
        for request in batch:
            end = start + len(request.alerts)
            _settle(request.done, outcomes[start:end])
            start = end


def _settle(done: asyncio.Future[list[AlertOutcome]], result: list[AlertOutcome] | None = None,
            error: Exception | None = None) -> None:
    if done.done():  # the caller went away (client disconnected)
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result or [])
