"""The status routes' `Snapshot`: a crowd on the status page costs one reading of the board
per `fresh` seconds, however many ask at once."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.status_board import Board
from bot.status.routes import Snapshot


class Source:
    """A board source that counts its readings and can be held or made to fail."""

    def __init__(self) -> None:
        self.readings = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    async def __call__(self) -> list[Board]:
        self.readings += 1
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return []


def made(boards: list[Board]) -> bytes:
    return f"{len(boards)} boards".encode()


async def test_a_crowd_at_once_costs_one_reading() -> None:
    source, clock = Source(), [0.0]
    snapshot = Snapshot(source, 2.0, now=lambda: clock[0])
    source.gate.clear()
    crowd = [asyncio.create_task(snapshot.made("page", made)) for _ in range(50)]
    await asyncio.sleep(0)
    source.gate.set()
    assert set(await asyncio.gather(*crowd)) == {b"0 boards"}
    assert source.readings == 1


async def test_the_board_is_read_again_once_it_is_older_than_fresh() -> None:
    source, clock = Source(), [0.0]
    snapshot = Snapshot(source, 2.0, now=lambda: clock[0])
    await snapshot.made("page", made)
    clock[0] = 1.9
    await snapshot.made("page", made)
    await snapshot.made("json", made)
    assert source.readings == 1
    clock[0] = 2.0
    await snapshot.made("json", made)
    assert source.readings == 2


async def test_a_failed_reading_fails_its_waiters_and_the_next_request_reads_again() -> None:
    source, clock = Source(), [0.0]
    snapshot = Snapshot(source, 2.0, now=lambda: clock[0])
    source.fail = OSError("database gone")
    with pytest.raises(OSError, match="database gone"):
        await snapshot.made("page", made)
    source.fail = None
    assert await snapshot.made("page", made) == b"0 boards"
    assert source.readings == 2


async def test_a_caller_that_leaves_does_not_stop_the_reading_for_the_others() -> None:
    source, clock = Source(), [0.0]
    snapshot = Snapshot(source, 2.0, now=lambda: clock[0])
    source.gate.clear()
    leaving = asyncio.create_task(snapshot.made("page", made))
    staying = asyncio.create_task(snapshot.made("page", made))
    await asyncio.sleep(0)
    leaving.cancel()
    source.gate.set()
    assert await staying == b"0 boards"
    assert leaving.cancelled()
    assert source.readings == 1
