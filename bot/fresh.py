"""A value read at most once per `fresh` seconds and shared by every caller meanwhile: what the
public routes (`/status`, `/healthz`) answer a crowd with, so the crowd does not take the event
loop (and the database) from the alert intake and the chat webhooks they share it with."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Fresh(Generic[T]):
    """`await fresh()` is the last reading when it is younger than `fresh` seconds; otherwise
    a new one, which callers arriving meanwhile wait for rather than read again. A caller that
    goes away (a closed connection) leaves the reading to the others; a failed reading fails
    its waiters and the next call reads again."""

    def __init__(self, read: Callable[[], Awaitable[T]], fresh: float,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._fresh = fresh
        self._now = now
        self._at: float | None = None
        self._value: T | None = None
        self._reading: asyncio.Future[T] | None = None

    @property
    def read_at(self) -> float | None:
        """When the value now served was read (`now`'s clock), None before the first."""
        return self._at

    async def __call__(self) -> T:
        if self._at is not None and self._now() - self._at < self._fresh:
            return self._value  # type: ignore[return-value]  # set with _at
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._read_once())
        return await asyncio.shield(self._reading)

    async def _read_once(self) -> T:
        try:
            value = await self._read()
            self._value, self._at = value, self._now()
            return value
        finally:
            self._reading = None
