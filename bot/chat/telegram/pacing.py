"""Proactive pacing: every call that puts or changes a message in a chat takes a turn here first,
within Telegram's limits (about one message a second per chat, twenty a minute per group) for
every process sharing the database. 429s stay the fallback."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bot.chat.telegram.api import PLATFORM
from bot.core.ports import SendSlots
from bot.core.sending import SendRate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Telegram's sending limits: `per_chat_per_second` messages a second in any chat, and at
    most `per_group` messages in any `group_window` seconds in a group (a negative chat id)."""

    per_chat_per_second: float = 1.0
    per_group: int = 20
    group_window: float = 60.0

    def __post_init__(self) -> None:
        if not (self.per_chat_per_second > 0 and self.per_group >= 1 and self.group_window > 0):
            raise ValueError(f"Telegram limits must be positive: {self}")


class _Gate:
    """One turn at a time in a chat, the most urgent waiter next, then first come."""

    def __init__(self) -> None:
        self.busy = False
        self.waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    @contextlib.asynccontextmanager
    async def turn(self, priority: int) -> AsyncIterator[None]:
        if self.busy:
            entry = (priority, next(self._arrivals),
                     asyncio.get_running_loop().create_future())
            heapq.heappush(self.waiting, entry)
            try:
                await entry[2]
            except asyncio.CancelledError:
                if entry[2].cancelled():
                    self.waiting.remove(entry)
                    heapq.heapify(self.waiting)
                else:  # cancelled just as the turn was handed over: pass it on
                    self._next()
                raise
        self.busy = True
        try:
            yield
        finally:
            self._next()

    def _next(self) -> None:
        while self.waiting:
            _priority, _arrival, waiter = heapq.heappop(self.waiting)
            if not waiter.done():
                waiter.set_result(None)  # still busy: the turn is handed over
                return
        self.busy = False


@dataclass
class Pacer:
    """Turns to speak in a chat, within `limits` for every process sharing `slots`: a turn
    books its slot in the database (`SendSlots.reserve`: after the chat's previous message by
    `1 / per_chat_per_second` and, in a group, its `per_group`-th last by `group_window`), and
    its stamp moves to when the call *returns*, so Telegram sees the spacing even if requests
    travel at different speeds. (A leaky bucket such as `aiolimiter` allows a full burst on top
    of a drained bucket, up to twice the group limit in one minute; a sliding window never
    does.) In one process a chat's turns are taken one at a time, urgent ones first.
    """

    slots: SendSlots
    limits: Limits = field(default_factory=Limits)
    clock: Callable[[], float] = time.time
    _gates: dict[int, _Gate] = field(default_factory=dict)

    @contextlib.asynccontextmanager
    async def turn(self, chat: int, *, urgent: bool = False) -> AsyncIterator[None]:
        """Wait for `chat`'s next slot, then hold it while the caller makes its one call."""
        key = f"{PLATFORM}:{chat}"
        async with self._gates.setdefault(chat, _Gate()).turn(0 if urgent else 1):
            slot = await self.slots.reserve(key, self.clock(), self.rate(chat))
            wait = slot - self.clock()
            if wait > 0:
                log.debug("pacing Telegram chat %s: waiting %.2f s", chat, wait)
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                await self.slots.sent(key, slot, self.clock())

    def rate(self, chat: int) -> SendRate:
        """The group window applies to groups (negative ids), not to private chats."""
        return SendRate(1.0 / self.limits.per_chat_per_second,
                        self.limits.per_group if chat < 0 else None, self.limits.group_window)

