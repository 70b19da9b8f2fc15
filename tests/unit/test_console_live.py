"""The console's change stream: many pages, one watcher, every page told of every change."""

from __future__ import annotations

import asyncio

import pytest

from bot.console.live import Changes


async def test_every_listening_page_hears_a_change_and_the_watcher_stops_after_the_last() -> None:
    mark = 5
    reads = 0

    async def last_event() -> int:
        nonlocal reads
        reads += 1
        return mark

    changes = Changes(last_event, every=0.01, keepalive=5, lifetime=5)
    streams = [changes.stream(5) for _ in range(3)]
    for stream in streams:
        assert await anext(stream) == "retry: 500\n\n"
    waiting = [asyncio.create_task(anext(stream)) for stream in streams]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in waiting)
    mark = 6
    async with asyncio.timeout(1):
        told = await asyncio.gather(*waiting)
    assert told == ["id: 6\nevent: change\ndata: 6\n\n"] * 3
    for stream in streams:
        await stream.aclose()
    before = reads
    await asyncio.sleep(0.05)
    assert reads == before  # nobody listens: nothing polls


async def test_a_reconnecting_page_is_told_what_it_missed_and_a_stream_ends() -> None:
    async def last_event() -> int:
        return 9

    changes = Changes(last_event, every=0.01, keepalive=0.02, lifetime=0.1)
    told = [part async for part in changes.stream(7)]
    assert told[:2] == ["retry: 500\n\n", "id: 9\nevent: change\ndata: 9\n\n"]
    assert set(told[2:]) == {": keep-alive\n\n"}


async def test_a_failed_first_read_leaves_no_watcher_behind() -> None:
    """The database failing as the first page opens its stream ends that stream; the watcher
    started for it must not poll on forever once every page has left."""
    reads = 0

    async def last_event() -> int:
        nonlocal reads
        reads += 1
        if reads == 1:
            raise ConnectionError("database away")
        return 3

    changes = Changes(last_event, every=0.01, keepalive=5, lifetime=5)
    with pytest.raises(ConnectionError):
        await anext(changes.stream(3))
    later = changes.stream(3)
    assert await anext(later) == "retry: 500\n\n"
    await later.aclose()
    before = reads
    await asyncio.sleep(0.05)
    assert reads == before  # nobody listens: nothing polls


async def test_a_page_opening_during_the_first_read_is_told_no_false_change() -> None:
    """A second page opening while the first one's opening read runs (the mark not known
    yet) must not be told of a change that did not happen."""
    gate = asyncio.Event()

    async def last_event() -> int:
        await gate.wait()
        return 5

    changes = Changes(last_event, every=0.01, keepalive=0.05, lifetime=1)
    first, second = changes.stream(5), changes.stream(5)
    opening = asyncio.create_task(anext(first))
    await asyncio.sleep(0)
    assert await anext(second) == "retry: 500\n\n"
    told = asyncio.create_task(anext(second))
    await asyncio.sleep(0.01)
    gate.set()
    async with asyncio.timeout(1):
        assert await told == ": keep-alive\n\n"
        await opening
    await first.aclose()
    await second.aclose()
