"""The adapter side of alert intake, shared by the webhook route (`bot/web`) and the feed
poller (`bot/ingest/feeds.py`), which may not import each other: a delivery as received, what of
it is stored, and the group commit that turns many concurrent deliveries into few
transactions."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.core.intake import MAX_ALERTS, PayloadError, Problem, TooMany
from bot.core.models import Alert, AlertOutcome, RawAlerts, RawDelivery

KEPT_HEADERS = frozenset({
    # What was sent and by what.
    "content-type", "content-length", "content-encoding", "user-agent", "date",
    # Ids that let a sender's own logs be matched (Standard Webhooks, GitHub, GitLab,
    # PagerDuty v3, a proxy's request id).
    "webhook-id", "webhook-timestamp", "x-github-event", "x-github-delivery", "x-github-hook-id",
    "x-gitlab-event", "x-gitlab-event-uuid", "x-webhook-id", "x-webhook-subscription",
    "x-request-id", "x-correlation-id",
    # CloudEvents binary mode: the event's own attributes.
    "ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "ce-subject",
    "ce-dataschema", "ce-datacontenttype",
    # A polled feed's answer.
    "etag", "last-modified", "cache-control",
})
"""The only headers stored with a raw delivery: those that help debug a sender. An allow-list,
so a credential under a name nobody foresaw (`x-forwarded-authorization`, `x-auth-key`) and
every signature stay out of the database."""


WEBHOOK_ID_KEPT = 255
"""How much of a `webhook-id` a raw delivery's own column keeps (PostgreSQL refuses a longer
one, failing the delivery's alerts); the whole id stays in its kept headers."""


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}


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
        """The delivery to store: the exact body and the headers that help debug its sender."""
        webhook_id = self.webhook_id
        return RawDelivery(self.source, self.received_at, self.body, kept_headers(self.headers),
                           webhook_id=webhook_id[:WEBHOOK_ID_KEPT] if webhook_id else None)


class Parser(Protocol):
    def __call__(self, inbound: Inbound) -> list[Alert]:
        """The delivery's alerts (possibly none), or `PayloadError`."""
        ...


def alerts_of(parser: Parser, inbound: Inbound) -> list[Alert]:
    """The delivery's alerts as the webhook takes them (and `alerts try` shows them): past
    `MAX_ALERTS`, `TooMany`, also from a parser that does not count them itself (a mapping's
    `items`). A body that loads but is too deeply nested to read (a mapping's labels, a
    `to_string`) is `PayloadError` too, not a RecursionError the sender would retry."""
    try:
        alerts = parser(inbound)
    except RecursionError:
        raise PayloadError([Problem("body", "nested too deeply to read")]) from None
    if len(alerts) > MAX_ALERTS:
        raise TooMany("body")
    # Only a body holding NUL, a JSON escape or UTF-8's lead byte of the surrogates' block
    # can give text with an `UNSTORABLE` character.
    storable(alerts, text=any(b in inbound.body for b in (b"\x00", b"\\u", b"\xed")))
    return alerts


UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""What no store's text can hold: NUL (PostgreSQL's text and JSON refuse it) and a lone
surrogate (JSON's `\\ud800`, which is no UTF-8 at all)."""


KEY_BYTES = 2048
"""The longest dedup or group key kept as sent. PostgreSQL indexes both (and a mention's
topic, its group key) and refuses an entry over about 2.7 kB, failing the whole batch."""
KEY_KEPT = 400
"""Characters of a longer key kept ahead of the digest of the whole."""


def storable(alerts: Sequence[Alert], *, text: bool = True) -> None:
    """Alerts as every store can hold them, where a sender's text would fail the whole batch
    (a 503 its sender retries forever): an `UNSTORABLE` character in any text (JSON's
    `\\u0000`, a feed's `&#0;`; `text=False` when none can be there) becomes U+FFFD, and a key
    over `KEY_BYTES` becomes its first characters and a digest of the whole, so it still
    groups and deduplicates as the sender's key does."""
    for alert in alerts:
        if text:
            for name, value in list(vars(alert).items()):
                if type(value) is str or isinstance(value, Mapping):
                    setattr(alert, name, _storable_text(value))
        alert.dedup_key = _bounded(alert.dedup_key)
        alert.group_key = _bounded(alert.group_key)


def _storable_text(value: Any) -> Any:
    if type(value) is str:
        return UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {_storable_text(k): _storable_text(v) for k, v in value.items()}
    return value


def _bounded(key: str) -> str:
    if len(key) * 4 <= KEY_BYTES or len(key.encode()) <= KEY_BYTES:  # UTF-8: 4 bytes at most
        return key
    return f"{key[:KEY_KEPT]}~{hashlib.sha256(key.encode()).hexdigest()}"


Submit = Callable[[Sequence[Alert], RawDelivery | None], Awaitable[list[AlertOutcome]]]
"""`GroupCommit.submit`: store the alerts, and the delivery they came in."""


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


MAX_BATCH = 250
"""Alerts handled in one transaction at most: handling one costs the event loop about 0.2 ms
of Python (placing it, building its row), so a batch holds the loop well under 100 ms."""


class GroupCommit:
    """Callers submit their alerts and wait; one worker takes everything waiting (and, turn by
    turn of the event loop, whatever keeps arriving) and handles it in a single transaction,
    so under load batches grow by themselves (no timer: what arrives during a commit rides
    with the next one) and a lone alert is not delayed. A request larger than `max_batch` is
    handled in chunks of that size, one after the other, the loop free between them.

    A caller's future resolves only after the commit (of its last chunk), so a 2xx always
    means stored.

    `workers` transactions may be in flight at once: on PostgreSQL, where each statement is a
    round trip to the server, one worker spends most of a commit waiting, so several keep the
    server busy (the store keeps concurrent batches correct); SQLite runs one unit at a time,
    so one worker is all it can use.
    """

    def __init__(self, handle: Handle, *, max_batch: int = MAX_BATCH, workers: int = 1) -> None:
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
        outcomes: list[AlertOutcome] = []
        stored: int | None = None
        for start in range(0, len(alerts), self._max_batch):
            chunk = alerts[start:start + self._max_batch]
            # The delivery is stored with the first chunk that has a new alert; later chunks
            # point at it rather than storing the body again.
            for alert in chunk if stored is not None else ():
                alert.delivery = stored
            request = _Request(chunk, asyncio.get_running_loop().create_future(),
                               raw if stored is None else None)
            self._queue.put_nowait(request)
            outcomes += await request.done
            stored = stored or next((a.delivery for a in chunk if a.delivery), None)
        return outcomes

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
