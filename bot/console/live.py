"""Live pages: one watcher reads the timeline's high-water mark a few times a second and wakes
every open page's event stream (server-sent events) when it moves. Reading the database rather
than listening in-process means a change made by any process (a CLI command, a second
`serve`) reaches every page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger("crisisbot.console")

LastEvent = Callable[[], Awaitable[int]]


class Changes:
    """Started by the first page that listens, stopped when the last one leaves."""

    def __init__(self, last_event: LastEvent, *, every: float = 0.2,
                 keepalive: float = 15.0, lifetime: float = 300.0) -> None:
        self._last_event = last_event
        self._every = every
        self._keepalive = keepalive
        self._lifetime = lifetime
        self._mark = -1
        self._moved = asyncio.Event()
        """Set (and replaced by a fresh one) each time the mark moves."""
        self._listeners = 0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        while True:
            try:
                mark = await self._last_event()
            except Exception:
                log.exception("could not read the timeline for live pages")
                mark = self._mark
            if mark != self._mark:
                self._mark = mark
                moved, self._moved = self._moved, asyncio.Event()
                moved.set()
            await asyncio.sleep(self._every)

    async def stream(self, seen: int | None) -> AsyncIterator[str]:
        """Server-sent events: `change` with the new mark whenever it moves past `seen` (the
        page's own, or the `Last-Event-ID` a reconnecting browser sends). Ends after
        `lifetime` seconds (the browser reconnects at once, missing nothing), so no stream
        outlives its usefulness by long."""
        self._listeners += 1
        try:
            if self._task is None:
                self._task = asyncio.create_task(self._watch())
                self._mark = await self._last_event()
            yield "retry: 500\n\n"
            loop = asyncio.get_running_loop()
            ends = loop.time() + self._lifetime
            while loop.time() < ends:
                known = self._mark >= 0  # not while another page's opening read runs
                if known and seen is not None and self._mark != seen:
                    seen = self._mark
                    yield f"id: {seen}\nevent: change\ndata: {seen}\n\n"
                    continue
                if known:
                    seen = self._mark
                before, moved = self._mark, self._moved
                # `asyncio.timeout`: Python 3.11's `wait_for` can swallow a cancellation.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(self._keepalive, ends - loop.time())):
                        await moved.wait()
                if self._mark == before:
                    yield ": keep-alive\n\n"
        finally:
            self._listeners -= 1
            if self._listeners == 0 and self._task is not None:
                self._task.cancel()
                self._task = None

    async def mark(self) -> int:
        """The current mark, for a page to hand to its stream."""
        return await self._last_event()
