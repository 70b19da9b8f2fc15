"""A lean HTTP/1.1 load generator: keep-alive connections on loopback, each sending prepared
request bytes one after another and reading just enough of the answer (status line and
Content-Length) to know it is whole.

Why not aiohttp: in a storm on a 2-core machine the generator shares the cores with the server,
and a full client spends several times the CPU per request that this does, which measured the
client more than the server. Responses must carry Content-Length (uvicorn's JSON answers do).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Tally:
    """What came back: status codes counted, and each request's latency in seconds."""

    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)


def request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", f"content-length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class _Connection(asyncio.Protocol):
    def __init__(self, jobs: list[bytes], tally: Tally, finished: asyncio.Future[None]) -> None:
        self._jobs = jobs
        self._tally = tally
        self._finished = finished
        self._buffer = bytearray()
        self._started = 0.0
        self._transport: Any = None  # uvloop's transports do not subclass asyncio's

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._next()

    def _next(self) -> None:
        if not self._jobs:
            self._transport.close()
            if not self._finished.done():
                self._finished.set_result(None)
            return
        self._started = time.perf_counter()
        self._transport.write(self._jobs.pop())

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        length = _content_length(head)
        if len(self._buffer) < end + 4 + length:
            return
        status = int(head[9:12])
        self._tally.latencies.append(time.perf_counter() - self._started)
        self._tally.statuses[status] = self._tally.statuses.get(status, 0) + 1
        del self._buffer[:end + 4 + length]
        self._next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._finished.done():
            if self._jobs:
                self._finished.set_exception(ConnectionError(f"server closed the connection: "
                                                             f"{exc}"))
            else:
                self._finished.set_result(None)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name == b"content-length":
            return int(value)
    return 0


async def fire(port: int, requests: Sequence[bytes], connections: int) -> tuple[Tally, float]:
    """Send every request over `connections` keep-alive connections; return the tally and the
    wall-clock seconds from the first request to the last answer."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    jobs = list(reversed(requests))  # shared: each connection pops the next one
    finished = [loop.create_future() for _ in range(connections)]
    started = time.perf_counter()
    for done in finished:
        await loop.create_connection(lambda d=done: _Connection(jobs, tally, d),  # type: ignore[misc]
                                     "127.0.0.1", port)
    await asyncio.gather(*finished)
    return tally, time.perf_counter() - started
